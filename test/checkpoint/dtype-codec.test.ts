import { test } from "node:test";
import assert from "node:assert/strict";
import { getFloat16 } from "@petamoriken/float16";
import { decodeToFloat32, decodeToFloat64, encodeFromFloat64 } from "../../src/checkpoint/dtype-codec.js";
import type { Dtype } from "../../src/checkpoint/types.js";

const u16 = (bits: number[]) => new Uint8Array(new Uint16Array(bits).buffer);
const bits16 = (bytes: Uint8Array) => [...new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2)];

test("F16 encodes special values: ±0, ±inf, NaN, max, smallest subnormal, overflow to inf", () => {
  const enc = encodeFromFloat64([0, -0, Infinity, -Infinity, NaN, 65504, 2 ** -24, 65520, 65519, 2 ** -25, 2 ** -25 * 1.0001], "F16");
  assert.deepEqual(bits16(enc), [0x0000, 0x8000, 0x7c00, 0xfc00, 0x7e00, 0x7bff, 0x0001, 0x7c00, 0x7bff, 0x0000, 0x0001]);
});

test("F16 decode and encode agree with an independent implementation on every bit pattern", () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const bytes = new Uint8Array(all.buffer);
  const decoded = decodeToFloat64(bytes, "F16");
  const view = new DataView(all.buffer);
  for (let i = 0; i < 65536; i++) {
    const ref = getFloat16(view, i * 2, true);
    if (Number.isNaN(ref)) assert.ok(Number.isNaN(decoded[i]));
    else assert.ok(Object.is(decoded[i], ref), `pattern ${i.toString(16)}: ${decoded[i]} vs ${ref}`);
  }
  const finite = [...decoded].map((v, i) => [v, i] as const).filter(([v]) => !Number.isNaN(v));
  const reenc = bits16(
    encodeFromFloat64(
      finite.map(([v]) => v),
      "F16",
    ),
  );
  finite.forEach(([, i], k) => assert.equal(reenc[k], i));
});

test("F16 rounds ties to even", () => {
  // 1 + 2^-11 lies halfway between 1 (even mantissa) and 1 + 2^-10; 1 + 3*2^-11 between odd and even.
  assert.deepEqual(bits16(encodeFromFloat64([1 + 2 ** -11, 1 + 3 * 2 ** -11, 1 + 2 ** -11 + 2 ** -30], "F16")), [0x3c00, 0x3c02, 0x3c01]);
});

test("BF16 rounds once from float64, ties to even, without double rounding through F32", () => {
  const enc = encodeFromFloat64([1, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -40, -2, Infinity, NaN, -0, 3.5e38, 2 ** -133], "BF16");
  // 1+2^-8+2^-40 rounds to F32 1+2^-8 (a BF16 tie, which would go down to even); the true value is above the tie.
  assert.deepEqual(bits16(enc), [0x3f80, 0x3f80, 0x3f82, 0x3f81, 0xc000, 0x7f80, 0x7fc0, 0x8000, 0x7f80, 0x0001]);
});

test("BF16 round-trips every finite bit pattern", () => {
  const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
  const decoded = decodeToFloat64(new Uint8Array(all.buffer), "BF16");
  const finite = [...all].filter((i) => !Number.isNaN(decoded[i]));
  const reenc = bits16(
    encodeFromFloat64(
      finite.map((i) => decoded[i]),
      "BF16",
    ),
  );
  finite.forEach((i, k) => assert.equal(reenc[k], i, `pattern ${i.toString(16)}`));
  assert.equal(decoded[0x3f80], 1);
  assert.ok(Object.is(decoded[0x8000], -0));
});

test("F8_E4M3 decodes its table: max 448, smallest subnormal 2^-9, NaN at 0x7f, no inf", () => {
  const d = decodeToFloat64(Uint8Array.from([0x7e, 0x01, 0x7f, 0xff, 0x38, 0x80, 0xfe]), "F8_E4M3");
  assert.deepEqual([d[0], d[1], d[4], d[6]], [448, 2 ** -9, 1, -448]);
  assert.ok(Number.isNaN(d[2]) && Number.isNaN(d[3]));
  assert.ok(Object.is(d[5], -0));
});

