/**
 * The eval report as text: what was evaluated, then one row per checkpoint and precision. The
 * difference in loss from the first checkpoint at the same precision is printed in scientific
 * notation, zero included ("0.000e+0"), so a change never hides behind the rounding of the loss.
 */
import { formatCount } from "../errors.js";
import { textTable } from "../scan/text-table.js";
import { sci } from "../verify/render-report.js";
import type { EvalReport, EvalResult } from "./eval-checkpoints.js";

function textLine(r: EvalReport): string {
  const t = r.text;
  const what = t.kind === "held-out" ? `held-out split of ${t.path} (bytes from ${formatCount(t.byte_offset)})` : t.path;
  return `${what}: ${formatCount(t.bytes)} bytes, sha256 ${t.sha256.slice(0, 16)}...`;
}

function scaleText(r: EvalResult): string {
  return r.scale_mode === null ? "-" : r.scale_mode;
}

export function renderEvalReport(r: EvalReport): string {
  const firstOf = new Map<string, EvalResult>();
  for (const x of r.results) if (!firstOf.has(x.precision)) firstOf.set(x.precision, x);
  const rows = r.results.map((x) => {
    const first = firstOf.get(x.precision);
    const delta = first === undefined || first === x ? "(reference)" : sci(x.loss - first.loss);
    return [x.dir, x.family, x.dtype, formatCount(x.params), scaleText(x), x.precision, x.loss.toFixed(6), x.perplexity.toFixed(4), delta, x.seconds.toFixed(1)];
  });
  const table = textTable(["checkpoint", "family", "dtype", "params", "scale", "precision", "loss (nats)", "perplexity", "loss - first", "seconds"], rows, [
    "left",
    "left",
    "left",
    "right",
    "left",
    "left",
    "right",
    "right",
    "right",
    "right",
  ]);
  const stride = r.stride === r.context ? "non-overlapping" : `stride ${r.stride}`;
  return [
    `text         ${textLine(r)}`,
    `tokens       byte-level (token id = byte value); ${formatCount(r.windows)} windows of context ${r.context}, ${stride}; ${formatCount(r.targets)} targets scored${r.max_tokens !== null ? ` (--max-tokens ${formatCount(r.max_tokens)})` : ""}`,
    `device       ${r.device === "cpu" ? "CPU, float64 reference forward" : `GPU ${r.gpu ?? ""} (accuracy worker, torch ${r.torch ?? "?"}; float32 with TF32 off)`}`,
    "",
    ...table,
    "",
  ].join("\n");
}
