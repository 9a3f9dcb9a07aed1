/**
 * Does the repaired checkpoint compute the same function as the original? Both run through the
 * float64 reference forward on the same seeded random token ids and their logits are compared
 * (compare.ts defines the figures). Models above LAYERWISE_PARAM_THRESHOLD parameters are compared
 * layer by layer instead (layerwise.ts). The scale handling is read from the repaired directory's
 * gac-repair.json: in "logical" mode the recorded attention scale replaces head_dim^-0.5. An original
 * that is itself a logical-mode gac output (a second repair pass checked on its own) runs with its
 * own manifest's scale likewise, or it would not compute the model it stands for.
 */
import type { ModelSpec } from "../model/types.js";
import type { Dtype } from "../checkpoint/types.js";
import type { Family } from "../model/types.js";
import { GacError } from "../errors.js";
import { combineDiffStats, diffStats, type DiffStats } from "./compare.js";
import { forwardLogits, type ForwardOptions } from "./forward.js";
import { useLayerwise, verifyLayerwise, type LayerDiff } from "./layerwise.js";
import { loadModel, openModel, type ModelHandle } from "./load-model.js";
import { randomTokenIds } from "../util/prng.js";
import { readRepairScale, type RepairScale } from "../repair/manifest.js";
import { modelTensorNames } from "./tensor-store.js";
import { coarserDtype, defaultTolerance } from "./tolerance.js";

export const DEFAULT_SEED = 0;
export const DEFAULT_TOKENS = 16;
/** Attention is quadratic in tokens and the forward is scalar JavaScript: 4,096 is minutes on a tiny model. */
export const MAX_TOKENS = 4096;

export interface VerifyOptions {
  seed?: number;
  tokens?: number;
  /** Threshold on maxRelDiff; default from the weights' dtype (tolerance.ts). */
  tolerance?: number;
  /** Force layer-by-layer mode (it is chosen automatically above LAYERWISE_PARAM_THRESHOLD). */
  layerwise?: boolean;
  onLayer?: (d: LayerDiff, of: number) => void;
  /** Steps done of total (logits: the two forwards; layerwise: embeddings, each layer, the head), for a progress line. */
  onProgress?: (p: VerifyProgress) => void;
}

export interface VerifyProgress {
  done: number;
  total: number;
  /** What runs next (or "done"). */
  current: string;
}

export interface ModelSummary {
  dir: string;
  family: Family;
  modelType: string;
  dtype: Dtype;
  params: number;
  headDim: number;
  numLayers: number;
}

export interface VerifyReport {
  original: ModelSummary;
  repaired: ModelSummary;
  /** "logits": whole forward on token ids; "layerwise": each decoder layer on random hidden states. */
  mode: "logits" | "layerwise";
  scale: RepairScale;
  /** Present when the original is itself a logical-mode gac output whose recorded scale it runs with. */
  originalScale?: RepairScale;
  seed: number;
  tokens: number;
  tolerance: number;
  toleranceReason: string;
  /** Overall figures (layerwise: the worst layer's maxima). */
  stats: DiffStats;
  layers?: LayerDiff[];
  /** stats.maxRelDiff <= tolerance (a NaN never passes). */
  pass: boolean;
}

function summary(h: ModelHandle): ModelSummary {
  const s = h.spec;
  return { dir: h.dir, family: s.family, modelType: s.modelType, dtype: s.dtype, params: h.params, headDim: s.headDim, numLayers: s.numLayers };
}

function checkInteger(name: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) throw new GacError("BAD_ARGS", `${name} must be an integer from ${min} to ${max}, got ${v}`);
  return v;
}

/** Logits of one model, its weights freed afterwards (only one model is held in float64 at a time). */
async function logitsOf(h: ModelHandle, tokenIds: number[], opts?: ForwardOptions): Promise<Float64Array> {
  try {
    return forwardLogits(await loadModel(h), tokenIds, opts);
  } finally {
    h.store.release(modelTensorNames(h.spec));
  }
}

/**
 * What `gac repair` never changes (it pads head_dim, ranks and the MLP width only): when one of
 * these differs the two are different models, and comparing their logits would report a
 * meaningless FAIL. Returns the first difference, or undefined.
 */
