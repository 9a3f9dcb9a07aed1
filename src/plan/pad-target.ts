/**
 * The seeds' ShapeContract (seed 001 section 3-4): where each strategy pads a dimension.
 *   MINIMAL    next multiple of 8  (16-byte fp16 vector loads; cuDNN/mem-efficient's head_dim % 8)
 *   OPTIMAL    next multiple of 16 (fp16 tensor-core K tile; seed C23: 16-aligned K ran 91 TFLOPS, 8-only 77)
 *   PREDEFINED smallest compiled size >= v from the runtime's list (attention head_dim); GEMM dims,
 *              which have no compiled list, and values above the list's largest entry use OPTIMAL
 *   TRADEOFF   the coarsest of 32/16/8 whose overhead (padded - v) / v stays under the budget
 *              (default 10%, the seeds' figure), else the 8-multiple.
 * The seeds' own tradeoff code tries 8 first and so always equals MINIMAL; trying the coarser
 * alignment first is what makes the strategy trade memory for speed (107 -> 112, 121 -> 128).
 */
import { GacError } from "../errors.js";
import type { Strategy } from "./types.js";

const DEFAULT_BUDGET_PCT = 10;

/** Alignments TRADEOFF tries, coarsest first. */
const TRADEOFF_ALIGNMENTS = [32, 16, 8] as const;

interface PadTargetOptions {
  /** Compiled sizes for PREDEFINED (ascending or not); absent for GEMM dims. */
  predefined?: readonly number[];
  /** TRADEOFF's memory budget per dim, in percent of the value. */
  budgetPct?: number;
}

function roundUpTo(value: number, multiple: number): number {
  return Math.ceil(value / multiple) * multiple;
}

export function padTarget(value: number, strategy: Strategy, opts: PadTargetOptions = {}): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new GacError("UNSUPPORTED", `cannot pad dimension ${value}: a dimension is a positive integer`);
  }
  switch (strategy) {
    case "MINIMAL":
      return roundUpTo(value, 8);
    case "OPTIMAL":
      return roundUpTo(value, 16);
    case "PREDEFINED": {
      const sizes = [...(opts.predefined ?? [])].sort((a, b) => a - b);
      return sizes.find((s) => s >= value) ?? roundUpTo(value, 16);
    }
    case "TRADEOFF": {
      const budget = (opts.budgetPct ?? DEFAULT_BUDGET_PCT) / 100;
      for (const a of TRADEOFF_ALIGNMENTS) {
        const padded = roundUpTo(value, a);
        if ((padded - value) / value < budget) return padded;
      }
      return roundUpTo(value, 8);
    }
  }
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** The largest power of two (up to 128) dividing a target: the kernel alignment a strategy chose. */
export function kernelAlignment(to: number): number {
  let m = 1;
  while (m < 128 && to % (m * 2) === 0) m *= 2;
  return m;
}

/** `to` raised to the least common multiple of its kernel alignment and `multiple` (1: unchanged). */
export function raiseToMultiple(to: number, multiple: number): number {
  if (multiple <= 1) return to;
  const a = kernelAlignment(to);
  const m = (a / gcd(a, multiple)) * multiple;
  return Math.ceil(to / m) * m;
}
