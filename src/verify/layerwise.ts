/**
 * Layer-by-layer verification for models too large to hold in float64 on the CPU: the same seeded
 * random hidden states go through decoder layer i of both models, one layer's weights in memory at
 * a time, and each layer's contribution to the residual stream (output - input) is compared.
 * Comparing the contribution rather than the output keeps the residual, identical on both sides,
 * out of the relative figure's denominator.
 */
import type { DiffStats } from "./compare.js";
import { diffStats } from "./compare.js";
import { RopeCache, decoderLayer, type ForwardOptions } from "./forward.js";
import type { ModelHandle } from "./load-model.js";
import { randomNormals } from "../util/prng.js";
import { layerTensorNames } from "./tensor-store.js";
import { GacError } from "../errors.js";

/** Above this many parameters `verifyCheckpoints` goes layer by layer: two float64 copies of 200M take 3.2 GB. */
export const LAYERWISE_PARAM_THRESHOLD = 200_000_000;

/** Layer by layer when asked, or when the larger model would not fit in float64 twice. */
export function useLayerwise(forced: boolean, params: number): boolean {
  return forced || params > LAYERWISE_PARAM_THRESHOLD;
}

export interface LayerDiff {
  layer: number;
  stats: DiffStats;
}

interface LayerwiseOptions {
  seed: number;
  tokens: number;
  originalForward?: ForwardOptions;
  repairedForward?: ForwardOptions;
  /** Called after each layer (progress). */
  onLayer?: (d: LayerDiff, of: number) => void;
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
  const diffs: LayerDiff[] = [];
  for (let i = 0; i < a.numLayers; i++) {
    // A different seed per layer, so no layer is checked only on the inputs another saw.
    const hidden = randomNormals(opts.seed + i, opts.tokens * a.hiddenSize);
    const x = await contribution(original, i, hidden, opts.tokens, opts.originalForward);
    const y = await contribution(repaired, i, hidden, opts.tokens, opts.repairedForward);
    const d = { layer: i, stats: diffStats(x, y, opts.tokens) };
    diffs.push(d);
    opts.onLayer?.(d, a.numLayers);
  }
  return diffs;
}
