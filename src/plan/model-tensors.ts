/**
 * Every tensor a ModelSpec names, with its shape and element size: the inventory the planner
 * counts parameters and bytes over (embeddings, norms and lm_head included, so overhead is a share
 * of the whole model, as a user sees it on disk).
 */
import { DTYPES } from "../checkpoint/types.js";
import { layerLinears, linearFactors } from "../model/layer-linears.js";
import type { ModelSpec } from "../model/types.js";

export interface TensorInfo {
  shape: number[];
  bytesPerElement: number;
}

/** inv_freq buffers are saved in float32 by HF (a registered buffer, never cast with the weights). */
const INV_FREQ_BYTES = DTYPES.F32.bytes;

export function modelTensors(spec: ModelSpec): Map<string, TensorInfo> {
  const tensors = new Map<string, TensorInfo>();
  const base = DTYPES[spec.dtype].bytes;
  const add = (name: string, shape: number[], bytesPerElement = base) => tensors.set(name, { shape, bytesPerElement });
  add(spec.embedTokens, [spec.vocabSize, spec.hiddenSize]);
  for (const layer of spec.layers) {
    add(layer.inputNorm, [spec.hiddenSize]);
    add(layer.postAttentionNorm, [spec.hiddenSize]);
    if (layer.rotaryInvFreq !== undefined) add(layer.rotaryInvFreq, [layer.attn.headDim / 2], INV_FREQ_BYTES);
    for (const { linear } of layerLinears(layer)) {
      for (const w of linearFactors(linear)) {
        const bytes = w.dtype ? DTYPES[w.dtype].bytes : base;
        add(w.tensor, [w.out, w.in], bytes);
        if (w.bias !== undefined) add(w.bias, [w.out], bytes);
      }
    }
  }
  add(spec.finalNorm, [spec.hiddenSize]);
  if (spec.lmHead !== spec.embedTokens) add(spec.lmHead, [spec.vocabSize, spec.hiddenSize]);
  return tensors;
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
