/**
 * The verify report as text. Every figure is printed in scientific notation, zeros included
 * ("0.000e+0"), so a difference can never hide behind rounding or a "same" label.
 */
import { formatCount, escapeControls, truncateText } from "../errors.js";
import type { DiffStats } from "./compare.js";
import type { ModelSummary, VerifyReport } from "./verify-checkpoints.js";

export function sci(x: number): string {
  return Number.isFinite(x) ? x.toExponential(3) : String(x);
}

function modelLine(label: string, m: ModelSummary): string {
  return `${label.padEnd(13)} ${escapeControls(m.dir)} (${escapeControls(truncateText(m.modelType, 80))}, ${m.family}, ${m.dtype}, ${formatCount(m.params)} params, head_dim ${m.headDim})`;
}

function scaleValue(v: number | number[]): string {
  return typeof v === "number" ? sci(v) : `per layer [${v.map(sci).join(", ")}]`;
}

function scaleLine(r: VerifyReport): string {
  const s = r.scale;
  if (s.mode === null) return "no gac-repair.json: both models use head_dim^-0.5";
  if (s.mode === "fold") {
    return `fold (${s.manifest}): sqrt(D/d) folded into q_proj, head_dim^-0.5 on both sides; the folded q weights were rounded once to ${r.repaired.dtype}, part of any difference below (--scale logical keeps them bit-exact)`;
  }
  if (s.attentionScale === undefined) return `logical (${s.manifest}): no scale recorded, head_dim^-0.5`;
  return `logical (${s.manifest}): repaired model uses attention scale ${scaleValue(s.attentionScale)}`;
}

/** The one-line figures, shared by the report and the VERIFY_FAILED message. */
export function figuresLine(s: DiffStats): string {
  return `max rel diff ${sci(s.maxRelDiff)}, max |diff| ${sci(s.maxAbsDiff)}, mean |diff| ${sci(s.meanAbsDiff)}, argmax agree ${s.argmaxAgree}/${s.rows}`;
}

export function renderVerifyReport(r: VerifyReport): string {
  const s = r.stats;
  const what =
    r.mode === "logits"
      ? `logits of ${r.tokens} seeded random token ids (seed ${r.seed})`
      : `each decoder layer on ${r.tokens} seeded random hidden states (seed ${r.seed}); per-layer output - input compared, plus the embedding rows of ${r.tokens} seeded token ids and the logits of the last layer's output`;
  const lines = [modelLine("original", r.original), modelLine("repaired", r.repaired), `${"compared".padEnd(13)} ${what}`, `${"scale".padEnd(13)} ${scaleLine(r)}`];
  // The original is itself a logical-mode gac output: it runs with its own recorded scale.
  if (r.originalScale?.attentionScale !== undefined) {
    lines.push(`${"".padEnd(13)} original is a logical repair (${r.originalScale.manifest}): it uses attention scale ${scaleValue(r.originalScale.attentionScale)}`);
  }
  if (r.layers) {
    lines.push("", `  ${"layer".padEnd(6)} ${"max rel diff".padStart(12)} ${"max |diff|".padStart(12)} ${"mean |diff|".padStart(12)}`);
    for (const l of r.layers) {
      lines.push(
        `  ${(l.part === "embeddings" ? "embed" : (l.part ?? String(l.layer))).padEnd(6)} ${sci(l.stats.maxRelDiff).padStart(12)} ${sci(l.stats.maxAbsDiff).padStart(12)} ${sci(l.stats.meanAbsDiff).padStart(12)}`,
      );
    }
    lines.push("");
  }
  lines.push(
    `${"max rel diff".padEnd(13)} ${sci(s.maxRelDiff)}  (max |a-b| / max |a|, a = original; max |a| = ${sci(s.maxAbsOriginal)})`,
    `${"max |diff|".padEnd(13)} ${sci(s.maxAbsDiff)}`,
    `${"mean |diff|".padEnd(13)} ${sci(s.meanAbsDiff)}`,
    `${"argmax agree".padEnd(13)} ${s.argmaxAgree}/${s.rows} ${r.mode === "logits" ? "positions" : "rows"}`,
    `${"tolerance".padEnd(13)} ${sci(r.tolerance)} relative: ${r.toleranceReason}`,
    `${"result".padEnd(13)} ${r.pass ? "PASS" : "FAIL"}`,
  );
  return lines.join("\n") + "\n";
}
