/** The text report of `gac compress`: what was written, the method's notes, every size decision and why. */
import { formatCount } from "../errors.js";
import { textTable } from "../scan/text-table.js";
import type { CompressReport } from "./compress-checkpoint.js";

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

function msText(v: number | null): string {
  return v === null ? "-" : v >= 1 ? v.toFixed(3) : v.toPrecision(3);
}

export function renderCompressReport(r: CompressReport): string {
  const target = r.target.kind === "budget" ? `parameter budget ${r.target.fraction}` : `energy target ${r.target.fraction}`;
  const lines = [
    `gac compress: ${r.method}, ${target}, align ${r.align}${r.sizes_only ? ", sizes only (sparse checkpoint, all-zero weights)" : ""}`,
    `  source       ${r.source}`,
    `  output       ${r.out}`,
    `  calibration  ${r.calibration ?? "none"}`,
    ...(r.profile === null ? [] : [`  profile      ${r.profile}`]),
    `  parameters   ${formatCount(r.params_before)} -> ${formatCount(r.params_after)} (${pct(r.params_after / r.params_before)}); compressed matrices ${formatCount(r.compressed_params_before)} -> ${formatCount(r.compressed_params_after)} (${pct(r.compressed_params_after / Math.max(1, r.compressed_params_before))})`,
    "",
    ...r.notes.map((n) => `  ${n}`),
    "",
  ];
  const rows = r.decisions.map((d) => [
    d.id,
    String(d.full),
    String(d.target),
    String(d.chosen),
    d.chosen % 8 === 0 ? "yes" : "no",
    `${pct(d.kept_energy_target)} -> ${pct(d.kept_energy_chosen)}`,
    `${msText(d.predicted_ms_target)} -> ${msText(d.predicted_ms_chosen)}`,
    d.why,
  ]);
  lines.push(...textTable(["size", "full", "target", "chosen", "x8", "energy kept", "predicted ms", "why"], rows, ["left", "right", "right", "right", "left", "right", "right", "left"]));
  return lines.join("\n") + "\n";
}