function unrelatedModels(a: ModelSpec, b: ModelSpec): string | undefined {
  const fields: [string, string | number, string | number][] = [
    ["model_type", a.modelType, b.modelType],
    ["num_hidden_layers", a.numLayers, b.numLayers],
    ["hidden_size", a.hiddenSize, b.hiddenSize],
    ["vocab_size", a.vocabSize, b.vocabSize],
  ];
  const diff = fields.find(([, x, y]) => x !== y);
  return diff === undefined ? undefined : `${diff[0]} differs (${JSON.stringify(diff[1])} vs ${JSON.stringify(diff[2])})`;
}

export async function verifyCheckpoints(originalDir: string, repairedDir: string, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const seed = checkInteger("seed", opts.seed ?? DEFAULT_SEED, 0, 2 ** 32 - 1);
  const tokens = checkInteger("tokens", opts.tokens ?? DEFAULT_TOKENS, 1, MAX_TOKENS);
  if (opts.tolerance !== undefined && !(opts.tolerance >= 0)) throw new GacError("BAD_ARGS", `tolerance must be a number >= 0, got ${opts.tolerance}`);
  const original = await openModel(originalDir);
  const repaired = await openModel(repairedDir);
  const scale = await readRepairScale(repaired.dir);
  const originalScale = await readRepairScale(original.dir);
  const unrelated = unrelatedModels(original.spec, repaired.spec);
  if (unrelated !== undefined) {
    throw new GacError("CONFIG_MISMATCH", `${repaired.dir} is not a repair of ${original.dir}: ${unrelated}, which repair never changes; compare a checkpoint with the output of \`gac repair\` on it`);
  }
  const tol = defaultTolerance(coarserDtype(original.spec.dtype, repaired.spec.dtype), scale.mode);
  const tolerance = opts.tolerance ?? tol.value;
  const toleranceReason = opts.tolerance === undefined ? tol.reason : "given with --tolerance";
  const forwardOf = (s: RepairScale): ForwardOptions => (s.attentionScale === undefined ? {} : { attentionScale: s.attentionScale });
  const repairedForward = forwardOf(scale);
  const originalForward = forwardOf(originalScale);
  const layerwise = useLayerwise(opts.layerwise === true, Math.max(original.params, repaired.params));

  let stats: DiffStats;
  let layers: LayerDiff[] | undefined;
  if (layerwise) {
    // Reports: the embeddings, every layer, then the logits.
    const total = original.spec.numLayers + 2;
    let done = 0;
    const next = (i: number) => (i === 0 ? "embeddings" : i <= original.spec.numLayers ? `layer ${i}/${original.spec.numLayers}` : i === total - 1 ? "logits" : "done");
    opts.onProgress?.({ done, total, current: next(0) });
    const onLayer = (d: LayerDiff, of: number) => {
      opts.onLayer?.(d, of);
      done++;
      opts.onProgress?.({ done, total, current: next(done) });
    };
    layers = await verifyLayerwise(original, repaired, { seed, tokens, originalForward, repairedForward, onLayer });
    stats = combineDiffStats(layers.map((l) => l.stats));
  } else {
    const ids = randomTokenIds(seed, tokens, original.spec.vocabSize);
    opts.onProgress?.({ done: 0, total: 2, current: "original forward" });
    const a = await logitsOf(original, ids, originalForward);
    opts.onProgress?.({ done: 1, total: 2, current: "repaired forward" });
    const b = await logitsOf(repaired, ids, repairedForward);
    opts.onProgress?.({ done: 2, total: 2, current: "done" });
    stats = diffStats(a, b, tokens);
  }
  return {
    original: summary(original),
    repaired: summary(repaired),
    mode: layerwise ? "layerwise" : "logits",
    scale,
    ...(originalScale.attentionScale !== undefined ? { originalScale } : {}),
    seed,
    tokens,
    tolerance,
    toleranceReason,
    stats,
    ...(layers ? { layers } : {}),
    pass: stats.maxRelDiff <= tolerance,
  };
}
