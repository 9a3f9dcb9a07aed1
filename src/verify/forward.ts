/**
 * The reference forward pass of a Llama-family ModelSpec on the CPU, in float64 throughout:
 * embedding lookup, decoder layers (RMSNorm -> attention -> residual, RMSNorm -> MLP -> residual),
 * final RMSNorm, lm_head. Layers may differ in heads, head_dim and intermediate width (pruned models).
 */
import { GacError, formatCount } from "../errors.js";
import type { LayerSpec, ModelSpec } from "../model/types.js";
import { attentionBlock } from "./attention.js";
import { matmulWeight } from "./linear.js";
import { mlpBlock } from "./mlp.js";
import { rmsNorm } from "./rmsnorm.js";
import { ropeInvFreq, ropeTables, type RopeTables } from "./rope.js";
import { requireWeight, type Weights } from "./tensor-store.js";

export interface LoadedModel {
  spec: ModelSpec;
  weights: Weights;
}

export interface ForwardOptions {
  /**
   * The softmax scale, replacing head_dim^-0.5: one number for every layer, or one per layer.
   * A repair in "logical" scale mode pads head_dim d -> D without folding sqrt(D/d) into q_proj and
   * records d^-0.5 here instead.
   */
  attentionScale?: number | number[];
}

function layerAttentionScale(layer: LayerSpec, opts: ForwardOptions | undefined): number {
  const s = opts?.attentionScale;
  if (s === undefined) return Math.pow(layer.attn.headDim, -0.5);
  if (typeof s === "number") return s;
  const v = s[layer.index];
  if (v === undefined) throw new GacError("BAD_ARGS", `attention scale list has ${s.length} entries but layer ${layer.index} needs one`);
  return v;
}

/** RoPE tables per head_dim, computed once per forward (pruned layers may share or differ). */
export class RopeCache {
  private readonly tables = new Map<number, RopeTables>();
  constructor(
    private readonly spec: ModelSpec,
    private readonly seqLen: number,
  ) {}
  get(headDim: number): RopeTables {
    let t = this.tables.get(headDim);
    if (t === undefined) {
      t = ropeTables(ropeInvFreq(headDim, this.spec.rope), this.seqLen);
      this.tables.set(headDim, t);
    }
    return t;
  }
}

/** One decoder layer: hidden [seq, hiddenSize] -> new hidden [seq, hiddenSize] (the input is not modified). */
export function decoderLayer(spec: ModelSpec, layer: LayerSpec, weights: Weights, hidden: Float64Array, seqLen: number, rope: RopeCache, opts?: ForwardOptions): Float64Array {
  const h = spec.hiddenSize;
  const n1 = rmsNorm(hidden, seqLen, h, requireWeight(weights, layer.inputNorm, h), spec.rmsNormEps);
  const attn = attentionBlock(layer.attn, weights, n1, seqLen, rope.get(layer.attn.headDim), layerAttentionScale(layer, opts));
  const mid = new Float64Array(seqLen * h);
  for (let i = 0; i < mid.length; i++) mid[i] = hidden[i] + attn[i];
  const n2 = rmsNorm(mid, seqLen, h, requireWeight(weights, layer.postAttentionNorm, h), spec.rmsNormEps);
  const mlp = mlpBlock(layer.mlp, weights, n2, seqLen);
  for (let i = 0; i < mid.length; i++) mid[i] += mlp[i];
  return mid;
}

export function embedTokens(spec: ModelSpec, weights: Weights, tokenIds: readonly number[]): Float64Array {
  const h = spec.hiddenSize;
  const table = requireWeight(weights, spec.embedTokens, spec.vocabSize * h);
  const out = new Float64Array(tokenIds.length * h);
  tokenIds.forEach((id, p) => {
    if (!Number.isInteger(id) || id < 0 || id >= spec.vocabSize) {
      throw new GacError("BAD_ARGS", `token id ${id} at position ${p} is outside the vocabulary (0..${formatCount(spec.vocabSize - 1)})`);
    }
    out.set(table.subarray(id * h, (id + 1) * h), p * h);
  });
  return out;
}

/** Final RMSNorm then lm_head: hidden [seq, hiddenSize] -> logits [seq, vocab]. */
function headLogits(spec: ModelSpec, weights: Weights, hidden: Float64Array, seqLen: number): Float64Array {
  const h = spec.hiddenSize;
  const normed = rmsNorm(hidden, seqLen, h, requireWeight(weights, spec.finalNorm, h), spec.rmsNormEps);
  const lmHead = requireWeight(weights, spec.lmHead, spec.vocabSize * h);
  return matmulWeight(normed, seqLen, h, 0, lmHead, undefined, h, spec.vocabSize);
}

/** Logits [seq, vocab] row-major for one sequence of token ids at positions 0..seq-1. */
export function forwardLogits(model: LoadedModel, tokenIds: readonly number[], opts?: ForwardOptions): Float64Array {
  const { spec, weights } = model;
  const seqLen = tokenIds.length;
  if (seqLen === 0) throw new GacError("BAD_ARGS", "the forward pass needs at least one token");
  const rope = new RopeCache(spec, seqLen);
  let hidden = embedTokens(spec, weights, tokenIds);
  for (const layer of spec.layers) hidden = decoderLayer(spec, layer, weights, hidden, seqLen, rope, opts);
  return headLogits(spec, weights, hidden, seqLen);
}
