/**
 * What `gac bench model` measured for each model beside what its scan predicted: one table row per
 * model and strategy (and one for the unrepaired model), with the measured speedup split by phase.
 *
 * The bench skips a strategy whose calls are exactly an earlier strategy's (`sameAs` in
 * model-suite.ts: PREDEFINED padding to OPTIMAL's sizes), so its records hold no such variant. The
 * scan tells which one it equals: the same parameter overhead and the same predicted time. Such a
 * strategy is shown with the measurement it stands for ("as OPTIMAL") rather than as unmeasured.
 */
import type { ModelBenchSummary } from "../../bench/model-summary.js";
import { UNREPAIRED } from "../../bench/model-suite.js";
import { formatMs, formatPct } from "../markdown-table.js";
import { makeTable } from "../spec.js";
import type { ScanDoc, StrategyOutcome, Table } from "../types.js";

/** The name `gac bench model` results carry for the model a scan describes. */
export function scanModelName(scan: ScanDoc): string {
  const base = scan.file.split(/[\\/]/).pop() ?? scan.file;
  return (
    scan.model.name ??
    base
      .replace(/\.json$/, "")
      .replace(/^scan-/, "")
      .replace(/\.scan$/, "")
  );
}

/**
 * Same overhead to 0.001 points and the same predicted time to 1 ns: the scan predicts the same calls.
 * Without predicted times the overhead alone cannot say so (MINIMAL and OPTIMAL can pad to sizes of
 * equal total), so strategies without them never coincide.
 */
function sameOutcome(a: StrategyOutcome, b: StrategyOutcome): boolean {
  if (typeof a.predicted_ms !== "number" || typeof b.predicted_ms !== "number") return false;
  return Math.abs(a.param_overhead_pct - b.param_overhead_pct) < 1e-3 && Math.abs(a.predicted_ms - b.predicted_ms) < 1e-6;
}

/**
 * The strategy whose measurement stands for `strategy`: itself when the bench measured it, else the
 * first measured strategy the scan cannot tell apart from it; undefined when there is none.
 */
export function measuredAs(strategy: string, scan: ScanDoc | undefined, bench: ModelBenchSummary): string | undefined {
  if (bench.speedup_pct[strategy] !== undefined) return strategy;
  const own = scan?.strategies[strategy];
  if (!scan || !own) return undefined;
  return Object.entries(scan.strategies).find(([name, o]) => name !== strategy && bench.speedup_pct[name] !== undefined && sameOutcome(own, o))?.[0];
}

/** The scan's predicted speedup of a strategy, from its own field or from predicted times. */
export function predictedSpeedup(scan: ScanDoc, o: StrategyOutcome): number | null {
  if (typeof o.predicted_speedup_pct === "number") return o.predicted_speedup_pct;
  return typeof scan.baselineMs === "number" && typeof o.predicted_ms === "number" && o.predicted_ms > 0 ? (scan.baselineMs / o.predicted_ms - 1) * 100 : null;
}

const pct = (v: number | null | undefined): string => (typeof v === "number" ? formatPct(v) : "-");

export function buildModelBenchTable(scans: ScanDoc[], summaries: ModelBenchSummary[]): Table[] {
  if (summaries.length === 0) return [];
  const rows: string[][] = [];
  for (const bench of summaries) {
    const scan = scans.find((s) => scanModelName(s) === bench.model);
    const base = bench.variants[UNREPAIRED];
    const callsOf = (name: string): string => {
      const v = bench.variants[name];
      if (!v) return "-";
      const refused = v.missing.length > 0 ? `, ${v.missing.length} case(s) refused or failed` : "";
      return `${v.measured_calls} of ${v.calls}${refused}`;
    };
    const msOf = (name: string): string => {
      const ms = bench.variants[name]?.total_ms;
      return typeof ms === "number" ? formatMs(ms) : "-";
    };
    rows.push([
      bench.model,
      UNREPAIRED,
      "-",
      scan && typeof scan.baselineMs === "number" ? formatMs(scan.baselineMs) : "-",
      "-",
      msOf(UNREPAIRED),
      "-",
      "-",
      "-",
      base ? callsOf(UNREPAIRED) : "not measured",
      bench.gpu,
    ]);
    const strategies = [...Object.keys(scan?.strategies ?? {}), ...Object.keys(bench.speedup_pct).filter((s) => !scan?.strategies[s])];
    for (const strategy of strategies) {
      const o = scan?.strategies[strategy];
      const as = measuredAs(strategy, scan, bench);
      const note = as !== undefined && as !== strategy ? ` (as ${as})` : "";
      const measured = (v: number | null | undefined) => (as === undefined ? "not measured" : `${pct(v)}${note}`);
      const phases = as === undefined ? undefined : bench.phase_speedup_pct[as];
      rows.push([
        bench.model,
        strategy,
        o ? `${o.param_overhead_pct.toFixed(2)}%` : "-",
        o && typeof o.predicted_ms === "number" ? formatMs(o.predicted_ms) : "-",
        scan && o ? pct(predictedSpeedup(scan, o)) : "-",
        as === undefined ? "-" : msOf(as),
        measured(as === undefined ? null : bench.speedup_pct[as]),
        as === undefined ? "-" : pct(phases?.prefill),
        as === undefined ? "-" : pct(phases?.decode),
        as === undefined ? "-" : as === strategy ? callsOf(strategy) : `0 (as ${as})`,
        bench.gpu,
      ]);
    }
  }
  const gpus = [...new Set(summaries.map((s) => s.gpu))].join(", ");
  const profiles = [...new Set(scans.flatMap((s) => (s.profile ? [`${s.profile.gpu} profile (${s.profile.source})`] : [])))].join(", ");
  const caption =
    `Per model and strategy: parameter memory overhead, the scan's predicted time and speedup${profiles ? ` (from the ${profiles})` : ""}, and the measured time and speedup on ${gpus}: ` +
    "the sum over the model's kernel calls of each call's median time x its count (per-call microbenchmarks of `gac bench model`, not an end-to-end run), in total and per phase (prefill, decode). " +
    'A strategy without its own measurement whose scan outcome equals a measured one\'s (same overhead, same predicted time: the same calls; the bench runs such a strategy once) shows that measurement, marked "as OPTIMAL"; "not measured" means the run did not ask for it.';
  return [
    makeTable(
      "model-bench",
      "Model bench: predicted vs measured speedup per strategy",
      caption,
      ["Model", "Strategy", "Param overhead", "Predicted (ms)", "Predicted speedup", "Measured (ms)", "Measured speedup", "Measured prefill", "Measured decode", "Calls measured", "GPU"],
      rows,
    ),
  ];
}
