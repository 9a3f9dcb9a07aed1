/**
 * The float64 CPU path of `gac eval`: windows through the reference forward (src/verify/forward.ts),
 * several windows of equal length per forward call (their projections run as one GEMM), and the
 * NLL of each window's scored targets summed in window order.
 */
import { forwardBatchLogits, type ForwardOptions, type LoadedModel } from "../verify/forward.js";
import { sumRowsNll } from "./nll.js";
import type { EvalWindow } from "./windows.js";

/** Windows per forward call: 8 x 256 rows keeps the activations of a 2M-parameter model at ~10 MB. */
export const CPU_BATCH_WINDOWS = 8;

export interface NllTotal {
  nll: number;
  targets: number;
}

/** Consecutive windows of one length, at most `size` per group. */
export function batchWindows(windows: readonly EvalWindow[], size: number): EvalWindow[][] {
  const batches: EvalWindow[][] = [];
  for (const w of windows) {
    const last = batches[batches.length - 1];
    if (last && last.length < size && last[0].length === w.length) last.push(w);
    else batches.push([w]);
  }
  return batches;
}

export function cpuWindowsNll(
  model: LoadedModel,
  tokens: Uint8Array,
  windows: readonly EvalWindow[],
  opts: { forward?: ForwardOptions; batchWindows?: number; onBatch?: (done: number, of: number) => void } = {},
): NllTotal {
  const vocab = model.spec.vocabSize;
  let nll = 0;
  let targets = 0;
  let done = 0;
  for (const batch of batchWindows(windows, opts.batchWindows ?? CPU_BATCH_WINDOWS)) {
    const len = batch[0].length;
    const ids = new Int32Array(batch.length * len);
    const next = new Int32Array(batch.length * len);
    batch.forEach((w, b) => {
      ids.set(tokens.subarray(w.start, w.start + len), b * len);
      next.set(tokens.subarray(w.start + 1, w.start + 1 + len), b * len);
    });
    const logits = forwardBatchLogits(model, ids, len, opts.forward);
    batch.forEach((w, b) => {
      nll += sumRowsNll(logits, vocab, next, b * len + w.scoreFrom, (b + 1) * len);
      targets += len - w.scoreFrom;
    });
    done += batch.length;
    opts.onBatch?.(done, windows.length);
  }
  return { nll, targets };
}
