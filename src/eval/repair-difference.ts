/**
 * What a repair's loss difference is, named: the loss of a repaired checkpoint minus its compressed
 * model's, on the same windows, in the float64 CPU forward.
 *
 *   exact zero           the repaired forward adds only exact zeros (zero-padded rows and columns,
 *                        x + 0 * w = x) and, in logical mode, runs with the original d^-0.5: the
 *                        same float64 operations, so the same bits.
 *   float64 rounding     nonzero but at most FLOAT64_LOSS_BOUND: another summation order for the
 *                        padded shapes (the blocked GEMM and attention loops are bit-identical to
 *                        the plain ones, so this is not expected; the bound is there so that a
 *                        reordering can never hide a real change).
 *   fold rounding        a fold-mode repair multiplied q_proj by sqrt(D/d) and stored it in the
 *                        checkpoint's dtype: every q weight rounded once (relative step u: 2^-8 in
 *                        bfloat16). The bound is u x loss: to first order each attention score moves
 *                        by at most ~u relative, and a loss change of the order of the loss times u
 *                        is what re-rounding the whole model to its storage grid once could cost.
 *                        Measured on the bundled model it is ~1e-5 (about 6e-6 of the loss).
 *   beyond bound         anything else: the repair changed the function.
 */
import type { Dtype } from "../checkpoint/types.js";
import { isPowerOfTwo, RELATIVE_ROUNDING } from "../repair/fold-rounding.js";

/**
 * |loss difference| allowed as float64 rounding: about 4,500 units of 2^-53 at a loss of 1.7,
 * thousands of reordered additions' worth in 6 layers of sums up to 512 long; a real change (the
 * fold's rounding, ~1e-5) is seven orders larger.
 */
export const FLOAT64_LOSS_BOUND = 1e-12;

export type RepairDifferenceKind = "exact zero" | "float64 rounding" | "fold rounding" | "beyond bound";

export interface RepairDifference {
  kind: RepairDifferenceKind;
  delta: number;
  /** The bound the difference was checked against. */
  bound: number;
  /** One phrase for a table cell. */
  label: string;
}

/** True when a fold-mode repair rounded weights: some folded factor is not a power of two. */
export function foldRounds(foldedScales: readonly number[]): boolean {
  return foldedScales.some((x) => !isPowerOfTwo(x));
}

/** The fold's bound: one storage rounding step of the dtype, relative to the loss. */
export function foldLossBound(dtype: Dtype, loss: number): number {
  return (RELATIVE_ROUNDING[dtype] ?? 2 ** -8) * Math.abs(loss);
}

export function classifyRepairDifference(repairedLoss: number, compressedLoss: number, fold: { scales: readonly number[]; dtype: Dtype }): RepairDifference {
  const delta = repairedLoss - compressedLoss;
  if (delta === 0) return { kind: "exact zero", delta, bound: 0, label: "exact zero" };
  if (Math.abs(delta) <= FLOAT64_LOSS_BOUND) return { kind: "float64 rounding", delta, bound: FLOAT64_LOSS_BOUND, label: `float64 rounding (<= ${FLOAT64_LOSS_BOUND.toExponential(0)})` };
  if (foldRounds(fold.scales)) {
    const bound = foldLossBound(fold.dtype, compressedLoss);
    if (Math.abs(delta) <= bound) {
      const factors = fold.scales.map((x) => `x${x.toPrecision(5)}`).join(", ");
      return { kind: "fold rounding", delta, bound, label: `the fold's one ${fold.dtype} rounding of q_proj ${factors} (<= ${bound.toExponential(1)})` };
    }
  }
  return { kind: "beyond bound", delta, bound: FLOAT64_LOSS_BOUND, label: "BEYOND float64 rounding: the repair changed the function" };
}
