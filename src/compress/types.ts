/**
 * What a compression method hands the checkpoint writer: which original tensors it replaces and
 * with what, the new config.json, and every size decision with its reason. Values are float64 and
 * encoded in the checkpoint's dtype on write; null values (--sizes-only) are written as a sparse
 * hole, headers only.
 */
import type { ModelSpec } from "../model/types.js";
import type { GpuProfile } from "../profile/types.js";
import type { Weights } from "../verify/tensor-store.js";
import type { LayerStats } from "./calibration.js";
import type { PreparedFactorisation } from "./factor-linear.js";
import type { AlignPolicy, SizeDecision, SizeTarget } from "./size-policy.js";
import type { ServingDtype } from "./size-cost.js";

export const COMPRESS_METHODS = ["svd-heads", "svd-pairs", "asvd", "palu", "prune-mlp"] as const;
export type CompressMethod = (typeof COMPRESS_METHODS)[number];

export function isCompressMethod(s: string): s is CompressMethod {
  return (COMPRESS_METHODS as readonly string[]).includes(s);
}

/** prefix: pairs 0 .. d'/2 - 1 (highest frequencies); mass: the contiguous window with the most q.k score mass. */
export type RopeWindow = "prefix" | "mass";

export interface NewTensor {
  name: string;
  shape: number[];
  /** Row-major float64 values, or null for a header-only (sparse) checkpoint. */
  values: Float64Array | null;
}

export interface MethodInput {
  spec: ModelSpec;
  config: Record<string, unknown>;
  /** The dense model's weights in float64, or null with --sizes-only (shapes are all there is). */
  weights: Weights | null;
  /** Calibration statistics per layer, or null when no calibration text was given. */
  stats: LayerStats[] | null;
  target: SizeTarget;
  align: AlignPolicy;
  /** Needed by align profile. */
  profile: GpuProfile | null;
  servingDtype: ServingDtype;
  /** prune-mlp: the same kept fraction in every layer instead of FLAP's adaptive per-layer widths. */
  uniform: boolean;
  /** svd-heads: which rotate-half pairs q/k keep (see svd-heads-method.ts). */
  ropeWindow: RopeWindow;
  /** palu: KV heads per low-rank group (default: PaLU's 4, lowered to a divisor of the KV head count). */
  headGroupSize?: number;
  /** The source checkpoint directory (palu records it as original_model_name_or_path). */
  source?: string;
  /** Factorisations by tensor, shared by the runs of one model, calibration and method (see CompressCache). */
  factorisations?: Map<string, PreparedFactorisation>;
}

/**
 * What several `compressCheckpoint` runs on one model can share: the calibration statistics and the
 * SVDs, which do not depend on the budget or the alignment (a study writes five variants of each).
 */
export interface CompressCache {
  stats: Map<string, LayerStats[]>;
  factorisations: Map<string, Map<string, PreparedFactorisation>>;
}

export function newCompressCache(): CompressCache {
  return { stats: new Map(), factorisations: new Map() };
}

export interface MethodResult {
  /** Original tensor name -> the tensors written in its place (an empty list drops it). */
  replacements: Map<string, NewTensor[]>;
  config: Record<string, unknown>;
  decisions: SizeDecision[];
  /** Lines explaining method-level choices (RoPE window, whitening, compensation biases). */
  notes: string[];
}
