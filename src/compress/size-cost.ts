/**
 * Predicted GPU time of the kernel calls a compressed size changes, from a GPU profile
 * (profile/predict.ts): one prefill (DEFAULT_WORKLOAD: 2048 tokens) plus one decode step (KV cache
 * 4096) of the calls of one matrix. `--align profile` compares these sums across candidate sizes.
 */
import type { Dtype } from "../checkpoint/types.js";
import type { AttentionCall, GemmCall, KernelCall, Workload } from "../graph/types.js";
import { DEFAULT_WORKLOAD } from "../graph/types.js";
import { predictCall, type Prediction } from "../profile/predict.js";
import type { GpuProfile } from "../profile/types.js";

export type ServingDtype = Extract<Dtype, "F16" | "BF16">;

/** The dtype the GPU runs: a 16-bit checkpoint's own, else BF16 (float32 small models are served in 16 bits). */
export function costDtype(modelDtype: Dtype): ServingDtype {
  return modelDtype === "F16" ? "F16" : "BF16";
}

function gemm(m: number, n: number, k: number, dtype: ServingDtype, phase: "prefill" | "decode"): GemmCall {
  return { id: `gemm-${phase}-${m}x${n}x${k}`, kind: "gemm", phase, layer: 0, role: "compress", tensor: "", m, n, k, dtype };
}

/** Sum of predictions, null if any call has none. */
function total(profile: GpuProfile, calls: KernelCall[]): Prediction | null {
  let sum = 0;
  for (const c of calls) {
    const p = predictCall(profile, c);
    if (p === null) return null;
    sum += p.ms;
  }
  return { ms: sum, basis: `${calls.length} calls predicted from ${profile.source} ${profile.gpu.name}` };
}

/** Both GEMMs of both phases for each [n, k] weight shape. */
function gemmsOf(shapes: [number, number][], dtype: ServingDtype, w: Workload): GemmCall[] {
  return shapes.flatMap(([n, k]) => [gemm(w.prefillBatch * w.prefillLen, n, k, dtype, "prefill"), gemm(w.decodeBatch, n, k, dtype, "decode")]);
}

/** A factor pair x -> [rank] -> [out]: first [rank, in], second [out, rank]. */
export function lowRankCost(profile: GpuProfile, outFeatures: number, inFeatures: number, dtype: ServingDtype, w: Workload = DEFAULT_WORKLOAD) {
  return (rank: number) =>
    total(
      profile,
      gemmsOf(
        [
          [rank, inFeatures],
          [outFeatures, rank],
        ],
        dtype,
        w,
      ),
    );
}

/** One layer's MLP at width `width`: gate and up [width, hidden], down [hidden, width]. */
export function mlpWidthCost(profile: GpuProfile, hidden: number, dtype: ServingDtype, w: Workload = DEFAULT_WORKLOAD) {
  return (width: number) =>
    total(
      profile,
      gemmsOf(
        [
          [width, hidden],
          [width, hidden],
          [hidden, width],
        ],
        dtype,
        w,
      ),
    );
}

export interface AttentionGeometry {
  hidden: number;
  numHeads: number;
  numKvHeads: number;
}

/** One layer's attention at head_dim d: q/k/v/o GEMMs and the attention calls of both phases. */
export function headDimCost(profile: GpuProfile, g: AttentionGeometry, dtype: ServingDtype, w: Workload = DEFAULT_WORKLOAD) {
  return (d: number) => {
    const attention = (phase: "prefill" | "decode"): AttentionCall => ({
      id: `attention-${phase}-${d}`,
      kind: "attention",
      phase,
      layer: 0,
      role: "compress",
      batch: phase === "prefill" ? w.prefillBatch : w.decodeBatch,
      qLen: phase === "prefill" ? w.prefillLen : 1,
      kvLen: phase === "prefill" ? w.prefillLen : w.kvLen,
      numHeads: g.numHeads,
      numKvHeads: g.numKvHeads,
      headDimQk: d,
      headDimV: d,
      causal: phase === "prefill",
      dtype,
    });
    const shapes: [number, number][] = [
      [g.numHeads * d, g.hidden],
      [g.numKvHeads * d, g.hidden],
      [g.numKvHeads * d, g.hidden],
      [g.hidden, g.numHeads * d],
    ];
    return total(profile, [...gemmsOf(shapes, dtype, w), attention("prefill"), attention("decode")]);
  };
}
