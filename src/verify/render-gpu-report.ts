/**
 * The GPU verify report as text: one row per comparison with its named cause, figures in scientific
 * notation (zeros included) and its bound; the serving difference sits next to the noise floor.
 */
import { formatCount } from "../errors.js";
import { textTable } from "../scan/text-table.js";
import type { GpuVerifyReport } from "./gpu-verify.js";
import { sci } from "./render-report.js";

export function renderGpuVerifyReport(r: GpuVerifyReport): string {
  const rows = r.comparisons.map((c) => [
    c.name,
    `${c.a} vs ${c.b}`,
    sci(c.max_rel_diff),
    sci(c.max_abs_diff),
    sci(c.mean_abs_diff),
    `${c.argmax_agree}/${c.rows}`,
    Number.isFinite(c.bound) ? sci(c.bound) : "-",
    Number.isFinite(c.bound) ? (c.pass ? "ok" : "FAIL") : "",
  ]);
  const table = textTable(["comparison", "sides", "max rel diff", "max |diff|", "mean |diff|", "argmax", "bound", ""], rows, ["left", "left", "right", "right", "right", "right", "right", "left"]);
  const serving = r.comparisons.find((c) => c.name === "repair_serving");
  const floor = r.comparisons.find((c) => c.name === "noise_floor_serving");
  const lines = [
    `original      ${r.original}`,
    `repaired      ${r.repaired}`,
    `weights       ${r.weights === "random" ? `random (seed ${r.seed}), stored as ${r.dtype}; the repaired weights are the original's with gac's tensor edits applied` : `the checkpoints' own (${r.dtype})`}`,
    `scale         ${r.scale_mode === null ? "no gac-repair.json: head_dim^-0.5 on both sides" : r.scale_mode === "fold" ? `fold: ${r.folded_tensors} q_proj tensors x sqrt(D/d), rounded once to ${r.dtype}` : "logical: weights only zero-padded, the repaired model runs with the recorded d^-0.5"}`,
    `compared      logits of ${r.tokens} seeded random token ids on ${r.gpu} (torch ${r.torch}); ${formatCount(r.params[0])} vs ${formatCount(r.params[1])} params`,
    "",
    ...table,
    "",
    ...r.comparisons.map((c) => `${c.name.padEnd(28)} ${c.cause}${Number.isFinite(c.bound) ? `; bound: ${c.bound_reason}` : ""}`),
  ];
  if (serving && floor) {
    const ratio = floor.max_rel_diff === 0 ? "-" : (serving.max_rel_diff / floor.max_rel_diff).toFixed(3);
    lines.push("", `serving       repair ${sci(serving.max_rel_diff)} beside the noise floor ${sci(floor.max_rel_diff)} (ratio ${ratio})`);
  }
  if (r.weights_check) {
    const w = r.weights_check;
    lines.push(
      `weights check ${w.identical}/${w.tensors} repaired tensors are bit-identical to the original's with the edits applied${w.differing_count > 0 ? `; differing: ${w.differing.map((d) => `${d.tensor} (${d.elements_differing} elements)`).join(", ")}` : ""}`,
    );
  }
  lines.push(`result        ${r.pass ? "PASS" : "FAIL"}`);
  return lines.join("\n") + "\n";
}
