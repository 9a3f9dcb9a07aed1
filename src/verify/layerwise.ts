/**
 * Layer-by-layer verification for models too large to hold in float64 on the CPU: the same seeded
 * random hidden states go through decoder layer i of both models, one layer's weights in memory at
 * a time, and each layer's contribution to the residual stream (output - input) is compared.
 * Comparing the contribution rather than the output keeps the residual, identical on both sides,
 * out of the relative figure's denominator.
 *
 * The tensors outside the layers are compared too, so that layerwise can never pass what logits
 * mode fails (it once passed an lm_head, embed_tokens or final norm scaled by 1.5): the embedding
 * rows of the seeded token ids logits mode would use, and the logits of each model's own last-layer
 * output through its own final norm and lm_head. lm_head is read in blocks of rows, so memory stays
 * at one block (an 8 GB float64 lm_head of a 70B model is never held whole).
 */
import type { DiffStats } from "./compare.js";
import { diffStats } from "./compare.js";
import { RopeCache, decoderLayer, type ForwardOptions } from "./forward.js";
import type { ModelHandle } from "./load-model.js";
import { randomNormals, randomTokenIds } from "../util/prng.js";
import { layerTensorNames } from "./tensor-store.js";
import { GacError } from "../errors.js";
import { matmulWeight } from "./linear.js";
import { rmsNorm } from "./rmsnorm.js";

/** Above this many parameters `verifyCheckpoints` goes layer by layer: two float64 copies of 200M take 3.2 GB. */
export const LAYERWISE_PARAM_THRESHOLD = 200_000_000;

/** Layer by layer when asked, or when the larger model would not fit in float64 twice. */
export function useLayerwise(forced: boolean, params: number): boolean {
  return forced || params > LAYERWISE_PARAM_THRESHOLD;
}

export interface LayerDiff {
  /** Decoder layer index; -1 for the embeddings, numLayers for the logits. */
  layer: number;
  /** Set for the comparisons outside the decoder layers. */
  part?: "embeddings" | "logits";
  stats: DiffStats;
}

/** lm_head rows per block: 2^22 float64 values (32 MiB) of each model at a time. */
const HEAD_BLOCK_ELEMENTS = 1 << 22;

export interface LayerwiseOptions {
  seed: number;
  tokens: number;
  originalForward?: ForwardOptions;
  repairedForward?: ForwardOptions;
  /** Called after each layer (progress). */
  onLayer?: (d: LayerDiff, of: number) => void;
}

/** The embedding rows of `ids` (what the embedding lookup of logits mode reads). */
async function embeddingRows(model: ModelHandle, ids: readonly number[]): Promise<Float64Array> {
  const h = model.spec.hiddenSize;
  const out = new Float64Array(ids.length * h);
  for (let p = 0; p < ids.length; p++) out.set(await model.store.readRange(model.spec.embedTokens, ids[p] * h, h), p * h);
  return out;
}

/** Final norm of `hidden`, ready for lm_head. */
async function finalNormed(model: ModelHandle, hidden: Float64Array, tokens: number): Promise<Float64Array> {
  const { spec } = model;
  return rmsNorm(hidden, tokens, spec.hiddenSize, await model.store.readRange(spec.finalNorm, 0, spec.hiddenSize), spec.rmsNormEps);
}

/**
 * diffStats of two [tokens, vocab] logit tensors computed one block of vocab columns at a time:
 * the same maxima, sum and per-row argmax, without holding either tensor.
 */
