import { test } from "node:test";
import assert from "node:assert/strict";
import { applyLinear, matmulWeight } from "../../src/verify/linear.js";
import { randomNormals } from "../../src/util/prng.js";
import type { LinearSpec } from "../../src/model/types.js";

/** C [m, n] = A [m, k] B [k, n], written as the textbook triple loop. */
function matmul(a: Float64Array, b: Float64Array, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let t = 0; t < k; t++) c[i * n + j] += a[i * k + t] * b[t * n + j];
  return c;
}

function close(a: Float64Array, b: Float64Array, tol: number): void {
  assert.equal(a.length, b.length);
  a.forEach((x, i) => assert.ok(Math.abs(x - b[i]) <= tol, `index ${i}: ${x} vs ${b[i]}`));
}

test("a dense linear computes x W^T + b", () => {
  const w = new Float64Array([1, 2, 3, 4, 5, 6]); // [out 2, in 3]
  const y = matmulWeight(new Float64Array([1, 0, -1]), 1, 3, 0, w, new Float64Array([10, 20]), 3, 2);
  assert.deepEqual([...y], [1 - 3 + 10, 4 - 6 + 20]);
});

test("a low-rank linear equals the dense product of its factors (ASVD / SVD-LLM)", () => {
  const [inDim, r, out, rows] = [7, 3, 5, 4];
  const B = randomNormals(1, r * inDim);
  const A = randomNormals(2, out * r);
  const bias = randomNormals(3, out);
  const weights = new Map([
    ["B", B],
    ["A", A],
    ["b", bias],
    ["W", matmul(A, B, out, r, inDim)],
  ]);
  const lowrank: LinearSpec = { kind: "lowrank", in: inDim, out, rank: r, first: { tensor: "B", out: r, in: inDim }, second: { tensor: "A", bias: "b", out, in: r } };
  const dense: LinearSpec = { kind: "dense", in: inDim, out, weight: { tensor: "W", bias: "b", out, in: inDim } };
  const x = randomNormals(4, rows * inDim);
  close(applyLinear(lowrank, weights, x, rows), applyLinear(dense, weights, x, rows), 1e-13);
});

test("a PaLU grouped linear equals the dense matrix whose group g rows are U_g VT[offset_g : offset_g + r_g]", () => {
  const [inDim, groupDim, rows] = [6, 4, 3];
  const ranks = [2, 3];
  const VT = randomNormals(1, 5 * inDim);
  const U0 = randomNormals(2, groupDim * 2);
  const U1 = randomNormals(3, groupDim * 3);
  const b1 = randomNormals(4, groupDim);
  const W = new Float64Array(2 * groupDim * inDim);
  W.set(matmul(U0, VT.subarray(0, 2 * inDim), groupDim, 2, inDim), 0);
  W.set(matmul(U1, VT.subarray(2 * inDim, 5 * inDim), groupDim, 3, inDim), groupDim * inDim);
  const bias = new Float64Array(2 * groupDim);
  bias.set(b1, groupDim);
  const weights = new Map([
    ["VT", VT],
    ["U0", U0],
    ["U1", U1],
    ["b1", b1],
    ["W", W],
    ["b", bias],
  ]);
  const grouped: LinearSpec = {
    kind: "grouped",
    in: inDim,
    out: 2 * groupDim,
    ranks,
    groupDim,
    first: { tensor: "VT", out: 5, in: inDim },
    groups: [
      { tensor: "U0", out: groupDim, in: 2 },
      { tensor: "U1", bias: "b1", out: groupDim, in: 3 },
    ],
  };
  const dense: LinearSpec = { kind: "dense", in: inDim, out: 2 * groupDim, weight: { tensor: "W", bias: "b", out: 2 * groupDim, in: inDim } };
  const x = randomNormals(5, rows * inDim);
  close(applyLinear(grouped, weights, x, rows), applyLinear(dense, weights, x, rows), 1e-13);
});

test("a weight whose size disagrees with the spec is an error naming the tensor", () => {
  const spec: LinearSpec = { kind: "dense", in: 3, out: 2, weight: { tensor: "w", out: 2, in: 3 } };
  assert.throws(() => applyLinear(spec, new Map([["w", new Float64Array(5)]]), new Float64Array(3), 1), /tensor 'w' has 5 values but the model spec expects 6/);
  assert.throws(() => applyLinear(spec, new Map(), new Float64Array(3), 1), /tensor 'w' is not loaded/);
});

test("the blocked GEMM gives bit-identical outputs to one in-order dot product per output, at every remainder of 4", () => {
  for (const [rows, inDim, outDim] of [
    [9, 13, 7],
    [4, 8, 4],
    [3, 5, 2],
    [6, 1, 11],
  ]) {
    const stride = inDim + 3;
    const x = randomNormals(rows * 31 + outDim, rows * stride);
    const w = randomNormals(inDim * 7 + 1, outDim * inDim);
    const bias = randomNormals(5, outDim);
    for (const b of [undefined, bias]) {
      const y = matmulWeight(x, rows, stride, 2, w, b, inDim, outDim);
      for (let r = 0; r < rows; r++) {
        for (let o = 0; o < outDim; o++) {
          let acc = 0;
          for (let i = 0; i < inDim; i++) acc += x[r * stride + 2 + i] * w[o * inDim + i];
          const want = b === undefined ? acc : acc + b[o];
          assert.ok(Object.is(y[r * outDim + o], want), `[${rows},${inDim},${outDim}] row ${r} out ${o}: ${y[r * outDim + o]} vs ${want}`);
        }
      }
    }
  }
});
