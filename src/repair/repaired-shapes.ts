/**
 * The tensor shapes a repaired checkpoint has: the original's, with every edited tensor at its
 * edit's `to` shape (repair renames, adds and drops nothing). With the repaired config.json this is
 * what gac would read back from the written checkpoint, so a spec built from the two carries the
 * repaired model's own config disagreements (none where the repair's config update resolved them),
 * not the original's.
 */
import type { TensorShapes } from "../checkpoint/types.js";
import { GacError } from "../errors.js";
import { buildModelSpec } from "../model/build-model-spec.js";
import type { ModelSpec } from "../model/types.js";
import type { TensorEdit } from "./tensor-edits.js";

export function repairedShapes(original: TensorShapes, edits: readonly TensorEdit[]): TensorShapes {
  const out = new Map(original);
  for (const e of edits) {
    const t = original.get(e.tensor);
    if (t === undefined) throw new GacError("UNSUPPORTED", `repair edit names tensor '${e.tensor}', which the checkpoint does not have`);
    out.set(e.tensor, { dtype: t.dtype, shape: [...e.to] });
  }
  return out;
}

/**
 * A repaired model's spec (`planned`: applyPlanToSpec of the original) with the config
 * disagreements the repaired checkpoint itself has: read back from its shapes and its updated
 * config.json, not carried over from the original.
 */
export function withRepairedDisagreements(planned: ModelSpec, repairedConfig: Record<string, unknown>, original: TensorShapes, edits: readonly TensorEdit[]): ModelSpec {
  return { ...planned, configDisagreements: buildModelSpec(repairedConfig, repairedShapes(original, edits)).configDisagreements };
}
