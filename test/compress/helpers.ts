/** Shared by the compress tests: the family each method's output scans as, and a perplexity-style check. */
import { forwardLogits } from "../../src/verify/forward.js";
import { loadModel, openModel } from "../../src/verify/load-model.js";

export const FAMILY = { "svd-pairs": "svdllm", asvd: "asvd", palu: "palu", "svd-heads": "dense", "prune-mlp": "dense" } as const;

/** Mean negative log-likelihood per byte of the first `tokens` bytes of `text` under the checkpoint (one window, float64). */
export async function meanNll(dir: string, text: string, tokens = 64): Promise<number> {
  const model = await loadModel(await openModel(dir));
  const ids = Array.from(new TextEncoder().encode(text)).slice(0, tokens);
  const logits = forwardLogits(model, ids);
  const v = model.spec.vocabSize;
  let nll = 0;
  for (let p = 0; p + 1 < ids.length; p++) {
    const row = logits.subarray(p * v, (p + 1) * v);
    const max = row.reduce((a, b) => Math.max(a, b));
    const lse = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
    nll += lse - row[ids[p + 1]];
  }
  return nll / (ids.length - 1);
}

/** Largest |logit difference| relative to the largest |logit| of `a`, on the first `tokens` bytes of `text` (one window, float64). */
export async function relativeLogitDiff(a: string, b: string, text: string, tokens = 32): Promise<number> {
  const ids = Array.from(new TextEncoder().encode(text)).slice(0, tokens);
  const [la, lb] = await Promise.all([a, b].map(async (d) => forwardLogits(await loadModel(await openModel(d)), ids)));
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < la.length; i++) {
    diff = Math.max(diff, Math.abs(la[i] - lb[i]));
    scale = Math.max(scale, Math.abs(la[i]));
  }
  return diff / scale;
}
