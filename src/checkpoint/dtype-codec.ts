/**
 * Little-endian element codecs for every safetensors dtype gac reads. Decoding is exact (every
 * dtype here fits in a float64, except I64 beyond 2^53, which rounds). Encoding floats rounds once,
 * directly from the float64 value, to nearest with ties to even (no double rounding through f32).
 *
 * The minifloats (F16, BF16, F8_E5M2, F8_E4M3) share one description (`MINIFLOATS`) used by both
 * directions; the 8-bit ones decode through 256-entry tables and F16 through a 65,536-entry table.
 */
import { DTYPES, type Dtype } from "./types.js";

interface Minifloat {
  expBits: number;
  mantBits: number;
  /** IEEE-style: all-ones exponent is inf/NaN. False for F8_E4M3 (the "fn" variant: no inf, NaN = S.1111.111). */
  ieee: boolean;
}

const MINIFLOATS = {
  F16: { expBits: 5, mantBits: 10, ieee: true },
  BF16: { expBits: 8, mantBits: 7, ieee: true },
  F8_E5M2: { expBits: 5, mantBits: 2, ieee: true },
  F8_E4M3: { expBits: 4, mantBits: 3, ieee: false },
} as const satisfies Record<string, Minifloat>;

type MinifloatDtype = keyof typeof MINIFLOATS;

function decodeMinifloat(bits: number, f: Minifloat): number {
  const sign = (bits >> (f.expBits + f.mantBits)) & 1 ? -1 : 1;
  const expMax = (1 << f.expBits) - 1;
  const exp = (bits >> f.mantBits) & expMax;
  const mant = bits & ((1 << f.mantBits) - 1);
  const bias = (1 << (f.expBits - 1)) - 1;
  if (f.ieee && exp === expMax) return mant === 0 ? sign * Infinity : NaN;
  if (!f.ieee && exp === expMax && mant === (1 << f.mantBits) - 1) return NaN;
  if (exp === 0) return sign * mant * 2 ** (1 - bias - f.mantBits);
  return sign * (1 + mant / 2 ** f.mantBits) * 2 ** (exp - bias);
}

/** Round half to even of a value whose fractional part is exact (it is: inputs are scaled by powers of 2). */
function roundHalfEven(v: number): number {
  const fl = Math.floor(v);
  const d = v - fl;
  if (d > 0.5) return fl + 1;
  if (d < 0.5) return fl;
  return fl % 2 === 0 ? fl : fl + 1;
}

function encodeMinifloat(x: number, f: Minifloat): number {
  const signBit = 1 << (f.expBits + f.mantBits);
  const expMax = (1 << f.expBits) - 1;
  const nanBits = f.ieee ? (expMax << f.mantBits) | (1 << (f.mantBits - 1)) : (expMax << f.mantBits) | ((1 << f.mantBits) - 1);
  if (Number.isNaN(x)) return nanBits;
  const sign = x < 0 || Object.is(x, -0) ? signBit : 0;
  const a = Math.abs(x);
  const bias = (1 << (f.expBits - 1)) - 1;
  const minNormalExp = 1 - bias;
  // Largest finite: IEEE formats stop below the all-ones exponent; E4M3fn uses it except the NaN mantissa.
  const maxExp = f.ieee ? expMax - 1 - bias : expMax - bias;
  const maxMant = f.ieee ? (1 << f.mantBits) - 1 : (1 << f.mantBits) - 2;
  const overflow = f.ieee ? sign | (expMax << f.mantBits) : sign | nanBits;
  if (a === Infinity) return overflow;
  if (a < 2 ** minNormalExp) {
    // Subnormal (may round up into the smallest normal, which the bit pattern handles by itself).
    return sign | roundHalfEven(a * 2 ** (f.mantBits - minNormalExp));
  }
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  let mant = roundHalfEven((a / 2 ** e - 1) * 2 ** f.mantBits);
  if (mant === 1 << f.mantBits) {
    mant = 0;
    e++;
  }
  if (e > maxExp || (e === maxExp && mant > maxMant)) return overflow;
  return sign | ((e + bias) << f.mantBits) | mant;
}

const tableCache = new Map<MinifloatDtype, Float64Array>();
function decodeTable(dtype: MinifloatDtype): Float64Array {
  let t = tableCache.get(dtype);
  if (!t) {
    const f = MINIFLOATS[dtype];
    t = new Float64Array(1 << (1 + f.expBits + f.mantBits));
    for (let i = 0; i < t.length; i++) t[i] = decodeMinifloat(i, f);
    tableCache.set(dtype, t);
  }
  return t;
}

function checkLength(bytes: Uint8Array, dtype: Dtype): number {
  const size = DTYPES[dtype].bytes;
  if (bytes.byteLength % size !== 0) throw new RangeError(`${bytes.byteLength} bytes is not a whole number of ${dtype} elements (${size} bytes each)`);
  return bytes.byteLength / size;
}

