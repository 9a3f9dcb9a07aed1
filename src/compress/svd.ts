/**
 * Thin singular value decomposition A = U diag(s) V^T in float64 by Golub-Kahan-Reinsch:
 * Householder bidiagonalisation, then implicitly shifted QR sweeps on the bidiagonal (the algorithm
 * of LINPACK's dsvdc, as JAMA's SingularValueDecomposition writes it). Singular values come sorted
 * in decreasing order and are non-negative. A with more columns than rows is decomposed as A^T.
 *
 * Cost: about 4 m n^2 + 8 n^3 flops for m >= n; a 1024 x 384 weight takes well under a second.
 */
import { matrix, transpose, type Matrix } from "./matrix.js";

export interface Svd {
  /** [m, k] with orthonormal columns, k = min(m, n). */
  u: Matrix;
  /** k singular values, decreasing. */
  s: Float64Array;
  /** [n, k] with orthonormal columns. */
  v: Matrix;
}

/** QR sweeps allowed per singular value before the iteration is declared stuck (LAPACK allows 6 n^2 in all). */
const MAX_SWEEPS_PER_VALUE = 75;

export function svd(a: Matrix): Svd {
  if (a.rows >= a.cols) return svdTall(a);
  const t = svdTall(transpose(a));
  return { u: t.v, s: t.s, v: t.u };
}

/** Columns as contiguous arrays: every loop below runs down columns (Householder vectors, Givens rotations). */
function toColumns(a: Matrix): Float64Array[] {
  return Array.from({ length: a.cols }, (_, j) => {
    const col = new Float64Array(a.rows);
    for (let i = 0; i < a.rows; i++) col[i] = a.data[i * a.cols + j];
    return col;
  });
}

/** The first `count` columns back into a row-major [rows, count] matrix. */
function fromColumns(cols: Float64Array[], rows: number, count: number): Matrix {
  const m = matrix(rows, count);
  for (let j = 0; j < count; j++) for (let i = 0; i < rows; i++) m.data[i * count + j] = cols[j][i];
  return m;
}

