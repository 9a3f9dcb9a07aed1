/** Text for `gac bench model`: the plan before a run (`--list`) and the measured totals after it. */
import type { ModelBench } from "./model-suite.js";
import type { ModelBenchSummary } from "./model-summary.js";

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return (
    rows
      .map((r) =>
        r
          .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i])))
          .join("  ")
          .trimEnd(),
      )
      .join("\n") + "\n"
  );
}

function seconds(s: number): string {
  return s < 60 ? `${Math.round(s)}s` : `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
}

/** What `--list` prints: per variant its calls and distinct cases, then the total and the GPU time it should take. */
export function renderModelBenchPlan(bench: ModelBench, estimateS: number): string {
  const rows = [
    ["variant", "calls", "cases", "overhead"],
    ...bench.variants.map((v) => [v.variant, String(v.calls), v.sameAs ? `0 (same calls as ${v.sameAs})` : String(v.cases), `${v.paramOverheadPct.toFixed(2)}%`]),
  ];
  return (
    `model ${bench.name} (${bench.dtype}): one prefill + one decode step per variant, calls deduplicated by (phase, kind, shape)\n` +
    table(rows) +
    `total: ${bench.cases.length} cases, ~${seconds(estimateS)} of GPU time (0.5 s per case) plus worker start\n`
  );
}

function ms(v: number | null): string {
  return v === null ? "-" : `${v.toFixed(3)} ms`;
}
function pct(v: number | null | undefined): string {
  return v === null || v === undefined ? "-" : `${v >= 0 ? "+" : ""}${v.toFixed(1)}%`;
}

/** The measured totals: one row per variant; incomplete variants say what is missing. */
export function renderModelBenchSummary(s: ModelBenchSummary): string {
  const rows = [["variant", "total", "prefill", "decode", "speedup", "prefill", "decode", "measured"]];
  for (const [name, v] of Object.entries(s.variants)) {
    const ph = s.phase_speedup_pct[name];
    rows.push([name, ms(v.total_ms), ms(v.phases.prefill.total_ms), ms(v.phases.decode.total_ms), pct(s.speedup_pct[name]), pct(ph?.prefill), pct(ph?.decode), `${v.measured_calls}/${v.calls} calls`]);
  }
  const notes = Object.entries(s.variants).flatMap(([name, v]) => [
    ...(v.missing.length > 0 ? [`${name}: ${v.missing.length} case(s) not measured, e.g. ${v.missing[0]}`] : []),
    ...(v.unrun_calls > 0 ? [`${name}: ${v.unrun_calls} call(s) not run yet (rerun into the same --out)`] : []),
  ]);
  return `model ${s.model} on ${s.gpu}: measured forward time (median x count over every call)\n` + table(rows) + notes.map((n) => `note: ${n}\n`).join("");
}
