/**
 * Dense float64 matrices for the CPU compression path: row-major, [rows, cols], the layout
 * nn.Linear stores a weight in ([out, in]). Small helpers only; the decompositions live in svd.ts
 * and cholesky.ts.
 */
export interface Matrix {
  rows: number;
  cols: number;
  /** Row-major values: element (i, j) at i * cols + j. */
  data: Float64Array;
}

export function matrix(rows: number, cols: number, data?: Float64Array): Matrix {
  if (data !== undefined && data.length !== rows * cols) throw new RangeError(`a ${rows}x${cols} matrix needs ${rows * cols} values, got ${data.length}`);
  return { rows, cols, data: data ?? new Float64Array(rows * cols) };
}

export function identity(n: number): Matrix {
  const m = matrix(n, n);
  for (let i = 0; i < n; i++) m.data[i * n + i] = 1;
  return m;
}

export function transpose(a: Matrix): Matrix {
  const t = matrix(a.cols, a.rows);
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.cols; j++) t.data[j * a.rows + i] = a.data[i * a.cols + j];
  return t;
}

/** a [m, k] . b [k, n] (i-k-j order, so the inner loop runs along rows of b and of the result). */
export function matmul(a: Matrix, b: Matrix): Matrix {
  if (a.cols !== b.rows) throw new RangeError(`cannot multiply ${a.rows}x${a.cols} by ${b.rows}x${b.cols}`);
  const c = matrix(a.rows, b.cols);
  const n = b.cols;
  for (let i = 0; i < a.rows; i++) {
    const ci = i * n;
    for (let k = 0; k < a.cols; k++) {
      const aik = a.data[i * a.cols + k];
      if (aik === 0) continue;
      const bk = k * n;
      for (let j = 0; j < n; j++) c.data[ci + j] += aik * b.data[bk + j];
    }
  }
  return c;
}

/** Rows [from, to) of a. */
export function sliceRows(a: Matrix, from: number, to: number): Matrix {
  return matrix(to - from, a.cols, a.data.slice(from * a.cols, to * a.cols));
}

/** The listed rows of a, in the listed order. */
export function pickRows(a: Matrix, rows: readonly number[]): Matrix {
  const out = matrix(rows.length, a.cols);
  rows.forEach((r, i) => out.data.set(a.data.subarray(r * a.cols, (r + 1) * a.cols), i * a.cols));
  return out;
}

/** The listed columns of a, in the listed order. */
export function pickCols(a: Matrix, cols: readonly number[]): Matrix {
  const out = matrix(a.rows, cols.length);
  for (let i = 0; i < a.rows; i++) cols.forEach((c, j) => (out.data[i * cols.length + j] = a.data[i * a.cols + c]));
  return out;
}

/** Columns [0, k) of a. */
export function firstCols(a: Matrix, k: number): Matrix {
  return pickCols(
    a,
    Array.from({ length: k }, (_, j) => j),
  );
}

/** Rows stacked: [a; b; ...] (equal column counts). */
export function stackRows(parts: readonly Matrix[]): Matrix {
  const cols = parts[0].cols;
  const out = matrix(
    parts.reduce((s, p) => s + p.rows, 0),
    cols,
  );
  let at = 0;
  for (const p of parts) {
    if (p.cols !== cols) throw new RangeError(`cannot stack a ${p.rows}x${p.cols} matrix under ${cols} columns`);
    out.data.set(p.data, at);
    at += p.data.length;
  }
  return out;
}

/** Columns side by side: [a, b, ...] (equal row counts). */
export function stackCols(parts: readonly Matrix[]): Matrix {
  return transpose(stackRows(parts.map(transpose)));
}

/** Scales column j of a by s[j] (a copy). */
export function scaleCols(a: Matrix, s: ArrayLike<number>): Matrix {
  const out = matrix(a.rows, a.cols, a.data.slice());
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.cols; j++) out.data[i * a.cols + j] *= s[j];
  return out;
}

/** max |a - b| over all entries. */
export function maxAbsDiff(a: Matrix, b: Matrix): number {
  if (a.rows !== b.rows || a.cols !== b.cols) throw new RangeError(`cannot compare ${a.rows}x${a.cols} with ${b.rows}x${b.cols}`);
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(a.data[i] - b.data[i]));
  return m;
}

export function maxAbs(a: Matrix): number {
  let m = 0;
  for (const v of a.data) m = Math.max(m, Math.abs(v));
  return m;
}