/** Decodes into `out` (its length must equal the element count). One routine serves both float widths. */
export function decodeInto(bytes: Uint8Array, dtype: Dtype, out: Float64Array | Float32Array): void {
  const n = checkLength(bytes, dtype);
  if (out.length !== n) throw new RangeError(`output has ${out.length} slots for ${n} ${dtype} elements`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case "F64":
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
      return;
    case "F32":
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
      return;
    case "F16":
    case "BF16": {
      const table = decodeTable(dtype);
      for (let i = 0; i < n; i++) out[i] = table[view.getUint16(i * 2, true)];
      return;
    }
    case "F8_E4M3":
    case "F8_E5M2": {
      const table = decodeTable(dtype);
      for (let i = 0; i < n; i++) out[i] = table[bytes[i]];
      return;
    }
    case "I64":
      for (let i = 0; i < n; i++) out[i] = Number(view.getBigInt64(i * 8, true));
      return;
    case "I32":
      for (let i = 0; i < n; i++) out[i] = view.getInt32(i * 4, true);
      return;
    case "I16":
      for (let i = 0; i < n; i++) out[i] = view.getInt16(i * 2, true);
      return;
    case "I8":
      for (let i = 0; i < n; i++) out[i] = view.getInt8(i);
      return;
    case "U8":
    case "BOOL":
      for (let i = 0; i < n; i++) out[i] = bytes[i];
      return;
  }
}

export function decodeToFloat64(bytes: Uint8Array, dtype: Dtype): Float64Array {
  const out = new Float64Array((bytes.byteLength / DTYPES[dtype].bytes) | 0);
  decodeInto(bytes, dtype, out);
  return out;
}

/** Float32 decode (halves memory for the CPU reference forward; F64 and large I64/I32 round). */
export function decodeToFloat32(bytes: Uint8Array, dtype: Dtype): Float32Array {
  const out = new Float32Array((bytes.byteLength / DTYPES[dtype].bytes) | 0);
  decodeInto(bytes, dtype, out);
  return out;
}

const INT_RANGES = {
  // 2^63 - 1 is not a double; the largest double below 2^63 is 2^63 - 1024.
  I64: [-(2 ** 63), 2 ** 63 - 1024],
  I32: [-(2 ** 31), 2 ** 31 - 1],
  I16: [-(2 ** 15), 2 ** 15 - 1],
  I8: [-128, 127],
  U8: [0, 255],
} as const;

function checkInt(v: number, dtype: keyof typeof INT_RANGES, i: number): number {
  const [lo, hi] = INT_RANGES[dtype];
  if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`value ${v} at index ${i} is not representable as ${dtype}`);
  return v;
}

/**
 * Encodes numbers as `dtype` bytes. Floats round to nearest, ties to even (F8_E4M3 has no inf:
 * out-of-range values become NaN, as torch's non-saturating cast does). Integer dtypes refuse
 * non-integers and out-of-range values (RangeError: a caller bug, not an input problem); BOOL
 * stores 1 for any non-zero value.
 */
export function encodeFromFloat64(values: ArrayLike<number>, dtype: Dtype): Uint8Array {
  const n = values.length;
  const bytes = new Uint8Array(n * DTYPES[dtype].bytes);
  const view = new DataView(bytes.buffer);
  switch (dtype) {
    case "F64":
      for (let i = 0; i < n; i++) view.setFloat64(i * 8, values[i], true);
      break;
    case "F32":
      for (let i = 0; i < n; i++) view.setFloat32(i * 4, values[i], true);
      break;
    case "F16":
    case "BF16":
      for (let i = 0; i < n; i++) view.setUint16(i * 2, encodeMinifloat(values[i], MINIFLOATS[dtype]), true);
      break;
    case "F8_E4M3":
    case "F8_E5M2":
      for (let i = 0; i < n; i++) bytes[i] = encodeMinifloat(values[i], MINIFLOATS[dtype]);
      break;
    case "I64":
      for (let i = 0; i < n; i++) view.setBigInt64(i * 8, BigInt(checkInt(values[i], dtype, i)), true);
      break;
    case "I32":
      for (let i = 0; i < n; i++) view.setInt32(i * 4, checkInt(values[i], dtype, i), true);
      break;
    case "I16":
      for (let i = 0; i < n; i++) view.setInt16(i * 2, checkInt(values[i], dtype, i), true);
      break;
    case "I8":
      for (let i = 0; i < n; i++) view.setInt8(i, checkInt(values[i], dtype, i));
      break;
    case "U8":
      for (let i = 0; i < n; i++) bytes[i] = checkInt(values[i], dtype, i);
      break;
    case "BOOL":
      for (let i = 0; i < n; i++) bytes[i] = values[i] !== 0 ? 1 : 0;
      break;
  }
  return bytes;
}
