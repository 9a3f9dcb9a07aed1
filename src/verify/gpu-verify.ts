/**
 * `gac verify --device gpu`: original and repaired logits at full size on the GPU, through the
 * accuracy worker (src/accuracy/job.ts). Each comparison changes one thing between its two sides,
 * so each difference has a name by construction:
 *
 *   repair_fp64 / repair_fp32        original vs repaired, float64 / float32 with TF32 off. Zero
 *                                    padding alone leaves fp rounding of other summation orders
 *                                    (padded shapes run other GEMM kernels); a fold adds the
 *                                    rounding of q_proj x sqrt(D/d) to the storage dtype.
 *   repair_fp32_unrounded_fold       fold mode: the repaired model with the folded products kept in
 *                                    fp32: what is left is fp32 rounding and kernel choice only.
 *   fold_storage_rounding_fp32       fold mode: unrounded vs stored fold, both fp32: the one 16-bit
 *                                    (or fp32) rounding of the folded scale, alone.
 *   repair_serving                   original vs repaired in the serving precision (bfloat16):
 *                                    kernel choice (PyTorch picks other SDPA and GEMM kernels for
 *                                    the padded shapes) plus any fold rounding.
 *   noise_floor_serving              the original in the serving precision vs itself in fp32: what
 *                                    serving in bf16 costs anyway, printed beside repair_serving.
 *
 * Bounds: float64 as the CPU verify (tolerance.ts), fp32 1e-4 relative (or the storage dtype's
 * fold tolerance when a fold rounded weights), serving: at most 2x the noise floor (two bf16 runs
 * each within the floor of fp32 can be up to twice that apart).
 */
import type { Dtype } from "../checkpoint/types.js";
import { GacError } from "../errors.js";
import type { Strategy } from "../plan/types.js";
import type { ScaleMode } from "../repair/tensor-edits.js";
import { gacVersion } from "../scan/gac-version.js";
import { randomTokenIds } from "../util/prng.js";
import { ACCURACY_JOB_SCHEMA, jobModel, type Precision } from "../accuracy/job.js";
import { pairFromDirs, pairFromPlan, type RepairPair } from "../accuracy/repair-pair.js";
import { runAccuracyJob } from "../accuracy/run-job.js";
import { coarserDtype, defaultTolerance } from "./tolerance.js";

export const GPU_VERIFY_SCHEMA = "gac-verify-gpu/1";
export const DEFAULT_GPU_TOKENS = 128;
/** fp32 (TF32 off) through 32 layers: summation-order rounding stays near 1e-6 relative; 1e-4 leaves room and still catches a wrong edit (~1e-1). */
export const FP32_BOUND = 1e-4;
/** Two bf16 runs, each within the noise floor of the fp32 result, are at most twice the floor apart. */
export const SERVING_FLOOR_FACTOR = 2;

export interface GpuComparisonFigures {
  name: string;
  a: string;
  b: string;
  count: number;
  max_abs_diff: number;
  max_rel_diff: number;
  mean_abs_diff: number;
  max_abs_original: number;
  argmax_agree: number;
  rows: number;
}

export interface GpuComparison extends GpuComparisonFigures {
  /** What makes the two sides differ, named by construction (and "exact zero" when they do not). */
  cause: string;
  bound: number;
  bound_reason: string;
  pass: boolean;
}

export interface GpuVerifyReport {
  schema: typeof GPU_VERIFY_SCHEMA;
  gac_version: string;
  original: string;
  repaired: string;
  weights: "checkpoint" | "random";
  scale_mode: ScaleMode | null;
  dtype: Dtype;
  folded_tensors: number;
  tokens: number;
  seed: number;
  serving: Precision;
  gpu: string;
  torch: string;
  params: [number, number];
  comparisons: GpuComparison[];
  weights_check?: { tensors: number; identical: number; differing_count: number; differing: { tensor: string; elements_differing: number }[] };
  pass: boolean;
}

export interface GpuVerifyOptions {
  tokens?: number;
  seed?: number;
  /** Draw the original's weights at random and derive the repair a strategy would make. */
  randomWeights?: { strategy: Strategy; scaleMode: ScaleMode };
  onProgress?: (message: string) => void;
}

