import { test } from "node:test";
import assert from "node:assert/strict";
import { foldScaleBlock, foldScaleInto, attentionScaleFold } from "../../src/repair/rules/fold-scale.js";
import { mulberry32 } from "../../src/util/prng.js";
import { GacError } from "../../src/errors.js";

test("the folded factor makes D^-0.5 times the scaled q.k equal d^-0.5 q.k", () => {
  const s = attentionScaleFold(100, 104);
  assert.ok(Math.abs(104 ** -0.5 * s - 100 ** -0.5) < 1e-15);
});

test("folding multiplies F32 values exactly when the product is representable", () => {
  const bytes = new Uint8Array(new Float32Array([1.5, -2, 0]).buffer);
  const out = new Float32Array(foldScaleBlock(bytes, "F32", 2).slice().buffer);
  assert.deepEqual([...out], [3, -4, 0]);
});

test("folding BF16 rounds to the nearest BF16 and keeps zero bytes zero", () => {
  // BF16 1.0 = 0x3F80, times 1.5 = 1.5 = 0x3FC0; 0 stays 0x0000
  const out = foldScaleBlock(Uint8Array.from([0x80, 0x3f, 0x00, 0x00]), "BF16", 1.5);
  assert.deepEqual([...out], [0xc0, 0x3f, 0x00, 0x00]);
});

test("folding into integer weights is refused", () => {
  assert.throws(
    () => foldScaleBlock(new Uint8Array(4), "I8", 2),
    (e: unknown) => e instanceof GacError && e.code === "UNSUPPORTED",
  );
});

test("the table fold of F16 and BF16 gives the reference fold's bytes for every 16-bit code", () => {
  const codes = new Uint8Array(Uint16Array.from({ length: 65536 }, (_, i) => i).buffer);
  for (const dtype of ["F16", "BF16"] as const) {
    for (const factor of [Math.sqrt(56 / 52), Math.sqrt(112 / 106), 1.5, 0.75]) {
      const out = new Uint8Array(codes.length);
      assert.deepEqual(foldScaleInto(codes, dtype, factor, out), foldScaleBlock(codes, dtype, factor), `${dtype} x${factor}`);
    }
  }
});

test("the typed-array fold of F32 and F64 gives the reference fold's bytes, NaN payloads, infinities and subnormals included", () => {
  const next = mulberry32(99);
  const words = Uint32Array.from({ length: 200_000 }, (_, i) =>
    i < 16
      ? [0x7fc00001, 0xffc12345, 0x7f800000, 0xff800000, 0x00000001, 0x80000001, 0x007fffff, 0x7f7fffff, 0, 0x80000000, 0x7f800001, 0x3f800000, 0x00800000, 0x7f000000, 0x1, 0x2][i]
      : Math.floor(next() * 2 ** 32),
  );
  const bytes = new Uint8Array(words.buffer);
  for (const dtype of ["F32", "F64"] as const) {
    for (const factor of [Math.sqrt(56 / 52), 1.5, 2 ** 100]) {
      const out = new Uint8Array(bytes.length);
      assert.deepEqual(foldScaleInto(bytes, dtype, factor, out), foldScaleBlock(bytes, dtype, factor), `${dtype} x${factor}`);
    }
  }
});

test("a fold into a view at an odd offset gives the same bytes", () => {
  const src = new Uint8Array(41);
  src.set([0x80, 0x3f, 0x00, 0x40, 0x12, 0x34], 1);
  const out = new Uint8Array(40);
  const got = foldScaleInto(src.subarray(1, 7), "BF16", 1.5, out.subarray(3));
  assert.deepEqual(got, foldScaleBlock(src.subarray(1, 7), "BF16", 1.5));
});
