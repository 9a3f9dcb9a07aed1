/**
 * The 4-bit and 8-bit formats of block-scaled quantization, exact:
 *
 *   E2M1 (FP4)  1 sign, 2 exponent (bias 1), 1 mantissa bit; no inf/NaN; subnormal at exponent 0.
 *               The 8 magnitudes: 0, 0.5, 1, 1.5, 2, 3, 4, 6 (OCP Microscaling Formats v1.0 §5.3.3).
 *   E8M0        an exponent only: 2^(e - 127) for e in 0..254; 255 is NaN (OCP MX v1.0 §5.4.1);
 *               the per-32 scale of MXFP4.
 *   E4M3 (FN)   1 sign, 4 exponent (bias 7), 3 mantissa bits; no inf; S.1111.111 is NaN; max 448
 *               (OCP 8-bit FP v1.0, the "fn" variant PyTorch calls float8_e4m3fn); NVFP4's
 *               per-16 scale.
 * Encoding rounds to nearest, ties to even (what PyTorch's casts and CUTLASS's converters do);
 * values beyond the largest finite magnitude saturate (E2M1 to 6, E4M3 to 448), as quantizers
 * clamp before casting. Packing: two E2M1 codes per byte, element 2i in the low nibble and 2i+1
 * in the high nibble (compressed-tensors' pack_fp4_to_uint8, NVIDIA modelopt).
 */

/** The 16 E2M1 codes' values, by code (bit 3 is the sign). */
export const E2M1_VALUES: readonly number[] = [0, 0.5, 1, 1.5, 2, 3, 4, 6, -0, -0.5, -1, -1.5, -2, -3, -4, -6];

export function decodeE2M1(code: number): number {
  return E2M1_VALUES[code & 0xf];
}

/**
 * Round-to-nearest-even onto a sorted grid of non-negative magnitudes, where the grid's codes are
 * their indices and "even" means an even code (an even last mantissa bit).
 */
function nearestEven(magnitude: number, grid: readonly number[]): number {
  if (magnitude >= grid[grid.length - 1]) return grid.length - 1;
  let hi = 1;
  while (grid[hi] < magnitude) hi++;
  const lo = hi - 1;
  const dLo = magnitude - grid[lo];
  const dHi = grid[hi] - magnitude;
  if (dLo < dHi) return lo;
  if (dHi < dLo) return hi;
  return lo % 2 === 0 ? lo : hi;
}

const E2M1_GRID = E2M1_VALUES.slice(0, 8);

/** x (a finite number) as an E2M1 code; NaN has no E2M1 code and is refused. */
export function encodeE2M1(x: number): number {
  if (Number.isNaN(x)) throw new RangeError("E2M1 has no NaN: the value to quantize is NaN");
  const sign = x < 0 || Object.is(x, -0) ? 8 : 0;
  return sign | nearestEven(Math.abs(x), E2M1_GRID);
}

export function decodeE8M0(code: number): number {
  const e = code & 0xff;
  return e === 255 ? Number.NaN : 2 ** (e - 127);
}

/** A power of two 2^k (k in -127..127) as E8M0; anything else is not representable. */
export function encodeE8M0(x: number): number {
  if (Number.isNaN(x)) return 255;
  if (!(x > 0)) throw new RangeError(`E8M0 holds positive powers of two only; got ${x}`);
  const k = Math.log2(x);
  if (!Number.isInteger(k) || k < -127 || k > 127) throw new RangeError(`E8M0 holds 2^-127 .. 2^127; ${x} is not among them`);
  return k + 127;
}

export function decodeE4M3(code: number): number {
  const c = code & 0xff;
  const sign = c & 0x80 ? -1 : 1;
  const exp = (c >> 3) & 0xf;
  const man = c & 0x7;
  if (exp === 0xf && man === 0x7) return Number.NaN;
  if (exp === 0) return sign * man * 2 ** -9; // subnormal: man/8 * 2^(1-7)
  return sign * (1 + man / 8) * 2 ** (exp - 7);
}

/** Every non-negative E4M3 magnitude, by code 0..126 (127 is NaN). */
const E4M3_GRID: readonly number[] = Array.from({ length: 127 }, (_, c) => decodeE4M3(c));

export function encodeE4M3(x: number): number {
  if (Number.isNaN(x)) return 0x7f;
  const sign = x < 0 || Object.is(x, -0) ? 0x80 : 0;
  return sign | nearestEven(Math.abs(x), E4M3_GRID);
}

/** Two E2M1 codes per byte: element 2i low nibble, 2i+1 high nibble. An odd count is refused. */
export function packE2M1(codes: ArrayLike<number>): Uint8Array {
  if (codes.length % 2 !== 0) throw new RangeError(`E2M1 packs two values per byte; ${codes.length} values is odd (the row needs padding to an even length)`);
  const out = new Uint8Array(codes.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = (codes[2 * i] & 0xf) | ((codes[2 * i + 1] & 0xf) << 4);
  return out;
}

export function unpackE2M1(bytes: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(bytes.length * 2);
  for (let i = 0; i < bytes.length; i++) {
    out[2 * i] = bytes[i] & 0xf;
    out[2 * i + 1] = (bytes[i] >> 4) & 0xf;
  }
  return out;
}