function storageRounding(dtype: Dtype): string {
  return dtype === "BF16" ? "one bfloat16 rounding" : dtype === "F16" ? "one float16 rounding" : dtype === "F32" ? "one float32 rounding" : "one float64 rounding";
}

/**
 * The bound on the one 16-bit rounding of a folded scale. The storage dtype's tolerance (1e-2 for
 * BF16) holds on small models, but the rounding grows with depth: a random-weight Llama-3-8B with
 * head_dim 106 folded into BF16 measured 1.67e-2 over 32 layers (H200, results/20261201T215958Z-e2e,
 * beside a bf16 noise floor of 7.03e-2). When the worker also ran the fold unrounded (which catches
 * a wrong edit at 1e-4 on its own), the rounding may be as large as the serving noise floor: serving
 * in bf16 rounds every activation anyway, and the fold must cost no more than that (pure).
 */
export function foldRoundingBound(
  tolerance: { value: number; reason: string },
  noise: GpuComparisonFigures | undefined,
  unroundedChecked: boolean,
  serving: Precision,
): { value: number; reason: string } {
  const base = Math.max(FP32_BOUND, tolerance.value);
  if (!unroundedChecked || noise === undefined || noise.max_rel_diff <= base) return { value: base, reason: tolerance.reason };
  return {
    value: noise.max_rel_diff,
    reason: `the ${serving} noise floor (larger than the storage tolerance ${base}): one rounding of the folded weights may cost what serving in ${serving} costs anyway; a wrong edit is caught by repair_fp32_unrounded_fold at ${FP32_BOUND}`,
  };
}

/** Names the cause of each comparison and checks it against its bound (pure; exported for tests). */
export function classifyComparisons(figures: readonly GpuComparisonFigures[], ctx: { dtype: Dtype; scaleMode: ScaleMode | null; foldedTensors: number; serving: Precision }): GpuComparison[] {
  const folded = ctx.foldedTensors > 0;
  const fold = `${storageRounding(ctx.dtype)} of a folded scale (q_proj x sqrt(D/d) stored as ${ctx.dtype})`;
  const noise = figures.find((f) => f.name === "noise_floor_serving");
  const foldTolerance = defaultTolerance(ctx.dtype, ctx.scaleMode);
  const foldRounding = foldRoundingBound(
    foldTolerance,
    noise,
    figures.some((f) => f.name === "repair_fp32_unrounded_fold"),
    ctx.serving,
  );
  return figures.map((f) => {
    const zero = f.max_abs_diff === 0;
    let cause: string;
    let bound: number;
    let reason: string;
    switch (f.name) {
      case "repair_fp64":
        cause = zero ? "exact zero" : folded ? `${fold}, plus float64 rounding` : "float64 rounding (summation order of the padded shapes)";
        bound = defaultTolerance(coarserDtype(ctx.dtype, "F64"), ctx.scaleMode).value;
        reason = "the CPU verify's tolerance for these weights";
        break;
      case "repair_fp32":
        cause = zero ? "exact zero" : folded ? `${fold}, plus fp32 rounding and kernel choice` : "fp32 rounding (other GEMM kernels and summation orders for the padded shapes)";
        bound = folded ? foldRounding.value : FP32_BOUND;
        reason = folded ? foldRounding.reason : "fp32 rounding through the layers";
        break;
      case "repair_fp32_unrounded_fold":
        cause = zero ? "exact zero" : "fp32 rounding (kernel choice and summation order; the fold kept unrounded)";
        bound = FP32_BOUND;
        reason = "fp32 rounding through the layers";
        break;
      case "fold_storage_rounding_fp32":
        cause = zero ? "exact zero (the folded products were already on the storage grid)" : fold;
        bound = foldRounding.value;
        reason = foldRounding.reason;
        break;
      case "repair_serving":
        cause = zero ? "exact zero" : `kernel choice in ${ctx.serving} (other kernels for the padded shapes)${folded ? `, plus ${fold}` : ""}`;
        bound = noise === undefined ? Infinity : SERVING_FLOOR_FACTOR * noise.max_rel_diff;
        reason = `${SERVING_FLOOR_FACTOR}x the ${ctx.serving} noise floor (the original in ${ctx.serving} vs fp32)`;
        break;
      case "noise_floor_serving":
        cause = `serving noise floor: the original in ${ctx.serving} vs itself in fp32`;
        bound = Infinity;
        reason = "reference, not a check";
        break;
      default:
        throw new GacError("WORKER_FAILED", `the accuracy worker reported a comparison '${f.name}' gac does not know`);
    }
    return { ...f, cause, bound, bound_reason: reason, pass: f.max_rel_diff <= bound };
  });
}

