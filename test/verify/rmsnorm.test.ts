import { test } from "node:test";
import assert from "node:assert/strict";
import { rmsNorm } from "../../src/verify/rmsnorm.js";

test("divides each row by its root mean square and multiplies by the weight", () => {
  const y = rmsNorm(new Float64Array([3, 4, 0, 2]), 2, 2, new Float64Array([1, 2]), 0);
  const r0 = Math.sqrt((9 + 16) / 2);
  assert.deepEqual([...y], [3 / r0, 8 / r0, 0, 2 * (2 / Math.sqrt(2))]);
});

test("adds eps to the mean square inside the square root", () => {
  const y = rmsNorm(new Float64Array([1, 1]), 1, 2, new Float64Array([1, 1]), 3);
  assert.equal(y[0], 1 / Math.sqrt(1 + 3));
});
