/**
 * Folding the softmax-scale correction into q: stock HF loaders take the scale from config.head_dim,
 * so after padding d -> D they use D^-0.5; multiplying q's weight and bias by sqrt(D/d) gives back
 * q.k / sqrt(d). The only rule that does arithmetic: bytes are decoded, multiplied and encoded
 * again, so in 16-bit formats it rounds (measured by verify/, never claimed bit-exact).
 */
import { GacError } from "../../errors.js";
import { decodeToFloat64, encodeFromFloat64 } from "../../checkpoint/dtype-codec.js";
import type { Dtype } from "../../checkpoint/types.js";

/** The factor that makes D^-0.5 * (s q).k equal d^-0.5 * q.k. */
export function attentionScaleFold(d: number, D: number): number {
  return Math.sqrt(D / d);
}

/** Formats in which a multiplied weight is still the same kind of number (ints and FP8 carry external scales). */
export function canFoldScale(dtype: Dtype): boolean {
  return dtype === "F64" || dtype === "F32" || dtype === "F16" || dtype === "BF16";
}

/** Multiplies every element of a block of `dtype` values by `factor`. Elementwise, so any block of whole elements works. */
export function foldScaleBlock(block: Uint8Array, dtype: Dtype, factor: number): Uint8Array {
  if (!canFoldScale(dtype)) {
    throw new GacError("UNSUPPORTED", `cannot fold the attention scale into ${dtype} weights (quantized values carry their own scales); use --scale logical`);
  }
  const values = decodeToFloat64(block, dtype);
  for (let i = 0; i < values.length; i++) values[i] *= factor;
  return encodeFromFloat64(values, dtype);
}
