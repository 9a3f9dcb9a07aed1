import { test } from "node:test";
import assert from "node:assert/strict";
import { foldScaleBlock, attentionScaleFold } from "../../src/repair/rules/fold-scale.js";
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
