/**
 * Causal grouped-query self-attention as HF LlamaAttention computes it (eager path), in float64:
 * q/k/v projections, RoPE on q and k, scores = q.k * scale, causal mask, softmax with the row max
 * subtracted, weighted sum of v, o_proj. q head h reads kv head floor(h / (numHeads / numKvHeads)).
 */
import { GacError } from "../errors.js";
import type { AttentionSpec } from "../model/types.js";
import { applyLinear } from "./linear.js";
import { applyRope, type RopeTables } from "./rope.js";
import type { Weights } from "./tensor-store.js";

/** The kv head that q head `h` reads (HF repeat_kv: each kv head serves numHeads/numKvHeads consecutive q heads). */
export function kvHeadFor(h: number, numHeads: number, numKvHeads: number): number {
  return Math.floor(h / (numHeads / numKvHeads));
}

/**
 * Core attention on already-projected, already-rotated q [seq, H*dk], k [seq, KV*dk], v [seq, KV*dv]:
 * returns [seq, H*dv]. Position i attends to positions 0..i only.
 */
export function causalAttention(
  q: Float64Array,
  k: Float64Array,
  v: Float64Array,
  seqLen: number,
  numHeads: number,
  numKvHeads: number,
  headDim: number,
  headDimV: number,
  scale: number,
): Float64Array {
  if (numHeads % numKvHeads !== 0) {
    throw new GacError("UNKNOWN_LAYOUT", `${numHeads} query heads cannot share ${numKvHeads} kv heads evenly (GQA needs a whole ratio)`);
  }
  const out = new Float64Array(seqLen * numHeads * headDimV);
  const scores = new Float64Array(seqLen);
  for (let h = 0; h < numHeads; h++) {
    const kvh = kvHeadFor(h, numHeads, numKvHeads);
    for (let i = 0; i < seqLen; i++) {
      const qo = (i * numHeads + h) * headDim;
      let max = -Infinity;
      for (let j = 0; j <= i; j++) {
        const ko = (j * numKvHeads + kvh) * headDim;
        let dot = 0;
        for (let d = 0; d < headDim; d++) dot += q[qo + d] * k[ko + d];
        scores[j] = dot * scale;
        if (scores[j] > max) max = scores[j];
      }
      let sum = 0;
      for (let j = 0; j <= i; j++) {
        scores[j] = Math.exp(scores[j] - max);
        sum += scores[j];
      }
      const oo = (i * numHeads + h) * headDimV;
      for (let j = 0; j <= i; j++) {
        const p = scores[j] / sum;
        const vo = (j * numKvHeads + kvh) * headDimV;
        for (let d = 0; d < headDimV; d++) out[oo + d] += p * v[vo + d];
      }
    }
  }
  return out;
}

/** The attention block: x [seq, hidden] (already normed) -> [seq, hidden]. */
export function attentionBlock(spec: AttentionSpec, weights: Weights, x: Float64Array, seqLen: number, rope: RopeTables, scale: number): Float64Array {
  const q = applyLinear(spec.q, weights, x, seqLen);
  const k = applyLinear(spec.k, weights, x, seqLen);
  const v = applyLinear(spec.v, weights, x, seqLen);
  applyRope(q, seqLen, spec.numHeads, spec.headDim, rope);
  applyRope(k, seqLen, spec.numKvHeads, spec.headDim, rope);
  const ctx = causalAttention(q, k, v, seqLen, spec.numHeads, spec.numKvHeads, spec.headDim, spec.headDimV, scale);
  return applyLinear(spec.o, weights, ctx, seqLen);
}
