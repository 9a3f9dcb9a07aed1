/**
 * The quantized side of `gac repair` (repair/repair-checkpoint.ts proposeRepair): the plan is made
 * with every target a multiple of quantizedMultiple (the least common multiple of the kernel
 * alignment the strategy chose and the stored format's block and kernel rules, formats.ts
 * axisMultiple, both axes: a padded width is N of one weight and K of the next); then the 16-bit
 * tensor edits of the logical weights, each quantized one turned into edits of its stored tensors
 * (quantized-edits.ts). Changes whose padding the format cannot take exactly (zeros inside a scale
 * group, a split packed word) are left out with the rule, as the 16-bit repair leaves out the dims
 * it cannot pad exactly. Every byte then streams through the same pipeline as a 16-bit repair.
 */
import { readTensorBytes } from "../checkpoint/safetensors-read.js";
import { DTYPES, type Checkpoint } from "../checkpoint/types.js";
import { GacError } from "../errors.js";
import type { ModelSpec } from "../model/types.js";
import type { DimChange, Refusal } from "../plan/types.js";
import { tensorEdits, type ScaleMode, type TensorEdit } from "../repair/tensor-edits.js";
import { currentFormat } from "./current-format.js";
import { axisMultiple, lcm, quantFormat } from "./formats.js";
import type { QuantScheme } from "./quant-config.js";
import { quantizedStoredEdits } from "./quantized-edits.js";

/** What every padded width of a checkpoint stored in `s` must be a multiple of, from the format alone. */
export function quantizedMultiple(s: QuantScheme): number {
  const id = currentFormat(s);
  const f = id === null ? undefined : quantFormat(id);
  const fromRules = f ? lcm(axisMultiple(f, "N"), axisMultiple(f, "K")) : 1;
  switch (s.method) {
    case "gptq":
    case "awq":
    case "pack-quantized":
      return lcm(fromRules, lcm(8, s.groupSize === -1 ? 1 : s.groupSize));
    case "fp8":
      return s.block ? lcm(fromRules, lcm(s.block[0], s.block[1])) : fromRules;
    case "nvfp4":
      return lcm(fromRules, 16);
    case "mxfp4":
      return lcm(fromRules, 32);
  }
}

export interface QuantizedEdits {
  changes: DimChange[];
  /** Accepted changes the format cannot pad exactly, with the rule. */
  refusals: Refusal[];
  /** Edits of stored tensors (quantized weights' qweight/scales/...; every other tensor as the 16-bit repair edits it). */
  edits: TensorEdit[];
}

/**
 * `accepted`: the changes of a plan made with `multiple: quantizedMultiple(scheme)` (plan-repair.ts),
 * so every target is already a multiple of the format's blocks.
 */
export async function quantizedRepairEdits(ckpt: Checkpoint, spec: ModelSpec, accepted: readonly DimChange[], scaleMode: ScaleMode): Promise<QuantizedEdits> {
  const q = spec.quantization!;
  const stored = (name: string) => {
    const t = ckpt.tensors.get(name);
    if (!t) throw new GacError("UNSUPPORTED", `the model spec names tensor '${name}', which the checkpoint does not have`);
    return t;
  };
  const logical = (name: string) => {
    const w = q.weights.get(name);
    return w ? { dtype: spec.dtype, shape: [w.n, w.k] } : stored(name);
  };
  const read = (name: string, firstRow: number, rows: number) => {
    const t = stored(name);
    const rowBytes = t.shape.slice(1).reduce((a, b) => a * b, 1) * DTYPES[t.dtype].bytes;
    return readTensorBytes(t, { offset: firstRow * rowBytes, length: rows * rowBytes });
  };
  const build = async (changes: readonly DimChange[]) => {
    const out: TensorEdit[] = [];
    for (const e of tensorEdits(spec, changes, scaleMode, logical)) {
      const w = q.weights.get(e.tensor);
      out.push(...(w ? await quantizedStoredEdits(q.scheme, w, e, stored, read) : [e]));
    }
    return out;
  };
  const raised = accepted;
  const changes: DimChange[] = [];
  const refusals: Refusal[] = [];
  // Each change alone (head_dim changes together: one d -> D for the whole model), so one the format refuses leaves the rest.
  const headDims = raised.filter((c) => c.site.kind === "head_dim");
  const units = [...raised.filter((c) => c.site.kind !== "head_dim").map((c) => [c]), ...(headDims.length > 0 ? [headDims] : [])];
  for (const unit of units) {
    try {
      await build(unit);
      changes.push(...unit);
    } catch (e) {
      if (!(e instanceof GacError) || e.code !== "UNSUPPORTED") throw e;
      for (const c of unit) refusals.push({ id: c.id, value: c.from, reason: `${q.description}: ${e.message}` });
    }
  }
  return { changes, refusals, edits: await build(changes) };
}
