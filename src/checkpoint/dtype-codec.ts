/**
 * Little-endian element codecs for every safetensors dtype gac reads. Decoding is exact (every
 * dtype here fits in a float64, except I64 beyond 2^53, which rounds). Encoding floats rounds once,
 * directly from the float64 value, to nearest with ties to even (no double rounding through f32).
 *
 * The minifloats (F16, BF16, F8_E5M2, F8_E4M3) share one description (`MINIFLOATS`) used by both
 * directions; the 8-bit ones decode through 256-entry tables and F16 through a 65,536-entry table.
 *
 * Two minifloat encoders: `encodeMinifloatReference`, the plain arithmetic one (Math.log2 and powers
 * of two per element), kept as the definition, and the fast one every caller gets, integer
 * arithmetic on the float64's bit pattern (its exponent field and top mantissa bits, the rest as
 * sticky bits) over typed-array views. test/checkpoint/dtype-codec-fast.test.ts proves them
 * bit-identical on every 16-bit value, every tie between neighbours and a large random sample.
 */
import { endianness } from "node:os";
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

/** The reference encoder: one float64 to the minifloat's bits, round to nearest, ties to even. */
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

/** The reference encoder by dtype name (for the bit-identity tests and as the fallback off little-endian hosts). */
export function encodeMinifloatReference(x: number, dtype: MinifloatDtype): number {
  return encodeMinifloat(x, MINIFLOATS[dtype]);
}

export type { MinifloatDtype };

/** Typed-array views alias the float64's words low word first only on a little-endian host (all of Node's targets but s390x). */
const LITTLE_ENDIAN = endianness() === "LE";

/** 2^52: adding and subtracting it rounds a non-negative double below 2^52 to an integer, ties to even (IEEE round-to-nearest). */
const ROUND_TO_INTEGER = 2 ** 52;

/** A minifloat's constants for the fast encoder, computed once from its description. */
interface FastConstants {
  signShift: number;
  bias: number;
  mantBits: number;
  minNormalExp: number;
  maxExp: number;
  maxFinite: number;
  nanBits: number;
  overflowBits: number;
  /** Mantissa bits of the float64's high word below the kept ones, their mask and its half. */
  shift: number;
  remMask: number;
  half: number;
  subnormalScale: number;
}

function fastConstants(f: Minifloat): FastConstants {
  const expMax = (1 << f.expBits) - 1;
  const bias = (1 << (f.expBits - 1)) - 1;
  const maxExp = f.ieee ? expMax - 1 - bias : expMax - bias;
  const maxMant = f.ieee ? (1 << f.mantBits) - 1 : (1 << f.mantBits) - 2;
  const nanBits = f.ieee ? (expMax << f.mantBits) | (1 << (f.mantBits - 1)) : (expMax << f.mantBits) | ((1 << f.mantBits) - 1);
  const shift = 20 - f.mantBits;
  return {
    signShift: f.expBits + f.mantBits,
    bias,
    mantBits: f.mantBits,
    minNormalExp: 1 - bias,
    maxExp,
    maxFinite: ((maxExp + bias) << f.mantBits) | maxMant,
    nanBits,
    overflowBits: f.ieee ? expMax << f.mantBits : nanBits,
    shift,
    remMask: (1 << shift) - 1,
    half: 1 << (shift - 1),
    subnormalScale: 2 ** (f.mantBits - (1 - bias)),
  };
}

/**
 * The fast encoder: for each float64 read its high word (sign, 11 exponent bits, 20 mantissa bits)
 * and low word (32 mantissa bits). A normal result keeps the top `mantBits` mantissa bits and
 * rounds on the rest (the rounding carry runs into the exponent by itself, and past the largest
 * finite pattern it is overflow); a subnormal result is the value times 2^(mantBits - minNormalExp),
 * exact, rounded to an integer by the 2^52 trick. One monomorphic loop (Uint16Array out) for every
 * format, its constants in locals.
 */