async function headLogitsDiff(a: ModelHandle, hiddenA: Float64Array, b: ModelHandle, hiddenB: Float64Array, tokens: number): Promise<DiffStats> {
  const h = a.spec.hiddenSize;
  const vocab = a.spec.vocabSize;
  const [na, nb] = [await finalNormed(a, hiddenA, tokens), await finalNormed(b, hiddenB, tokens)];
  const rowsPerBlock = Math.max(1, Math.floor(HEAD_BLOCK_ELEMENTS / h));
  let maxAbsDiff = 0;
  let maxAbsOriginal = 0;
  let sumAbs = 0;
  const best = Array.from({ length: tokens }, () => ({ a: -Infinity, ai: 0, b: -Infinity, bi: 0 }));
  for (let r0 = 0; r0 < vocab; r0 += rowsPerBlock) {
    const rows = Math.min(rowsPerBlock, vocab - r0);
    const la = matmulWeight(na, tokens, h, 0, await a.store.readRange(a.spec.lmHead, r0 * h, rows * h), undefined, h, rows);
    const lb = matmulWeight(nb, tokens, h, 0, await b.store.readRange(b.spec.lmHead, r0 * h, rows * h), undefined, h, rows);
    for (let t = 0; t < tokens; t++) {
      const row = best[t];
      for (let c = 0; c < rows; c++) {
        const x = la[t * rows + c];
        const y = lb[t * rows + c];
        const d = Math.abs(x - y);
        maxAbsDiff = Number.isNaN(d) ? NaN : Math.max(maxAbsDiff, d);
        maxAbsOriginal = Math.max(maxAbsOriginal, Math.abs(x));
        sumAbs += d;
        // Strictly greater, left to right: the first maximum wins, as in diffStats.
        if (x > row.a) [row.a, row.ai] = [x, r0 + c];
        if (y > row.b) [row.b, row.bi] = [y, r0 + c];
      }
    }
  }
  const count = tokens * vocab;
  const maxRelDiff = maxAbsOriginal === 0 ? (maxAbsDiff === 0 ? 0 : Infinity) : maxAbsDiff / maxAbsOriginal;
  return { count, maxAbsDiff, maxRelDiff, meanAbsDiff: sumAbs / count, maxAbsOriginal, argmaxAgree: best.filter((r) => r.ai === r.bi).length, rows: tokens };
}

async function contribution(model: ModelHandle, layerIndex: number, input: Float64Array, tokens: number, opts?: ForwardOptions): Promise<Float64Array> {
  const layer = model.spec.layers[layerIndex];
  const names = layerTensorNames(layer);
  await model.store.load(names);
  try {
    const out = decoderLayer(model.spec, layer, model.store.weights, input, tokens, new RopeCache(model.spec, tokens), opts);
    for (let i = 0; i < out.length; i++) out[i] -= input[i];
    return out;
  } finally {
    model.store.release(names);
  }
}

export async function verifyLayerwise(original: ModelHandle, repaired: ModelHandle, opts: LayerwiseOptions): Promise<LayerDiff[]> {
  const [a, b] = [original.spec, repaired.spec];
  if (a.numLayers !== b.numLayers || a.hiddenSize !== b.hiddenSize) {
    throw new GacError("VERIFY_FAILED", `the models differ in shape: ${a.numLayers} vs ${b.numLayers} layers, hidden ${a.hiddenSize} vs ${b.hiddenSize}; repair never changes these`);
  }
  if (a.vocabSize !== b.vocabSize) throw new GacError("VERIFY_FAILED", `vocabularies differ (${a.vocabSize} vs ${b.vocabSize}): repair never changes the vocabulary`);
  const diffs: LayerDiff[] = [];
  const report = (d: LayerDiff) => {
    diffs.push(d);
    opts.onLayer?.(d, a.numLayers);
  };
  const ids = randomTokenIds(opts.seed, opts.tokens, a.vocabSize);
  report({ layer: -1, part: "embeddings", stats: diffStats(await embeddingRows(original, ids), await embeddingRows(repaired, ids), opts.tokens) });

  // Each model's own output of the last layer feeds its own head (no layers: the random input).
  let lastA = randomNormals(opts.seed + a.numLayers, opts.tokens * a.hiddenSize);
  let lastB = lastA;
  for (let i = 0; i < a.numLayers; i++) {
    // A different seed per layer, so no layer is checked only on the inputs another saw.
    const hidden = randomNormals(opts.seed + i, opts.tokens * a.hiddenSize);
    const x = await contribution(original, i, hidden, opts.tokens, opts.originalForward);
    const y = await contribution(repaired, i, hidden, opts.tokens, opts.repairedForward);
    report({ layer: i, stats: diffStats(x, y, opts.tokens) });
    if (i === a.numLayers - 1) {
      lastA = x.map((v, k) => v + hidden[k]);
      lastB = y.map((v, k) => v + hidden[k]);
    }
  }
  report({ layer: a.numLayers, part: "logits", stats: await headLogitsDiff(original, lastA, repaired, lastB, opts.tokens) });
  return diffs;
}
