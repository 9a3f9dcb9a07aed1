/**
 * Negative log-likelihood of targets under logits, in float64: for one row of logits l and target
 * t, nll = logsumexp(l) - l[t], with the row max subtracted before exp (no overflow).
 */

/** Sum of the NLL of rows [fromRow, toRow) of logits [rows, vocab]; row r is scored against targets[r]. */
export function sumRowsNll(logits: Float64Array, vocab: number, targets: ArrayLike<number>, fromRow: number, toRow: number): number {
  let total = 0;
  for (let r = fromRow; r < toRow; r++) {
    const off = r * vocab;
    let max = -Infinity;
    for (let i = 0; i < vocab; i++) if (logits[off + i] > max) max = logits[off + i];
    let sum = 0;
    for (let i = 0; i < vocab; i++) sum += Math.exp(logits[off + i] - max);
    total += max + Math.log(sum) - logits[off + targets[r]];
  }
  return total;
}