function encodeFast(values: Float64Array, out: Uint16Array, c: FastConstants): void {
  const { signShift, bias, mantBits, minNormalExp, maxExp, maxFinite, nanBits, overflowBits, shift, remMask, half, subnormalScale } = c;
  const n = values.length;
  const words = new Uint32Array(values.buffer, values.byteOffset, 2 * n);
  for (let i = 0; i < n; i++) {
    const hi = words[2 * i + 1];
    const lo = words[2 * i];
    const sign = (hi >>> 31) << signShift;
    const e = ((hi >>> 20) & 0x7ff) - 1023;
    if (e > maxExp) {
      // overflow, inf, or NaN (exponent field all ones with a non-zero mantissa)
      out[i] = e === 1024 && ((hi & 0xfffff) !== 0 || lo !== 0) ? nanBits : sign | overflowBits;
    } else if (e >= minNormalExp) {
      const m = hi & 0xfffff;
      const rem = m & remMask;
      let bits = ((e + bias) << mantBits) + (m >>> shift);
      if (rem > half || (rem === half && (lo !== 0 || (bits & 1) !== 0))) bits++;
      out[i] = bits > maxFinite ? sign | overflowBits : sign | bits;
    } else {
      const v = Math.abs(values[i]) * subnormalScale;
      out[i] = sign | (v + ROUND_TO_INTEGER - ROUND_TO_INTEGER);
    }
  }
}

const FAST_CONSTANTS: Record<MinifloatDtype, FastConstants> = {
  F16: fastConstants(MINIFLOATS.F16),
  BF16: fastConstants(MINIFLOATS.BF16),
  F8_E5M2: fastConstants(MINIFLOATS.F8_E5M2),
  F8_E4M3: fastConstants(MINIFLOATS.F8_E4M3),
};

/**
 * Encodes float64 values as minifloat bits into `out` (same length): a Uint16Array for F16/BF16, a
 * Uint8Array for the F8 formats. Bit-identical to encodeMinifloatReference on every input.
 */
export function encodeMinifloatInto(values: Float64Array, dtype: MinifloatDtype, out: Uint16Array | Uint8Array): void {
  if (out.length !== values.length) throw new RangeError(`output has ${out.length} slots for ${values.length} ${dtype} values`);
  if (LITTLE_ENDIAN) {
    if (out instanceof Uint16Array) encodeFast(values, out, FAST_CONSTANTS[dtype]);
    else {
      const wide = new Uint16Array(values.length);
      encodeFast(values, wide, FAST_CONSTANTS[dtype]);
      out.set(wide);
    }
    return;
  }
  const f = MINIFLOATS[dtype];
  for (let i = 0; i < values.length; i++) out[i] = encodeMinifloat(values[i], f);
}

const tableCache = new Map<MinifloatDtype, Float64Array>();
/** Every code's float64 value, built once per dtype from decodeMinifloat. */
export function decodeTable(dtype: MinifloatDtype): Float64Array {
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
      if (LITTLE_ENDIAN && bytes.byteOffset % 4 === 0) out.set(new Float32Array(bytes.buffer, bytes.byteOffset, n));
      else for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
      return;
    case "F16":
    case "BF16": {
      const table = decodeTable(dtype);
      if (LITTLE_ENDIAN && bytes.byteOffset % 2 === 0) {
        const words = new Uint16Array(bytes.buffer, bytes.byteOffset, n);
        for (let i = 0; i < n; i++) out[i] = table[words[i]];
      } else for (let i = 0; i < n; i++) out[i] = table[view.getUint16(i * 2, true)];
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
function asFloat64Array(values: ArrayLike<number>): Float64Array {
  return values instanceof Float64Array ? values : Float64Array.from(values);
}

export function encodeFromFloat64(values: ArrayLike<number>, dtype: Dtype): Uint8Array {
  const n = values.length;
  const bytes = new Uint8Array(n * DTYPES[dtype].bytes);
  const view = new DataView(bytes.buffer);
  switch (dtype) {
    case "F64":
      for (let i = 0; i < n; i++) view.setFloat64(i * 8, values[i], true);
      break;
    case "F32":
      // A Float32Array store rounds like setFloat32 (ToFloat32: to nearest, ties to even).
      if (LITTLE_ENDIAN) new Float32Array(bytes.buffer).set(values);
      else for (let i = 0; i < n; i++) view.setFloat32(i * 4, values[i], true);
      break;
    case "F16":
    case "BF16": {
      const words = new Uint16Array(n);
      encodeMinifloatInto(asFloat64Array(values), dtype, words);
      if (LITTLE_ENDIAN) return new Uint8Array(words.buffer);
      for (let i = 0; i < n; i++) view.setUint16(i * 2, words[i], true);
      break;
    }
    case "F8_E4M3":
    case "F8_E5M2":
      encodeMinifloatInto(asFloat64Array(values), dtype, bytes);
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