function isFigures(v: unknown): v is GpuComparisonFigures {
  if (typeof v !== "object" || v === null) return false;
  const r = v as Record<string, unknown>;
  return typeof r.name === "string" && typeof r.max_rel_diff === "number" && typeof r.max_abs_diff === "number";
}

export async function verifyOnGpu(originalDir: string, repairedDir: string | undefined, opts: GpuVerifyOptions = {}): Promise<GpuVerifyReport> {
  const tokens = opts.tokens ?? DEFAULT_GPU_TOKENS;
  const seed = opts.seed ?? 0;
  let pair: RepairPair;
  if (opts.randomWeights) {
    if (repairedDir !== undefined) throw new GacError("BAD_ARGS", "--random-weights derives the repaired model from the original by --strategy and --scale; give only the original directory");
    pair = await pairFromPlan(originalDir, opts.randomWeights.strategy, opts.randomWeights.scaleMode);
  } else {
    if (repairedDir === undefined) throw new GacError("BAD_ARGS", "gac verify needs the original and the repaired directory (or --random-weights with --strategy)");
    pair = await pairFromDirs(originalDir, repairedDir);
  }
  const { original, repaired } = pair;
  if (original.spec.vocabSize !== repaired.spec.vocabSize) {
    throw new GacError("VERIFY_FAILED", `vocabularies differ (${original.spec.vocabSize} vs ${repaired.spec.vocabSize}): repair never changes the vocabulary`);
  }
  const dtype = coarserDtype(original.spec.dtype, repaired.spec.dtype);
  const random = opts.randomWeights !== undefined;
  const serving: Precision = "bfloat16";
  const lines = await runAccuracyJob(
    {
      schema: ACCURACY_JOB_SCHEMA,
      op: "verify",
      models: [
        jobModel(original.dir, original.dir, original.spec, original.forward, random ? { source: "random", seed, dtype: original.spec.dtype } : { source: "checkpoint" }),
        jobModel(repaired.dir, repaired.dir, repaired.spec, repaired.forward, random ? { source: "derived", from: 0, edits: pair.edits } : { source: "checkpoint" }),
      ],
      token_ids: randomTokenIds(seed, tokens, original.spec.vocabSize),
      edits: pair.edits,
      serving,
    },
    { onProgress: opts.onProgress },
  );
  const result = lines.find((l) => l.op === "verify");
  const figures = Array.isArray(result?.comparisons) ? result.comparisons : undefined;
  if (result === undefined || figures === undefined || !figures.every(isFigures)) {
    throw new GacError("WORKER_FAILED", "the accuracy worker finished without verify figures");
  }
  const foldedTensors = pair.edits.filter((e) => e.scale !== undefined).length;
  const comparisons = classifyComparisons(figures, { dtype, scaleMode: pair.scaleMode, foldedTensors, serving });
  const params = Array.isArray(result.params) ? result.params.map(Number) : [0, 0];
  const wc = result.weights_check as GpuVerifyReport["weights_check"] | undefined;
  return {
    schema: GPU_VERIFY_SCHEMA,
    gac_version: gacVersion(),
    original: original.dir,
    repaired: repaired.dir,
    weights: random ? "random" : "checkpoint",
    scale_mode: pair.scaleMode,
    dtype,
    folded_tensors: foldedTensors,
    tokens,
    seed,
    serving,
    gpu: String(result.gpu),
    torch: String(result.torch),
    params: [params[0] ?? 0, params[1] ?? 0],
    comparisons,
    ...(wc !== undefined ? { weights_check: wc } : {}),
    pass: comparisons.every((c) => c.pass) && (wc === undefined || wc.differing_count === 0),
  };
}
