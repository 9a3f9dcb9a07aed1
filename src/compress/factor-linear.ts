/**
 * One weight W [out, in] as a factor pair first [r, in], second [out, r] with second . first ~ W,
 * the shape both SVD-LLM (*_v_proj, *_u_proj) and ASVD (BLinear, ALinear) store. The SVD is taken of
 * W S for an input transform S, and S^-1 is folded back into the first factor:
 *   plain      S = I                           (truncated SVD)
 *   whitened   S = L, L L^T = X^T X            (SVD-LLM's truncation-aware data whitening: the
 *              dropped singular values of W L are exactly the output error on the calibration data)
 *   scaled     S = diag(mean |x_j|^alpha)      (ASVD's activation-aware scaling, alpha 0.5)
 * Each factor takes sqrt(sigma), as both tools do. At full rank second . first = W S S^-1 = W.
 */
import { invertLower } from "./cholesky.js";
import { firstCols, matmul, matrix, scaleCols, transpose, type Matrix } from "./matrix.js";
import { svd, type Svd } from "./svd.js";

export type InputTransform = { kind: "plain" } | { kind: "whitened"; l: Matrix } | { kind: "scaled"; s: Float64Array };

export interface PreparedFactorisation {
  /** sigma^2 of W S, decreasing: the energy the rank policy ranks by. */
  energy: Float64Array;
  /** The full rank min(out, in). */
  full: number;
  /** first [r, in], second [out, r] at rank r. */
  factorsAt(rank: number): { first: Matrix; second: Matrix };
}

function transformed(w: Matrix, t: InputTransform): Matrix {
  switch (t.kind) {
    case "plain":
      return w;
    case "whitened":
      return matmul(w, t.l);
    case "scaled":
      return scaleCols(w, t.s);
  }
}

/** V_r^T S^-1 [r, in]. */
function undoTransform(vT: Matrix, t: InputTransform, lInverse: () => Matrix): Matrix {
  switch (t.kind) {
    case "plain":
      return vT;
    case "whitened":
      return matmul(vT, lInverse());
    case "scaled":
      return scaleCols(
        vT,
        Array.from(t.s, (x) => 1 / x),
      );
  }
}

export function prepareFactorisation(w: Matrix, t: InputTransform): PreparedFactorisation {
  const d: Svd = svd(transformed(w, t));
  let inv: Matrix | undefined;
  const lInverse = () => (inv ??= t.kind === "whitened" ? invertLower(t.l) : matrix(0, 0));
  return {
    energy: d.s.map((x) => x * x),
    full: d.s.length,
    factorsAt(rank: number) {
      const root = Array.from(d.s.subarray(0, rank), Math.sqrt);
      const second = scaleCols(firstCols(d.u, rank), root);
      const vT = transpose(scaleCols(firstCols(d.v, rank), root));
      return { first: undoTransform(vT, t, lInverse), second };
    },
  };
}

/** ASVD's scaling vector from mean |x| per input channel; channels never active get the smallest active value. */
export function asvdScaling(sumAbs: Float64Array, count: number, alpha = 0.5): Float64Array {
  const mean = Array.from(sumAbs, (x) => x / Math.max(1, count));
  const active = mean.filter((x) => x > 0);
  if (active.length === 0) return new Float64Array(mean.length).fill(1);
  const floor = active.reduce((a, b) => Math.min(a, b));
  return Float64Array.from(mean, (x) => Math.pow(Math.max(x, floor), alpha));
}
