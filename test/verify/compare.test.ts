import { test } from "node:test";
import assert from "node:assert/strict";
import { combineDiffStats, diffStats } from "../../src/verify/compare.js";

test("relative difference is max |a-b| over max |a| of the original, and argmax agreement is counted per row", () => {
  const a = new Float64Array([1, -4, 2, 0, 3, 1]);
  const b = new Float64Array([1, -4, 2.5, 3.5, 3, 1]);
  const s = diffStats(a, b, 2);
  assert.equal(s.maxAbsDiff, 3.5);
  assert.equal(s.maxAbsOriginal, 4);
  assert.equal(s.maxRelDiff, 3.5 / 4);
  assert.equal(s.meanAbsDiff, 4 / 6);
  assert.equal(s.argmaxAgree, 1, "row 0 agrees (index 2), row 1 does not (1 vs 0)");
});

test("a NaN difference shows as NaN instead of disappearing", () => {
  const s = diffStats(new Float64Array([1, 2]), new Float64Array([1, NaN]), 1);
  assert.ok(Number.isNaN(s.maxAbsDiff));
  assert.ok(Number.isNaN(combineDiffStats([s, diffStats(new Float64Array([1]), new Float64Array([1]), 1)]).maxRelDiff));
});

test("all-zero originals give 0 when equal and Infinity when not", () => {
  assert.equal(diffStats(new Float64Array(2), new Float64Array(2), 1).maxRelDiff, 0);
  assert.equal(diffStats(new Float64Array(2), new Float64Array([0, 1e-30]), 1).maxRelDiff, Infinity);
});
