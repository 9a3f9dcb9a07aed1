import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cholesky, dampedCholesky, invertLower } from "../../src/compress/cholesky.js";
import { identity, matmul, matrix, maxAbs, maxAbsDiff, scaleCols, transpose, type Matrix } from "../../src/compress/matrix.js";
import { svd } from "../../src/compress/svd.js";
import { mulberry32, normalDraws } from "../../src/util/prng.js";

function randomMatrix(rows: number, cols: number, seed: number): Matrix {
  return matrix(rows, cols, normalDraws(mulberry32(seed), rows * cols, 1));
}

function reconstruct(d: ReturnType<typeof svd>): Matrix {
  return matmul(scaleCols(d.u, d.s), transpose(d.v));
}

describe("svd", () => {
  for (const [rows, cols] of [
    [40, 17],
    [17, 40],
    [32, 32],
    [1, 5],
    [5, 1],
  ] as const) {
    it(`gives back a ${rows}x${cols} matrix from U diag(s) V^T to float rounding, with orthonormal factors`, () => {
      const a = randomMatrix(rows, cols, rows * 100 + cols);
      const d = svd(a);
      const k = Math.min(rows, cols);
      assert.equal(d.s.length, k);
      assert.ok(maxAbsDiff(reconstruct(d), a) < 1e-12 * maxAbs(a) * k, `reconstruction error ${maxAbsDiff(reconstruct(d), a)}`);
      assert.ok(maxAbsDiff(matmul(transpose(d.u), d.u), identity(k)) < 1e-12);
      assert.ok(maxAbsDiff(matmul(transpose(d.v), d.v), identity(k)) < 1e-12);
      for (let i = 1; i < k; i++) assert.ok(d.s[i - 1] >= d.s[i], "singular values decrease");
      assert.ok(d.s.every((x) => x >= 0));
    });
  }

  it("finds the singular values of a matrix built from known ones, including exact zeros", () => {
    const q1 = svd(randomMatrix(12, 12, 1)).u;
    const q2 = svd(randomMatrix(8, 8, 2)).u;
    const wanted = [9, 4, 2.5, 1, 0.5, 0, 0, 0];
    const sigma = matrix(12, 8);
    wanted.forEach((s, i) => (sigma.data[i * 8 + i] = s));
    const a = matmul(matmul(q1, sigma), transpose(q2));
    const d = svd(a);
    wanted.forEach((s, i) => assert.ok(Math.abs(d.s[i] - s) < 1e-12, `s[${i}] = ${d.s[i]}, wanted ${s}`));
  });

  it("keeps the best rank-k approximation: the error is the root of the dropped squared singular values", () => {
    const a = randomMatrix(30, 20, 7);
    const d = svd(a);
    const k = 6;
    const approx = matmul(
      scaleCols(
        matrix(
          30,
          k,
          Float64Array.from({ length: 30 * k }, (_, i) => d.u.data[Math.floor(i / k) * 20 + (i % k)]),
        ),
        d.s.subarray(0, k),
      ),
      transpose(
        matrix(
          20,
          k,
          Float64Array.from({ length: 20 * k }, (_, i) => d.v.data[Math.floor(i / k) * 20 + (i % k)]),
        ),
      ),
    );
    let err = 0;
    for (let i = 0; i < a.data.length; i++) err += (a.data[i] - approx.data[i]) ** 2;
    let dropped = 0;
    for (let i = k; i < 20; i++) dropped += d.s[i] ** 2;
    assert.ok(Math.abs(err - dropped) < 1e-10 * dropped);
  });
});

describe("cholesky", () => {
  it("factors a positive definite Gram matrix as L L^T and inverts L", () => {
    const x = randomMatrix(50, 12, 3);
    const g = matmul(transpose(x), x);
    const l = cholesky(g)!;
    assert.ok(maxAbsDiff(matmul(l, transpose(l)), g) < 1e-11 * maxAbs(g));
    assert.ok(maxAbsDiff(matmul(l, invertLower(l)), identity(12)) < 1e-12);
  });

  it("refuses a singular Gram matrix and the damped form adds the smallest diagonal that works", () => {
    const x = randomMatrix(4, 12, 4); // 4 samples cannot span 12 dims: rank 4
    const g = matmul(transpose(x), x);
    assert.equal(cholesky(g), null);
    const { l, damping } = dampedCholesky(g);
    assert.ok(damping > 0);
    const shifted = matrix(12, 12, g.data.slice());
    for (let i = 0; i < 12; i++) shifted.data[i * 13] += damping;
    assert.ok(maxAbsDiff(matmul(l, transpose(l)), shifted) < 1e-10 * maxAbs(g));
  });
});

describe("factor pairs", () => {
  it("give back the weight at full rank for plain, whitened and scaled transforms", async () => {
    const { prepareFactorisation } = await import("../../src/compress/factor-linear.js");
    const w = randomMatrix(12, 9, 11);
    const x = randomMatrix(40, 9, 12);
    const l = cholesky(matmul(transpose(x), x))!;
    for (const t of [{ kind: "plain" as const }, { kind: "whitened" as const, l }, { kind: "scaled" as const, s: Float64Array.from({ length: 9 }, (_, i) => 0.5 + i) }]) {
      const f = prepareFactorisation(w, t).factorsAt(9);
      assert.ok(maxAbsDiff(matmul(f.second, f.first), w) < 1e-12 * 9, t.kind);
    }
  });

  it("whitened truncation loses exactly the dropped sigma^2 as output error on the calibration inputs (SVD-LLM)", async () => {
    const { prepareFactorisation } = await import("../../src/compress/factor-linear.js");
    const w = randomMatrix(12, 9, 13);
    const x = randomMatrix(40, 9, 14);
    const l = cholesky(matmul(transpose(x), x))!;
    const p = prepareFactorisation(w, { kind: "whitened", l });
    const f = p.factorsAt(4);
    const diff = matmul(x, transpose(matmul(f.second, f.first)));
    const exact = matmul(x, transpose(w));
    let err = 0;
    for (let i = 0; i < diff.data.length; i++) err += (diff.data[i] - exact.data[i]) ** 2;
    const dropped = Array.from(p.energy.subarray(4)).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(err - dropped) < 1e-9 * dropped, `error ${err}, dropped ${dropped}`);
  });
});
