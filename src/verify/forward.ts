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
  /**
   * Sees the input of every linear map as it is computed (compress/ collects calibration
   * statistics this way); the arrays are the forward's own and must not be modified.
   */
  observe?: ActivationObserver;
}

/** Where a linear map reads its input: q/k/v share the attention input, gate/up the MLP input. */
export type ActivationSite = "attn_in" | "o_in" | "mlp_in" | "down_in";

/** x is [rows, width] row-major (rows: every token of every sequence in the batch). */
export type ActivationObserver = (layer: number, site: ActivationSite, x: Float64Array, rows: number, width: number) => void;

export function layerAttentionScale(layer: LayerSpec, opts: ForwardOptions | undefined): number {
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

/**
 * One decoder layer: hidden [batch * seq, hiddenSize] -> new hidden of the same shape (the input is
 * not modified). `batch` independent sequences of `seqLen` tokens each.
 */
export function decoderLayer(spec: ModelSpec, layer: LayerSpec, weights: Weights, hidden: Float64Array, seqLen: number, rope: RopeCache, opts?: ForwardOptions, batch = 1): Float64Array {
  const h = spec.hiddenSize;
  const rows = batch * seqLen;
  const n1 = rmsNorm(hidden, rows, h, requireWeight(weights, layer.inputNorm, h), spec.rmsNormEps);
  const observe = opts?.observe && ((site: ActivationSite, x: Float64Array, width: number) => opts.observe!(layer.index, site, x, rows, width));
  observe?.("attn_in", n1, h);
  const attn = attentionBlock(layer.attn, weights, n1, seqLen, rope.get(layer.attn.headDim), layerAttentionScale(layer, opts), batch, observe && ((ctx) => observe("o_in", ctx, layer.attn.o.in)));
  const mid = new Float64Array(rows * h);
  for (let i = 0; i < mid.length; i++) mid[i] = hidden[i] + attn[i];
  const n2 = rmsNorm(mid, rows, h, requireWeight(weights, layer.postAttentionNorm, h), spec.rmsNormEps);
  observe?.("mlp_in", n2, h);
  const mlp = mlpBlock(layer.mlp, weights, n2, rows, observe && ((act) => observe("down_in", act, layer.mlp.intermediate)));
  for (let i = 0; i < mid.length; i++) mid[i] += mlp[i];
  return mid;
}

export function embedTokens(spec: ModelSpec, weights: Weights, tokenIds: ArrayLike<number>): Float64Array {
  const h = spec.hiddenSize;
  const table = requireWeight(weights, spec.embedTokens, spec.vocabSize * h);
  const out = new Float64Array(tokenIds.length * h);
  for (let p = 0; p < tokenIds.length; p++) {
    const id = tokenIds[p];
    if (!Number.isInteger(id) || id < 0 || id >= spec.vocabSize) {
      throw new GacError("BAD_ARGS", `token id ${id} at position ${p} is outside the vocabulary (0..${formatCount(spec.vocabSize - 1)})`);
    }
    out.set(table.subarray(id * h, (id + 1) * h), p * h);
  }
  return out;
}

/** Final RMSNorm then lm_head: hidden [seq, hiddenSize] -> logits [seq, vocab]. */
export function headLogits(spec: ModelSpec, weights: Weights, hidden: Float64Array, seqLen: number): Float64Array {
  const h = spec.hiddenSize;
  const normed = rmsNorm(hidden, seqLen, h, requireWeight(weights, spec.finalNorm, h), spec.rmsNormEps);
  const lmHead = requireWeight(weights, spec.lmHead, spec.vocabSize * h);
  return matmulWeight(normed, seqLen, h, 0, lmHead, undefined, h, spec.vocabSize);
}

/** Logits [seq, vocab] row-major for one sequence of token ids at positions 0..seq-1. */
export function forwardLogits(model: LoadedModel, tokenIds: ArrayLike<number>, opts?: ForwardOptions): Float64Array {
  return forwardBatchLogits(model, tokenIds, tokenIds.length, opts);
}

/**
 * Logits [batch * seq, vocab] for `tokenIds.length / seqLen` independent sequences laid end to end,
 * each at positions 0..seq-1. One sequence's logits do not depend on the others in the batch: the
 * projections treat rows independently and attention runs per sequence.
 */
export function forwardBatchLogits(model: LoadedModel, tokenIds: ArrayLike<number>, seqLen: number, opts?: ForwardOptions): Float64Array {
  const { spec, weights } = model;
  if (seqLen === 0 || tokenIds.length === 0) throw new GacError("BAD_ARGS", "the forward pass needs at least one token");
  if (tokenIds.length % seqLen !== 0) throw new Error(`forwardBatchLogits: ${tokenIds.length} tokens are not whole sequences of ${seqLen}`);
  const batch = tokenIds.length / seqLen;
  const rope = new RopeCache(spec, seqLen);
  let hidden = embedTokens(spec, weights, tokenIds);
  for (const layer of spec.layers) hidden = decoderLayer(spec, layer, weights, hidden, seqLen, rope, opts, batch);
  return headLogits(spec, weights, hidden, batch * seqLen);
}
