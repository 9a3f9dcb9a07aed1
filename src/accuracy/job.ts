/**
 * The GPU accuracy job (`python3 -m gac_worker.accuracy <job.json>`; one owner of its format, schema
 * `gac-accuracy-job/1`). gac resolves everything that needs layout knowledge here, in TypeScript:
 * the ModelSpec (tensor names and factor structure, per-layer shapes), each layer's softmax scale,
 * the RoPE inverse frequencies per head_dim (float64, default/linear/llama3 rules of rope.ts), the
 * evaluation windows and the tensor edits of a repair. The Python side only executes: it builds a
 * forward pass from the spec, loads or draws the weights, and reports numbers as JSON lines.
 *
 * Weights come from one of three sources:
 *   checkpoint  the directory's safetensors
 *   random      seeded normal draws per tensor name in the spec's shapes (std 0.02, norms
 *               1 + 0.1 N(0,1); python/gac_worker/e2e/weights.py), stored in `dtype` (real-size
 *               header-only fixtures hold zeros; random weights give their forward something to do)
 *   derived     model `from` of the same job with `edits` applied (zero rows/columns by PadLayout,
 *               folded scale multiplied then rounded to the storage dtype), as gac repair writes them
 */
import type { Dtype } from "../checkpoint/types.js";
import type { ModelSpec } from "../model/types.js";
import type { TensorEdit } from "../repair/tensor-edits.js";
import { layerAttentionScale, type ForwardOptions } from "../verify/forward.js";
import { ropeInvFreq } from "../verify/rope.js";
import type { EvalWindow } from "../eval/windows.js";

export const ACCURACY_JOB_SCHEMA = "gac-accuracy-job/1";

export type WeightSource = { source: "checkpoint" } | { source: "random"; seed: number; dtype: Dtype } | { source: "derived"; from: number; edits: TensorEdit[] };

export interface JobModel {
  /** Shown in results; the checkpoint directory, or a label for a derived model. */
  label: string;
  dir: string;
  spec: ModelSpec;
  /** Softmax scale of each layer, in layer order. */
  attention_scale: number[];
  /** RoPE inverse frequencies per head_dim (key: the head_dim as a string). */
  inv_freq: Record<string, number[]>;
  weights: WeightSource;
}

export type Precision = "float64" | "float32" | "bfloat16";
export const PRECISIONS: readonly Precision[] = ["float64", "float32", "bfloat16"];

export interface EvalJob {
  schema: typeof ACCURACY_JOB_SCHEMA;
  op: "eval";
  models: JobModel[];
  precisions: Precision[];
  /** The evaluated bytes: [byte_offset, byte_offset + byte_length) of `path`; token id = byte. */
  text: { path: string; byte_offset: number; byte_length: number };
  /** [start, length, score_from] per window (windows.ts). */
  windows: [number, number, number][];
  batch_windows: number;
}

export interface VerifyJob {
  schema: typeof ACCURACY_JOB_SCHEMA;
  op: "verify";
  /** [original, repaired]. */
  models: [JobModel, JobModel];
  token_ids: number[];
  /**
   * The repair's edits of the original's tensors, for the fp32 run with the folded scale left
   * unrounded (it separates the storage rounding of the fold from everything else) and, with
   * checkpoint weights, for checking that the repaired tensors are the edited original ones.
   */
  edits: TensorEdit[];
  /** The serving precision compared besides fp32. */
  serving: Precision;
}

export type AccuracyJob = EvalJob | VerifyJob;

/** Softmax scale per layer and RoPE tables per head_dim, as the CPU reference forward uses them. */
export function jobModel(label: string, dir: string, spec: ModelSpec, forward: ForwardOptions, weights: WeightSource): JobModel {
  const invFreq: Record<string, number[]> = {};
  for (const l of spec.layers) {
    const key = String(l.attn.headDim);
    if (!(key in invFreq)) invFreq[key] = [...ropeInvFreq(l.attn.headDim, spec.rope)];
  }
  return { label, dir, spec, attention_scale: spec.layers.map((l) => layerAttentionScale(l, forward)), inv_freq: invFreq, weights };
}

export function windowRows(windows: readonly EvalWindow[]): [number, number, number][] {
  return windows.map((w) => [w.start, w.length, w.scoreFrom]);
}