function svdTall(input: Matrix): Svd {
  const m = input.rows;
  const n = input.cols;
  if (n === 0) return { u: matrix(m, 0), s: new Float64Array(0), v: matrix(0, 0) };
  const Ac = toColumns(input);
  const nu = Math.min(m, n);
  const s = new Float64Array(Math.min(m + 1, n));
  const Uc = Array.from({ length: nu }, () => new Float64Array(m));
  const Vc = Array.from({ length: n }, () => new Float64Array(n));
  const e = new Float64Array(n);
  const work = new Float64Array(m);

  // Reduce A to bidiagonal form: diagonal in s, super-diagonal in e.
  const nct = Math.min(m - 1, n);
  const nrt = Math.max(0, Math.min(n - 2, m));
  for (let k = 0; k < Math.max(nct, nrt); k++) {
    if (k < nct) {
      // Householder for column k: s[k] = -(norm of A[k:, k]) with Ac[k][k]'s sign.
      s[k] = 0;
      for (let i = k; i < m; i++) s[k] = Math.hypot(s[k], Ac[k][i]);
      if (s[k] !== 0) {
        if (Ac[k][k] < 0) s[k] = -s[k];
        for (let i = k; i < m; i++) Ac[k][i] /= s[k];
        Ac[k][k] += 1;
      }
      s[k] = -s[k];
    }
    for (let j = k + 1; j < n; j++) {
      if (k < nct && s[k] !== 0) {
        let t = 0;
        for (let i = k; i < m; i++) t += Ac[k][i] * Ac[j][i];
        t = -t / Ac[k][k];
        for (let i = k; i < m; i++) Ac[j][i] += t * Ac[k][i];
      }
      e[j] = Ac[j][k];
    }
    if (k < nct) for (let i = k; i < m; i++) Uc[k][i] = Ac[k][i];
    if (k < nrt) {
      // Householder for row k (the super-diagonal part).
      e[k] = 0;
      for (let i = k + 1; i < n; i++) e[k] = Math.hypot(e[k], e[i]);
      if (e[k] !== 0) {
        if (e[k + 1] < 0) e[k] = -e[k];
        for (let i = k + 1; i < n; i++) e[i] /= e[k];
        e[k + 1] += 1;
      }
      e[k] = -e[k];
      if (k + 1 < m && e[k] !== 0) {
        for (let i = k + 1; i < m; i++) work[i] = 0;
        for (let j = k + 1; j < n; j++) {
          const col = Ac[j];
          const ej = e[j];
          for (let i = k + 1; i < m; i++) work[i] += ej * col[i];
        }
        for (let j = k + 1; j < n; j++) {
          const col = Ac[j];
          const t = -e[j] / e[k + 1];
          for (let i = k + 1; i < m; i++) col[i] += t * work[i];
        }
      }
      for (let i = k + 1; i < n; i++) Vc[k][i] = e[i];
    }
  }

  // The final bidiagonal matrix of order p.
  let p = Math.min(n, m + 1);
  if (nct < n) s[nct] = Ac[nct][nct];
  if (m < p) s[p - 1] = 0;
  if (nrt + 1 < p) e[nrt] = Ac[p - 1][nrt];
  e[p - 1] = 0;

  // Accumulate U.
  for (let j = nct; j < nu; j++) {
    for (let i = 0; i < m; i++) Uc[j][i] = 0;
    Uc[j][j] = 1;
  }
  for (let k = nct - 1; k >= 0; k--) {
    if (s[k] !== 0) {
      for (let j = k + 1; j < nu; j++) {
        let t = 0;
        for (let i = k; i < m; i++) t += Uc[k][i] * Uc[j][i];
        t = -t / Uc[k][k];
        for (let i = k; i < m; i++) Uc[j][i] += t * Uc[k][i];
      }
      for (let i = k; i < m; i++) Uc[k][i] = -Uc[k][i];
      Uc[k][k] = 1 + Uc[k][k];
      for (let i = 0; i < k; i++) Uc[k][i] = 0;
    } else {
      for (let i = 0; i < m; i++) Uc[k][i] = 0;
      Uc[k][k] = 1;
    }
  }

  // Accumulate V.
  for (let k = n - 1; k >= 0; k--) {
    if (k < nrt && e[k] !== 0) {
      for (let j = k + 1; j < n; j++) {
        let t = 0;
        for (let i = k + 1; i < n; i++) t += Vc[k][i] * Vc[j][i];
        t = -t / Vc[k][k + 1];
        for (let i = k + 1; i < n; i++) Vc[j][i] += t * Vc[k][i];
      }
    }
    for (let i = 0; i < n; i++) Vc[k][i] = 0;
    Vc[k][k] = 1;
  }

  // Implicit-shift QR on the bidiagonal until every super-diagonal entry is negligible.
  const pp = p - 1;
  const eps = 2 ** -52;
  const tiny = 2 ** -966;
  let iter = 0;
  const rotateCols = (M: Float64Array[], a: number, b: number, cs: number, sn: number) => {
    const x = M[a];
    const y = M[b];
    for (let i = 0; i < x.length; i++) {
      const t = cs * x[i] + sn * y[i];
      y[i] = -sn * x[i] + cs * y[i];
      x[i] = t;
    }
  };
  while (p > 0) {
    if (iter > MAX_SWEEPS_PER_VALUE) throw new Error(`SVD of a ${m}x${n} matrix did not converge after ${MAX_SWEEPS_PER_VALUE} QR sweeps on one value (NaN or Inf in the input?)`);
    let k: number;
    for (k = p - 2; k >= 0; k--) {
      if (Math.abs(e[k]) <= tiny + eps * (Math.abs(s[k]) + Math.abs(s[k + 1]))) {
        e[k] = 0;
        break;
      }
    }
    let kase: 1 | 2 | 3 | 4;
    if (k === p - 2) {
      kase = 4;
    } else {
      let ks: number;
      for (ks = p - 1; ks > k; ks--) {
        const t = (ks !== p ? Math.abs(e[ks]) : 0) + (ks !== k + 1 ? Math.abs(e[ks - 1]) : 0);
        if (Math.abs(s[ks]) <= tiny + eps * t) {
          s[ks] = 0;
          break;
        }
      }
      if (ks === k) kase = 3;
      else if (ks === p - 1) kase = 1;
      else {
        kase = 2;
        k = ks;
      }
    }
    k++;
    switch (kase) {
      case 1: {
        // Deflate a negligible s[p-1].
        let f = e[p - 2];
        e[p - 2] = 0;
        for (let j = p - 2; j >= k; j--) {
          const t = Math.hypot(s[j], f);
          const cs = s[j] / t;
          const sn = f / t;
          s[j] = t;
          if (j !== k) {
            f = -sn * e[j - 1];
            e[j - 1] = cs * e[j - 1];
          }
          rotateCols(Vc, j, p - 1, cs, sn);
        }
        break;
      }
      case 2: {
        // Split at a negligible s[k-1].
        let f = e[k - 1];
        e[k - 1] = 0;
        for (let j = k; j < p; j++) {
          const t = Math.hypot(s[j], f);
          const cs = s[j] / t;
          const sn = f / t;
          s[j] = t;
          f = -sn * e[j];
          e[j] = cs * e[j];
          rotateCols(Uc, j, k - 1, cs, sn);
        }
        break;
      }
      case 3: {
        // One QR sweep with the Wilkinson-like shift from the trailing 2x2.
        const scale = Math.max(Math.abs(s[p - 1]), Math.abs(s[p - 2]), Math.abs(e[p - 2]), Math.abs(s[k]), Math.abs(e[k]));
        const sp = s[p - 1] / scale;
        const spm1 = s[p - 2] / scale;
        const epm1 = e[p - 2] / scale;
        const sk = s[k] / scale;
        const ek = e[k] / scale;
        const b = ((spm1 + sp) * (spm1 - sp) + epm1 * epm1) / 2;
        const c = sp * epm1 * (sp * epm1);
        let shift = 0;
        if (b !== 0 || c !== 0) {
          shift = Math.sqrt(b * b + c);
          if (b < 0) shift = -shift;
          shift = c / (b + shift);
        }
        let f = (sk + sp) * (sk - sp) + shift;
        let g = sk * ek;
        for (let j = k; j < p - 1; j++) {
          let t = Math.hypot(f, g);
          let cs = f / t;
          let sn = g / t;
          if (j !== k) e[j - 1] = t;
          f = cs * s[j] + sn * e[j];
          e[j] = cs * e[j] - sn * s[j];
          g = sn * s[j + 1];
          s[j + 1] = cs * s[j + 1];
          rotateCols(Vc, j, j + 1, cs, sn);
          t = Math.hypot(f, g);
          cs = f / t;
          sn = g / t;
          s[j] = t;
          f = cs * e[j] + sn * s[j + 1];
          s[j + 1] = -sn * e[j] + cs * s[j + 1];
          g = sn * e[j + 1];
          e[j + 1] = cs * e[j + 1];
          if (j < m - 1) rotateCols(Uc, j, j + 1, cs, sn);
        }
        e[p - 2] = f;
        iter++;
        break;
      }
      case 4: {
        // Converged: make s[k] non-negative, then bubble it into decreasing order.
        if (s[k] <= 0) {
          s[k] = s[k] < 0 ? -s[k] : 0;
          for (let i = 0; i <= pp; i++) Vc[k][i] = -Vc[k][i];
        }
        while (k < pp && s[k] < s[k + 1]) {
          [s[k], s[k + 1]] = [s[k + 1], s[k]];
          if (k < n - 1) [Vc[k], Vc[k + 1]] = [Vc[k + 1], Vc[k]];
          if (k < m - 1) [Uc[k], Uc[k + 1]] = [Uc[k + 1], Uc[k]];
          k++;
        }
        iter = 0;
        p--;
        break;
      }
    }
  }
  return { u: fromColumns(Uc, m, nu), s: s.slice(0, nu), v: fromColumns(Vc, n, nu) };
}
