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
 *
 * Queries go four at a time (each k and v row loaded once serves four of them: ~3x faster), but
 * each output is computed exactly as one query alone would be: its scores as one in-order dot
 * product over d, softmax with its own row max, exp, sum and divide in key order, then the
 * weighted sum of v in key order. So results do not depend on the blocking (tested).
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
  const scores = [0, 1, 2, 3].map(() => new Float64Array(seqLen));
  const [s0, s1, s2, s3] = scores;
  const qStride = numHeads * headDim;
  const kStride = numKvHeads * headDim;
  const vStride = numKvHeads * headDimV;
  const oStride = numHeads * headDimV;
  for (let h = 0; h < numHeads; h++) {
    const kvh = kvHeadFor(h, numHeads, numKvHeads);
    for (let i0 = 0; i0 < seqLen; i0 += 4) {
      const nb = Math.min(4, seqLen - i0);
      const q0 = i0 * qStride + h * headDim;
      // Scores: keys 0..i0 are seen by all queries of the block, i0+1..i0+nb-1 by the later ones.
      for (let j = 0; j <= i0 + nb - 1; j++) {
        const ko = j * kStride + kvh * headDim;
        if (nb === 4 && j <= i0) {
          let d0 = 0,
            d1 = 0,
            d2 = 0,
            d3 = 0;
          for (let d = 0; d < headDim; d++) {
            const kd = k[ko + d];
            d0 += q[q0 + d] * kd;
            d1 += q[q0 + qStride + d] * kd;
            d2 += q[q0 + 2 * qStride + d] * kd;
            d3 += q[q0 + 3 * qStride + d] * kd;
          }
          s0[j] = d0 * scale;
          s1[j] = d1 * scale;
          s2[j] = d2 * scale;
          s3[j] = d3 * scale;
        } else {
          for (let b = Math.max(0, j - i0); b < nb; b++) {
            const qo = q0 + b * qStride;
            let dot = 0;
            for (let d = 0; d < headDim; d++) dot += q[qo + d] * k[ko + d];
            scores[b][j] = dot * scale;
          }
        }
      }
      // Softmax per query, over its own keys 0..i.
      for (let b = 0; b < nb; b++) {
        const sc = scores[b];
        const last = i0 + b;
        let max = -Infinity;
        for (let j = 0; j <= last; j++) if (sc[j] > max) max = sc[j];
        let sum = 0;
        for (let j = 0; j <= last; j++) {
          sc[j] = Math.exp(sc[j] - max);
          sum += sc[j];
        }
        for (let j = 0; j <= last; j++) sc[j] = sc[j] / sum;
      }
      // Weighted sums of v, keys in order.
      const o0 = i0 * oStride + h * headDimV;
      for (let j = 0; j <= i0 + nb - 1; j++) {
        const vo = j * vStride + kvh * headDimV;
        if (nb === 4 && j <= i0) {
          const p0 = s0[j],
            p1 = s1[j],
            p2 = s2[j],
            p3 = s3[j];
          for (let d = 0; d < headDimV; d++) {
            const vd = v[vo + d];
            out[o0 + d] += p0 * vd;
            out[o0 + oStride + d] += p1 * vd;
            out[o0 + 2 * oStride + d] += p2 * vd;
            out[o0 + 3 * oStride + d] += p3 * vd;
          }
        } else {
          for (let b = Math.max(0, j - i0); b < nb; b++) {
            const p = scores[b][j];
            const oo = o0 + b * oStride;
            for (let d = 0; d < headDimV; d++) out[oo + d] += p * v[vo + d];
          }
        }
      }
    }
  }
  return out;
}

/**
 * The attention block: x [batch * seq, hidden] (already normed) -> [batch * seq, hidden]. The
 * projections run over all rows at once; RoPE and attention run per sequence of `seqLen` rows
 * (each sequence starts at position 0 and sees only itself).
 */
export function attentionBlock(
  spec: AttentionSpec,
  weights: Weights,
  x: Float64Array,
  seqLen: number,
  rope: RopeTables,
  scale: number,
  batch = 1,
  /** Sees the attention output [batch * seq, numHeads * headDimV] before o_proj. */
  observeContext?: (ctx: Float64Array) => void,
): Float64Array {
  const rows = batch * seqLen;
  const q = applyLinear(spec.q, weights, x, rows);
  const k = applyLinear(spec.k, weights, x, rows);
  const v = applyLinear(spec.v, weights, x, rows);
  const qWidth = spec.numHeads * spec.headDim;
  const kWidth = spec.numKvHeads * spec.headDim;
  const vWidth = spec.numKvHeads * spec.headDimV;
  const ctxWidth = spec.numHeads * spec.headDimV;
  const ctx = new Float64Array(rows * ctxWidth);
  for (let b = 0; b < batch; b++) {
    const seq = <T extends Float64Array>(a: T, width: number) => a.subarray(b * seqLen * width, (b + 1) * seqLen * width);
    const qb = seq(q, qWidth);
    const kb = seq(k, kWidth);
    applyRope(qb, seqLen, spec.numHeads, spec.headDim, rope);
    applyRope(kb, seqLen, spec.numKvHeads, spec.headDim, rope);
    ctx.set(causalAttention(qb, kb, seq(v, vWidth), seqLen, spec.numHeads, spec.numKvHeads, spec.headDim, spec.headDimV, scale), b * seqLen * ctxWidth);
  }
  observeContext?.(ctx);
  return applyLinear(spec.o, weights, ctx, rows);
}