test("F8_E5M2 decodes its table: max 57344, inf at 0x7c, smallest subnormal 2^-16", () => {
  const d = decodeToFloat64(Uint8Array.from([0x7b, 0x7c, 0xfc, 0x01, 0x3c, 0x7d]), "F8_E5M2");
  assert.deepEqual([...d.slice(0, 5)], [57344, Infinity, -Infinity, 2 ** -16, 1]);
  assert.ok(Number.isNaN(d[5]));
});

test("F8 encoders round-trip every non-NaN code and send out-of-range values to NaN (E4M3) or inf (E5M2)", () => {
  for (const dtype of ["F8_E4M3", "F8_E5M2"] as const) {
    const codes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const decoded = decodeToFloat64(codes, dtype);
    const keep = [...codes].filter((c) => !Number.isNaN(decoded[c]));
    const reenc = encodeFromFloat64(
      keep.map((c) => decoded[c]),
      dtype,
    );
    keep.forEach((c, k) => assert.equal(reenc[k], c, `${dtype} code ${c}`));
  }
  assert.deepEqual([...encodeFromFloat64([464, 465, 1e6], "F8_E4M3")], [0x7e, 0x7f, 0x7f]);
  assert.deepEqual([...encodeFromFloat64([1e6, -1e6], "F8_E5M2")], [0x7c, 0xfc]);
});

test("F32 and F64 round-trip values including subnormals, -0 and inf; F32 rounds a double once", () => {
  const values = [0, -0, 1.5, -2.25, Infinity, -Infinity, 2 ** -149, 2 ** -1074, 0.1];
  const f64 = decodeToFloat64(encodeFromFloat64(values, "F64"), "F64");
  values.forEach((v, i) => assert.ok(Object.is(f64[i], v)));
  const f32 = decodeToFloat64(encodeFromFloat64(values, "F32"), "F32");
  assert.deepEqual(
    [...f32],
    values.map((v) => Math.fround(v)),
  );
  assert.ok(Object.is(f32[1], -0));
  assert.ok(Number.isNaN(decodeToFloat64(encodeFromFloat64([NaN], "F32"), "F32")[0]));
});

test("integer dtypes round-trip their extremes and refuse values they cannot hold", () => {
  const cases: [Dtype, number[]][] = [
    ["I8", [-128, 127, 0]],
    ["U8", [0, 255]],
    ["I16", [-32768, 32767]],
    ["I32", [-(2 ** 31), 2 ** 31 - 1]],
    ["I64", [-(2 ** 53), 2 ** 53, -(2 ** 63)]],
  ];
  for (const [dtype, values] of cases) assert.deepEqual([...decodeToFloat64(encodeFromFloat64(values, dtype), dtype)], values, dtype);
  assert.throws(() => encodeFromFloat64([128], "I8"), RangeError);
  assert.throws(() => encodeFromFloat64([1.5], "I32"), RangeError);
  assert.throws(() => encodeFromFloat64([2 ** 63], "I64"), RangeError);
  assert.deepEqual([...encodeFromFloat64([0, 2, -1], "BOOL")], [0, 1, 1]);
});

test("decodeToFloat32 gives the same numbers as decodeToFloat64 for 16-bit data and refuses a partial element", () => {
  const bytes = u16([0x3c00, 0xc000, 0x0001, 0x7c00]);
  assert.deepEqual([...decodeToFloat32(bytes, "F16")], [1, -2, 2 ** -24, Infinity]);
  assert.throws(() => decodeToFloat64(new Uint8Array(3), "F16"), RangeError);
});

test("decoding reads little-endian data from an unaligned view", () => {
  const buf = new Uint8Array(9);
  buf.set(encodeFromFloat64([1.5, -3], "F32"), 1);
  assert.deepEqual([...decodeToFloat64(buf.subarray(1), "F32")], [1.5, -3]);
});
