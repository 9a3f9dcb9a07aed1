/**
 * How far two logit (or hidden-state) tensors are apart. The relative figure is
 *   maxRelDiff = max_i |a_i - b_i| / max_i |a_i|
 * with `a` the original: one scale for the whole tensor, so that a logit near zero does not turn
 * a harmless absolute difference into a huge ratio. It is 0 when both are all-zero and Infinity
 * when only `a` is.
 */
export interface DiffStats {
  /** Values compared. */
  count: number;
  maxAbsDiff: number;
  maxRelDiff: number;
  meanAbsDiff: number;
  /** max |a|, the denominator of maxRelDiff. */
  maxAbsOriginal: number;
  /** Rows (positions) whose argmax agrees, out of `rows`. */
  argmaxAgree: number;
  rows: number;
}

function argmax(x: Float64Array, off: number, width: number): number {
  let best = 0;
  for (let i = 1; i < width; i++) if (x[off + i] > x[off + best]) best = i;
  return best;
}

/** a and b are [rows, width] row-major; argmax agreement is counted per row. */
export function diffStats(a: Float64Array, b: Float64Array, rows: number): DiffStats {
  if (a.length !== b.length || a.length % rows !== 0) {
    throw new Error(`diffStats: lengths ${a.length} and ${b.length} do not form ${rows} equal rows`);
  }
  let maxAbsDiff = 0;
  let maxAbsOriginal = 0;
  let sumAbs = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    // NaN must not vanish into Math.max's comparisons: a NaN difference makes the figure NaN.
    maxAbsDiff = Number.isNaN(d) ? NaN : Math.max(maxAbsDiff, d);
    maxAbsOriginal = Math.max(maxAbsOriginal, Math.abs(a[i]));
    sumAbs += d;
  }
  const width = a.length / rows;
  let argmaxAgree = 0;
  for (let r = 0; r < rows; r++) if (argmax(a, r * width, width) === argmax(b, r * width, width)) argmaxAgree++;
  const maxRelDiff = maxAbsOriginal === 0 ? (maxAbsDiff === 0 ? 0 : Infinity) : maxAbsDiff / maxAbsOriginal;
  return { count: a.length, maxAbsDiff, maxRelDiff, meanAbsDiff: sumAbs / a.length, maxAbsOriginal, argmaxAgree, rows };
}

/** The worst of several comparisons (layer-by-layer mode): maxima of the maxima, count-weighted mean. */
export function combineDiffStats(parts: readonly DiffStats[]): DiffStats {
  const count = parts.reduce((s, p) => s + p.count, 0);
  const worst = (f: (p: DiffStats) => number): number => parts.reduce((m, p) => (Number.isNaN(f(p)) || Number.isNaN(m) ? NaN : Math.max(m, f(p))), 0);
  return {
    count,
    maxAbsDiff: worst((p) => p.maxAbsDiff),
    maxRelDiff: worst((p) => p.maxRelDiff),
    meanAbsDiff: count === 0 ? 0 : parts.reduce((s, p) => s + p.meanAbsDiff * p.count, 0) / count,
    maxAbsOriginal: worst((p) => p.maxAbsOriginal),
    argmaxAgree: parts.reduce((s, p) => s + p.argmaxAgree, 0),
    rows: parts.reduce((s, p) => s + p.rows, 0),
  };
}
