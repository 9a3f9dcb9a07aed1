/**
 * The default pass threshold on maxRelDiff (see compare.ts), from the weights' dtype. Zero-padding
 * is exact in real arithmetic, and the float64 forward reproduces it to ~1e-15 except where a
 * repair rewrote weight values: folding sqrt(D/d) into q_proj rounds every q weight to the
 * storage grid again (relative step 2^-24 in float32, 2^-11 in float16, 2^-8 in bfloat16).
 */
import { GacError } from "../errors.js";
import type { Dtype } from "../checkpoint/types.js";
import type { ScaleMode } from "../repair/manifest.js";

interface Tolerance {
  value: number;
  /** One line for the report: why this threshold. */
  reason: string;
}

/** Coarser formats first: the tolerance follows the less precise of the two checkpoints. */
const PRECISION_ORDER: readonly Dtype[] = ["BF16", "F16", "F32", "F64"];

export function coarserDtype(a: Dtype, b: Dtype): Dtype {
  const ia = PRECISION_ORDER.indexOf(a);
  const ib = PRECISION_ORDER.indexOf(b);
  return ia <= ib ? a : b;
}

export function defaultTolerance(dtype: Dtype, scaleMode: ScaleMode | null): Tolerance {
  const folded = scaleMode !== "logical";
  switch (dtype) {
    case "F64":
      return { value: 1e-10, reason: "float64 weights: padding is exact up to float64 summation order and the rope_theta' power (~1e-15)" };
    case "F32":
      return {
        value: 1e-5,
        reason: folded ? "float32 weights: a folded sqrt(D/d) rounds each q_proj weight to float32 (relative step 6e-8)" : "float32 weights: padding is exact up to summation order",
      };
    case "F16":
    case "BF16":
      return {
        value: 1e-2,
        reason: folded
          ? `${dtype === "F16" ? "float16" : "bfloat16"} weights: folded-scale rounding (sqrt(D/d) multiplied into 16-bit q_proj weights rounds each weight to the 16-bit grid, relative step ${dtype === "F16" ? "4.9e-4" : "3.9e-3"})`
          : `${dtype === "F16" ? "float16" : "bfloat16"} weights: logical scale mode rescales nothing, so figures far below this threshold are expected`,
      };
    default:
      throw new GacError("UNSUPPORTED", `${dtype} weights: the reference forward reads float weights only (quantized formats carry scales it does not apply)`);
  }
}
