/** The text `gac demo` prints: before/after, the verification figures and the measured effect. */
import { textTable } from "../scan/text-table.js";
import { figuresLine } from "../verify/render-report.js";
import type { ScanReport } from "../scan/types.js";
import type { DemoResult } from "./run-demo.js";

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

function ms(x: number): string {
  return x >= 1 ? x.toFixed(3) : x.toPrecision(3);
}

function irregularLine(r: ScanReport): string {
  const s = r.summary;
  if (s.irregular_dims === 0) return "no irregular dims";
  const values = s.unique_irregular_values;
  const shown = values.length > 12 ? `${values.slice(0, 12).join(", ")}, ...` : values.join(", ");
  return `${s.irregular_dims} irregular dims (values ${shown}); aligned to 8: ${s.share_aligned8 === null ? "-" : pct(s.share_aligned8)}, to 16: ${s.share_aligned16 === null ? "-" : pct(s.share_aligned16)}`;
}

function collapseLine(r: ScanReport): string {
  return `${r.summary.collapsed_calls} of ${r.calls.length} kernel calls leave the fast path on ${r.gpu.name} (${r.runtime}, ${r.model.serving_dtype} serving)`;
}

export function renderDemo(d: DemoResult): string {
  const { before, after, repair, verify, effects } = d;
  const out: string[] = [];
  out.push(`gac demo: ${d.fixture.description}`);
  out.push(`  original   ${d.fixture.dir}`);
  out.push(`  repaired   ${repair.outDir}`);
  out.push("");
  out.push("Before repair:");
  out.push(`  ${irregularLine(before)}`);
  out.push(`  ${collapseLine(before)}`);
  out.push(`  applicability: ${before.summary.applicability.verdict}: ${before.summary.applicability.explanation}`);
  out.push("");
  const o = repair.manifest.overhead;
  out.push(`Repair (${repair.manifest.strategy}, scale ${repair.manifest.scaleMode}):`);
  out.push(
    `  ${repair.changes.length} dims padded, ${repair.skipped.length} skipped; params ${o.paramsBefore.toLocaleString("en-US")} -> ${o.paramsAfter.toLocaleString("en-US")} (+${o.paramOverheadPct.toFixed(2)}%)`,
  );
  out.push("");
  out.push("After repair:");
  out.push(`  ${irregularLine(after)}`);
  out.push(`  ${collapseLine(after)}`);
  out.push("");
  out.push(`Verify (float64 CPU forward, ${verify.tokens} seeded token ids, seed ${verify.seed}):`);
  out.push(`  ${figuresLine(verify.stats)}`);
  out.push(`  ${verify.pass ? "PASS" : "FAIL"} (tolerance ${verify.tolerance.toExponential(0)} relative)`);
  out.push("");
  const profile = before.profile;
  if (!profile) {
    out.push(`Effect: no GPU profile for ${before.gpu.name}; run \`gac bench\` and \`gac profile\` on it (measured profiles ship for: nvidia-h200).`);
    return out.join("\n") + "\n";
  }
  const source = profile.source === "measured" ? `measured on ${profile.gpu}` : `published figures for ${profile.gpu}, not measured by gac`;
  out.push(`Effect of each padding at the profile's reference shape (${source}; ${profile.path}):`);
  if (effects.length === 0) out.push("  the profile has no point for these sizes");
  else {
    const rows = effects.map((e) => [e.kernel, `${e.from} -> ${e.to}`, String(e.count), ms(e.msFrom), ms(e.msTo), `${e.speedup.toFixed(2)}x`, e.reference]);
    for (const line of textTable(["kernel", "dim", "uses", "ms before", "ms after", "speedup", "shape"], rows, ["left", "left", "right", "right", "right", "right", "left"])) out.push(`  ${line}`);
  }
  const strategy = before.strategies[repair.manifest.strategy];
  if (before.summary.predicted_ms !== null && strategy.predicted_ms !== null) {
    out.push(
      `Predicted forward pass of this small model (scaled from the profile; ${strategy.predicted_calls} of ${before.calls.length} calls within reach): ` +
        `${ms(before.summary.predicted_ms)} ms -> ${ms(strategy.predicted_ms)} ms (${(strategy.predicted_speedup_pct ?? 0) >= 0 ? "+" : ""}${(strategy.predicted_speedup_pct ?? 0).toFixed(1)}% speed)`,
    );
    for (const n of profile.notes ?? []) out.push(`  note: ${n}`);
  }
  return out.join("\n") + "\n";
}
