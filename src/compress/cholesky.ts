/**
 * Cholesky factorisation G = L L^T of a symmetric positive definite matrix and the inverse of a
 * lower-triangular L, in float64: SVD-LLM's truncation-aware whitening factors the calibration Gram
 * matrix X^T X this way (its `torch.linalg.cholesky`, retried with a growing diagonal when the Gram
 * matrix is singular: a few calibration tokens cannot span a wide hidden state).
 */
import { matrix, type Matrix } from "./matrix.js";

/** L with G = L L^T, or null when G is not (numerically) positive definite. */
export function cholesky(g: Matrix): Matrix | null {
  const n = g.rows;
  if (g.cols !== n) throw new RangeError(`Cholesky needs a square matrix, got ${g.rows}x${g.cols}`);
  const l = matrix(n, n);
  const L = l.data;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = g.data[i * n + j];
      for (let k = 0; k < j; k++) sum -= L[i * n + k] * L[j * n + k];
      if (i === j) {
        if (!(sum > 0)) return null;
        L[i * n + i] = Math.sqrt(sum);
      } else {
        L[i * n + j] = sum / L[j * n + j];
      }
    }
  }
  return l;
}

export interface DampedCholesky {
  l: Matrix;
  /** The diagonal added to G before it factored (0 when G was positive definite as given). */
  damping: number;
}

/**
 * Cholesky of G + delta I with the smallest delta in 0, 1e-10 t, 1e-9 t, ... (t = mean diagonal of G)
 * for which it succeeds: SVD-LLM adds such a diagonal when its Gram matrix is not positive definite.
 */
export function dampedCholesky(g: Matrix): DampedCholesky {
  const n = g.rows;
  let trace = 0;
  for (let i = 0; i < n; i++) trace += g.data[i * n + i];
  const scale = trace > 0 ? trace / n : 1;
  for (let exponent = -Infinity; exponent <= 0; exponent = exponent === -Infinity ? -10 : exponent + 1) {
    const damping = exponent === -Infinity ? 0 : scale * 10 ** exponent;
    const shifted = matrix(n, n, g.data.slice());
    for (let i = 0; i < n; i++) shifted.data[i * n + i] += damping;
    const l = cholesky(shifted);
    if (l !== null) return { l, damping };
  }
  throw new Error(`Cholesky of a ${n}x${n} Gram matrix failed even with a diagonal of its mean diagonal added (NaN in the activations?)`);
}

/** L^-1 for lower-triangular L with a non-zero diagonal (forward substitution, column by column). */
export function invertLower(l: Matrix): Matrix {
  const n = l.rows;
  const inv = matrix(n, n);
  const L = l.data;
  const X = inv.data;
  for (let c = 0; c < n; c++) {
    for (let i = c; i < n; i++) {
      let sum = i === c ? 1 : 0;
      for (let k = c; k < i; k++) sum -= L[i * n + k] * X[k * n + c];
      X[i * n + c] = sum / L[i * n + i];
    }
  }
  return inv;
}
