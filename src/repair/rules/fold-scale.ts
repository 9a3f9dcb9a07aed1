/**
 * Folding the softmax-scale correction into q: stock HF loaders take the scale from config.head_dim,
 * so after padding d -> D they use D^-0.5; multiplying q's weight and bias by sqrt(D/d) gives back
 * q.k / sqrt(d). The only rule that does arithmetic: each element is decoded to float64, multiplied
 * (one float64 rounding) and encoded again (one rounding to the dtype, to nearest even), so in
 * 16-bit formats it rounds (measured by verify/, never claimed bit-exact).
 *
 * Speed: a 16-bit element has only 65,536 codes and the factor is fixed, so the fold of F16/BF16 is
 * a code -> code table (built once per dtype and factor from the same decode, multiply and encode);
 * F32 and F64 multiply on typed-array views. Same bytes as decoding, multiplying and encoding each
 * element, at memory speed.
 */
import { GacError } from "../../errors.js";
import { decodeTable, decodeToFloat64, encodeFromFloat64, encodeMinifloatInto } from "../../checkpoint/dtype-codec.js";
import { DTYPES, type Dtype } from "../../checkpoint/types.js";

/** The factor that makes D^-0.5 * (s q).k equal d^-0.5 * q.k. */
export function attentionScaleFold(d: number, D: number): number {
  return Math.sqrt(D / d);
}

/** Formats in which a multiplied weight is still the same kind of number (ints and FP8 carry external scales). */
export function canFoldScale(dtype: Dtype): boolean {
  return dtype === "F64" || dtype === "F32" || dtype === "F16" || dtype === "BF16";
}

const foldTables = new Map<string, Uint16Array>();

/** code -> encode(decode(code) * factor) for every 16-bit code (one model has one or two factors). */
export function foldTable(dtype: "F16" | "BF16", factor: number): Uint16Array {
  const key = `${dtype} ${factor}`;
  let table = foldTables.get(key);
  if (!table) {
    const values = decodeTable(dtype).map((v) => v * factor);
    table = new Uint16Array(values.length);
    encodeMinifloatInto(values, dtype, table);
    foldTables.set(key, table);
  }
  return table;
}

/** Little-endian typed views need aligned offsets; pooled and fresh buffers are, odd views fall back to a copy. */
function aligned(bytes: Uint8Array, elemBytes: number): Uint8Array {
  return bytes.byteOffset % elemBytes === 0 ? bytes : bytes.slice();
}

function refuse(dtype: Dtype): never {
  throw new GacError("UNSUPPORTED", `cannot fold the attention scale into ${dtype} weights (quantized values carry their own scales); use --scale logical`);
}

/**
 * Multiplies every element of `block` (whole `dtype` elements) by `factor` into the front of `out`
 * (at least block.length bytes, not overlapping `block`) and returns that part.
 */
export function foldScaleInto(block: Uint8Array, dtype: Dtype, factor: number, out: Uint8Array): Uint8Array {
  if (!canFoldScale(dtype)) refuse(dtype);
  const elemBytes = DTYPES[dtype].bytes;
  if (block.length % elemBytes !== 0) throw new RangeError(`${block.length} bytes is not a whole number of ${dtype} elements`);
  if (out.length < block.length) throw new RangeError(`foldScaleInto: ${block.length} bytes do not fit in ${out.length}`);
  const n = block.length / elemBytes;
  const src = aligned(block, elemBytes);
  const dst = out.byteOffset % elemBytes === 0 ? out.subarray(0, block.length) : undefined;
  if (dst === undefined) {
    out.set(foldScaleBlock(block, dtype, factor));
    return out.subarray(0, block.length);
  }
  if (dtype === "F16" || dtype === "BF16") {
    const table = foldTable(dtype, factor);
    const a = new Uint16Array(src.buffer, src.byteOffset, n);
    const b = new Uint16Array(dst.buffer, dst.byteOffset, n);
    for (let i = 0; i < n; i++) b[i] = table[a[i]];
  } else if (dtype === "F32") {
    // The float32 widens exactly, the product rounds once as a double, the store once to float32 (to nearest even).
    const a = new Float32Array(src.buffer, src.byteOffset, n);
    const b = new Float32Array(dst.buffer, dst.byteOffset, n);
    for (let i = 0; i < n; i++) b[i] = a[i] * factor;
  } else {
    const a = new Float64Array(src.buffer, src.byteOffset, n);
    const b = new Float64Array(dst.buffer, dst.byteOffset, n);
    for (let i = 0; i < n; i++) b[i] = a[i] * factor;
  }
  return dst;
}

/**
 * The reference fold: decode every element of a block to float64, multiply, encode. Elementwise, so
 * any block of whole elements works. foldScaleInto gives the same bytes.
 */
export function foldScaleBlock(block: Uint8Array, dtype: Dtype, factor: number): Uint8Array {
  if (!canFoldScale(dtype)) refuse(dtype);
  const values = decodeToFloat64(block, dtype);
  for (let i = 0; i < values.length; i++) values[i] *= factor;
  return encodeFromFloat64(values, dtype);
}
