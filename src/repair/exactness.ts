/**
 * Which planned dim changes repair can make exactly, and why not for the others. A change that
 * fails a check here is skipped and reported (the rest of the model is still repaired): padding
 * only adds zeros, head_dim needs a RoPE the padded layout can reproduce, and config.head_dim is one
 * number for the whole model.
 */
import type { ModelSpec } from "../model/types.js";
import type { DimChange, Refusal } from "../plan/types.js";
import { layerLinear } from "../model/layer-linears.js";
import { canFoldScale } from "./rules/fold-scale.js";
import type { ScaleMode } from "./tensor-edits.js";

export interface ScreenedChanges {
  accepted: DimChange[];
  refusals: Refusal[];
}

/** RoPE variants whose frequencies depend only on base^(-2j/dim), so rope_theta^(D/d) restores them. */
const PADDABLE_ROPE = new Set(["default", "linear", "llama3"]);

function headDimBlocker(spec: ModelSpec, changes: DimChange[], scaleMode: ScaleMode): string | undefined {
  const rope = spec.rope;
  if (!PADDABLE_ROPE.has(rope.scaling.type)) {
    const name = rope.scaling.type === "other" ? rope.scaling.name : rope.scaling.type;
    return `rope type '${name}' uses head_dim inside its formula (only default, linear and llama3 are restored by rope_theta' = rope_theta^(D/d))`;
  }
  if (rope.partialRotaryFactor !== 1) {
    return `partial_rotary_factor ${rope.partialRotaryFactor}: Llama-style attention applies RoPE to the whole head, so a rotary/pass split cannot be kept`;
  }
  const pairs = new Set(changes.map((c) => `${c.from}->${c.to}`));
  if (pairs.size > 1) return `layers ask for different head_dim changes (${[...pairs].join(", ")}) but config.head_dim is one number for the model`;
  const { from: d, to: D } = changes[0];
  if (d % 2 !== 0) return `odd head_dim ${d}: RoPE pairs dim i with i + head_dim/2, so an odd head_dim cannot carry RoPE and cannot be padded per half`;
  if (D % 2 !== 0) return `target head_dim ${D} is odd and cannot hold two RoPE halves`;
  const changed = new Set(changes.map((c) => c.site.layer));
  const unchanged = spec.layers.filter((l) => !changed.has(l.index));
  if (unchanged.length > 0) return `head_dim changes in ${changed.size} layers but not in layer ${unchanged[0].index}; config.head_dim is one number for the model`;
  for (const layer of spec.layers) {
    if (layer.attn.headDim !== d || layer.attn.headDimV !== d) {
      return `layer ${layer.index} has q/k head_dim ${layer.attn.headDim} and v head_dim ${layer.attn.headDimV}, not ${d}`;
    }
    if (scaleMode === "fold") {
      const q = layerLinear(layer, "self_attn.q_proj");
      const out = q.kind === "dense" ? q.weight : q.kind === "lowrank" ? q.second : q.groups[0];
      const dtype = out.dtype ?? spec.dtype;
      if (!canFoldScale(dtype)) return `q_proj of layer ${layer.index} is ${dtype}, which cannot take the folded softmax scale; use --scale logical`;
    }
  }
  return undefined;
}

export function screenChanges(spec: ModelSpec, changes: readonly DimChange[], scaleMode: ScaleMode): ScreenedChanges {
  const refusals: Refusal[] = [];
  const accepted: DimChange[] = [];
  const headDims: DimChange[] = [];
  for (const c of changes) {
    if (c.to < c.from) refusals.push({ id: c.id, value: c.from, reason: `would shrink ${c.from} to ${c.to}; repair only adds zeros` });
    else if (c.to === c.from) continue;
    else if (c.site.kind === "head_dim") headDims.push(c);
    else accepted.push(c);
  }
  if (headDims.length > 0) {
    const blocker = headDimBlocker(spec, headDims, scaleMode);
    if (blocker === undefined) accepted.push(...headDims);
    else for (const c of headDims) refusals.push({ id: c.id, value: c.from, reason: blocker });
  }
  return { accepted, refusals };
}
