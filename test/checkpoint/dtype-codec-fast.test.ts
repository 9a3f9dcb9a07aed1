/**
 * The fast minifloat encoders (bit arithmetic on typed-array views) against the reference encoder
 * (Math.log2 and powers of two per element): bit-identical on every code of each format, on every
 * tie and near-tie between neighbouring codes, on BF16 from every float32 pattern class, and on a
 * large seeded random sample of float64 bit patterns (subnormals, overflow, NaN payloads, -0).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeTable, decodeToFloat64, encodeFromFloat64, encodeMinifloatInto, encodeMinifloatReference, type MinifloatDtype } from "../../src/checkpoint/dtype-codec.js";
import { mulberry32 } from "../../src/util/prng.js";

const FORMATS: readonly { dtype: MinifloatDtype; bits: 8 | 16; expBits: number; mantBits: number }[] = [
  { dtype: "BF16", bits: 16, expBits: 8, mantBits: 7 },
  { dtype: "F16", bits: 16, expBits: 5, mantBits: 10 },
  { dtype: "F8_E5M2", bits: 8, expBits: 5, mantBits: 2 },
  { dtype: "F8_E4M3", bits: 8, expBits: 4, mantBits: 3 },
];

const f64 = new Float64Array(1);
const w32 = new Uint32Array(f64.buffer);

/** The double with the given high and low words. */
function fromWords(hi: number, lo: number): number {
  w32[1] = hi >>> 0;
  w32[0] = lo >>> 0;
  return f64[0];
}

/** The next double above x (x finite). */
function nextUp(x: number): number {
  f64[0] = x;
  if (x === 0) return 2 ** -1074;
  const big = (BigInt(w32[1]) << 32n) | BigInt(w32[0]);
  const next = x > 0 ? big + 1n : big - 1n;
  return fromWords(Number(next >> 32n), Number(next & 0xffffffffn));
}

function nextDown(x: number): number {
  return -nextUp(-x);
}

/** Fast and reference encodings of `values` must agree bit for bit; reports the first difference. */
function assertIdentical(values: Float64Array, dtype: MinifloatDtype, what: string): void {
  const fast = dtype.startsWith("F8") ? new Uint8Array(values.length) : new Uint16Array(values.length);
  encodeMinifloatInto(values, dtype, fast);
  for (let i = 0; i < values.length; i++) {
    const ref = encodeMinifloatReference(values[i], dtype);
    if (fast[i] !== ref) {
      f64[0] = values[i];
      assert.fail(`${dtype} ${what}: ${values[i]} (0x${w32[1].toString(16)}_${w32[0].toString(16)}) encodes to 0x${fast[i].toString(16)}, the reference to 0x${ref.toString(16)}`);
    }
  }
}

for (const { dtype, bits } of FORMATS) {
  test(`${dtype}: the fast encoder equals the reference on every code, every tie between neighbours and the doubles either side of each`, () => {
    const table = decodeTable(dtype);
    const values: number[] = [];
    // Codes by magnitude, positive then negated: neighbours are consecutive codes of one sign.
    const half = 1 << (bits - 1);
    for (let c = 0; c < half; c++) {
      const v = table[c];
      values.push(v, -v);
      if (Number.isNaN(v)) continue;
      const w = table[c + 1];
      if (c + 1 < half && Number.isFinite(w) && Number.isFinite(v)) {
        const mid = (v + w) / 2; // exact: both have few mantissa bits
        for (const x of [mid, nextUp(mid), nextDown(mid), nextUp(v), nextDown(w)]) values.push(x, -x);
      } else if (Number.isFinite(v)) {
        // The largest finite code: where overflow starts (half a step above it) and the doubles around.
        const step = v - table[c - 1];
        const edge = v + step / 2;
        for (const x of [edge, nextUp(edge), nextDown(edge), v + step, 2 * v]) values.push(x, -x);
      }
    }
    values.push(0, -0, Infinity, -Infinity, NaN, 2 ** -1074, -(2 ** -1074), Number.MAX_VALUE, -Number.MAX_VALUE, 2 ** -1022);
    assertIdentical(Float64Array.from(values), dtype, "codes and ties");
  });

  test(`${dtype}: the fast encoder equals the reference on 600,000 random doubles (any exponent, near the format's range, ties, NaN payloads)`, () => {
    const next = mulberry32(0x5eed0000 + bits * 31 + dtype.length);
    const u32 = () => Math.floor(next() * 2 ** 32) >>> 0;
    const n = 600_000;
    const values = new Float64Array(n);
    const fmt = FORMATS.find((f) => f.dtype === dtype)!;
    const bias = (1 << (fmt.expBits - 1)) - 1;
    for (let i = 0; i < n; i++) {
      const sign = (u32() & 1) << 31;
      const kind = i % 6;
      if (kind === 0) {
        // any bit pattern: huge, tiny, float64 subnormals, inf and NaN with payloads
        values[i] = fromWords(u32(), u32());
      } else {
        // exponent around the format's normal and subnormal range, overflow included
        const e = -bias - fmt.mantBits - 3 + Math.floor(next() * (2 * bias + fmt.mantBits + 8));
        let hi = u32() & 0xfffff;
        let lo = u32();
        if (kind === 2) lo = 0; // ties and near-ties: low word clear...
        if (kind === 3) hi = (hi >>> (20 - fmt.mantBits - 1)) << (20 - fmt.mantBits - 1); // ...exact ties on the round bit
        if (kind === 4) hi |= (1 << (20 - fmt.mantBits)) - 1; // all ones below the kept bits: carries
        values[i] = fromWords(sign | (((e + 1023) & 0x7ff) << 20) | hi, lo);
      }
    }
    assertIdentical(values, dtype, "random sample");
  });
}

test("BF16: the fast encoder equals the reference on every float32 high half with the low halves that decide rounding", () => {
  const lows = [0x0000, 0x0001, 0x7fff, 0x8000, 0x8001, 0xfffe, 0xffff, 0x4000, 0xc000];
  const f32 = new Float32Array(65536 * lows.length);
  const u = new Uint32Array(f32.buffer);
  let k = 0;
  for (let hi = 0; hi < 65536; hi++) for (const lo of lows) u[k++] = ((hi << 16) | lo) >>> 0;
  assertIdentical(Float64Array.from(f32), "BF16", "float32 inputs");
});

test("encodeFromFloat64 uses the fast encoders: F16 and BF16 round-trip every non-NaN pattern and NaN is canonical", () => {
  for (const dtype of ["F16", "BF16"] as const) {
    const codes = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const decoded = decodeToFloat64(new Uint8Array(codes.buffer), dtype);
    const back = new Uint16Array(encodeFromFloat64(decoded, dtype).buffer);
    const nan = dtype === "F16" ? 0x7e00 : 0x7fc0;
    for (let c = 0; c < 65536; c++) assert.equal(back[c], Number.isNaN(decoded[c]) ? nan : c, `${dtype} code 0x${c.toString(16)}`);
  }
});
