/**
 * What a repaired checkpoint's loss minus its compressed model's is, at any precision the GPU eval
 * ran (src/eval/repair-difference.ts names it for the float64 CPU forward; its bounds are reused):
 *
 *   exact zero       the same bits.
 *   <p> rounding     within the precision's rounding of the loss: float64 FLOAT64_LOSS_BOUND;
 *                    float32 (TF32 off) 1e-6 of the loss (summation-order rounding through 32
 *                    layers stays near 1e-6 relative, src/verify/gpu-verify.ts; measured here:
 *                    0 to 2.4e-11 at a loss of 1.7); bfloat16 one bf16 step, 2^-8 of the loss
 *                    (the padded shapes run other kernels, each rounding to bf16; measured
 *                    |delta| up to 6e-5 at 1.7, 1.6e-3 at 12.8).
 *   fold rounding    a fold-mode repair whose difference passes its precision's rounding but stays
 *                    within one storage rounding step of q_proj (foldLossBound): the fold's one
 *                    16-bit rounding. In bfloat16 the two bounds are the same step, so a fold's
 *                    rounding and bf16 kernel choice are named together.
 *   beyond bound     anything else: the repair changed the function.
 */
import type { Dtype } from "../checkpoint/types.js";
import { FLOAT64_LOSS_BOUND, foldLossBound, type RepairDifferenceKind } from "../eval/repair-difference.js";
import { RELATIVE_ROUNDING } from "../repair/fold-rounding.js";

/** float32 rounding of a loss, relative: see the header. */
export const FP32_LOSS_RELATIVE_BOUND = 1e-6;

/** The |loss difference| a precision's rounding alone may leave. */
export function lossRoundingBound(precision: string, loss: number): number {
  if (precision === "float64") return FLOAT64_LOSS_BOUND;
  if (precision === "float32") return FP32_LOSS_RELATIVE_BOUND * Math.abs(loss);
  return (precision === "float16" ? (RELATIVE_ROUNDING.F16 ?? 2 ** -11) : (RELATIVE_ROUNDING.BF16 ?? 2 ** -8)) * Math.abs(loss);
}

export interface EvalDifference {
  kind: RepairDifferenceKind | "rounding";
  label: string;
}

const sci1 = (x: number) => x.toExponential(1);

/**
 * Names `delta` = repaired loss - compressed loss at `precision`. `foldRounded`: the repair folded
 * a scale that rounds (a fold-mode repair whose difference at a finer precision of the same
 * evaluation is past that precision's rounding).
 */
export function classifyEvalDifference(delta: number, compressedLoss: number, precision: string, fold: { foldRounded: boolean; dtype: string }): EvalDifference {
  if (delta === 0) return { kind: "exact zero", label: "exact zero" };
  const rounding = lossRoundingBound(precision, compressedLoss);
  const foldBound = foldLossBound(fold.dtype as Dtype, compressedLoss);
  const coarse = precision !== "float64" && precision !== "float32";
  if (Math.abs(delta) <= rounding) {
    if (coarse && fold.foldRounded) return { kind: "fold rounding", label: `${precision} rounding and kernel choice, with the fold's one ${fold.dtype} rounding of q_proj (<= ${sci1(rounding)})` };
    return { kind: "rounding", label: `${precision} rounding${coarse ? " and kernel choice of the padded shapes" : ""} (<= ${sci1(rounding)})` };
  }
  if (fold.foldRounded && Math.abs(delta) <= foldBound) return { kind: "fold rounding", label: `the fold's one ${fold.dtype} rounding of q_proj (<= ${sci1(foldBound)})` };
  return { kind: "beyond bound", label: `BEYOND ${precision} rounding: the repair changed the function` };
}

/** Whether a fold-mode repair's difference at some float64/float32 evaluation is past that precision's rounding. */
export function foldRoundedFrom(scaleMode: string | null, fine: readonly { precision: string; delta: number; compressedLoss: number }[]): boolean {
  if (scaleMode !== "fold") return false;
  return fine.some((f) => (f.precision === "float64" || f.precision === "float32") && Math.abs(f.delta) > lossRoundingBound(f.precision, f.compressedLoss));
}
