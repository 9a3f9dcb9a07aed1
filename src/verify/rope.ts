/**
 * Rotary position embedding as HF transformers computes it for Llama-family models
 * (modeling_rope_utils.py + modeling_llama.py), in float64.
 *
 * HF computes inv_freq and cos/sin in float32; the formulas here are the same, evaluated in float64,
 * so that the exactness identities of repair (rope_theta' = rope_theta^(D/d)) can be checked at the
 * 1e-12 level instead of drowning in float32 rounding.
 */
import { GacError } from "../errors.js";
import type { RopeSpec } from "../model/types.js";

/**
 * `_compute_default_rope_parameters`: dim = int(head_dim * partial_rotary_factor),
 * inv_freq[j] = 1 / base^((2j) / dim) for j < dim/2; then the rope type's rescaling
 * (`linear`: inv_freq / factor; `llama3`: `_compute_llama3_parameters`). Other types are refused.
 */
export function ropeInvFreq(headDim: number, rope: RopeSpec): Float64Array {
  const dim = Math.trunc(headDim * rope.partialRotaryFactor);
  const half = Math.floor((dim + 1) / 2); // torch.arange(0, dim, 2) has ceil(dim/2) entries
  const invFreq = new Float64Array(half);
  for (let j = 0; j < half; j++) invFreq[j] = 1 / Math.pow(rope.theta, (2 * j) / dim);
  const s = rope.scaling;
  switch (s.type) {
    case "default":
      return invFreq;
    case "linear":
      for (let j = 0; j < half; j++) invFreq[j] = invFreq[j] / s.factor;
      return invFreq;
    case "llama3":
      return llama3Rescale(invFreq, s.factor, s.lowFreqFactor, s.highFreqFactor, s.originalMaxPositionEmbeddings);
    case "other":
      throw new GacError(
        "UNSUPPORTED",
        `rope type '${s.name}' is not supported by the reference forward (default, linear and llama3 are): its frequencies depend on head_dim in ways not checked here`,
      );
  }
}

/**
 * `_compute_llama3_parameters`: wavelengths shorter than original_max/high_freq_factor keep their
 * frequency, longer than original_max/low_freq_factor divide it by `factor`, and those between are
 * interpolated with smooth = (original_max / wavelen - low) / (high - low).
 */
function llama3Rescale(invFreq: Float64Array, factor: number, low: number, high: number, oldContext: number): Float64Array {
  const lowFreqWavelen = oldContext / low;
  const highFreqWavelen = oldContext / high;
  const out = new Float64Array(invFreq.length);
  for (let j = 0; j < invFreq.length; j++) {
    const f = invFreq[j];
    const wavelen = (2 * Math.PI) / f;
    const scaled = wavelen > lowFreqWavelen ? f / factor : f;
    const isMedium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
    if (isMedium) {
      const smooth = (oldContext / wavelen - low) / (high - low);
      out[j] = ((1 - smooth) * scaled) / factor + smooth * scaled;
    } else {
      out[j] = scaled;
    }
  }
  return out;
}

/** cos/sin tables [seq, dim/2] for positions 0..seq-1 (emb = cat(freqs, freqs) repeats them per half). */
export interface RopeTables {
  cos: Float64Array;
  sin: Float64Array;
  half: number;
}

export function ropeTables(invFreq: Float64Array, seqLen: number): RopeTables {
  const half = invFreq.length;
  const cos = new Float64Array(seqLen * half);
  const sin = new Float64Array(seqLen * half);
  for (let p = 0; p < seqLen; p++) {
    for (let j = 0; j < half; j++) {
      const angle = p * invFreq[j];
      cos[p * half + j] = Math.cos(angle);
      sin[p * half + j] = Math.sin(angle);
    }
  }
  return { cos, sin, half };
}

/**
 * In place on x [seq, numHeads * headDim]: x*cos + rotate_half(x)*sin per head, where
 * rotate_half(x) = cat(-x[half:], x[:half]), so dim i pairs with i + headDim/2 (NeoX half-split).
 * HF Llama has no rot/pass split, so the tables must cover the whole head (partial_rotary_factor 1).
 */
export function applyRope(x: Float64Array, seqLen: number, numHeads: number, headDim: number, t: RopeTables): void {
  if (headDim % 2 !== 0) {
    throw new GacError("UNSUPPORTED", `head_dim ${headDim} is odd: rotate_half cannot pair its dimensions, so RoPE is undefined`);
  }
  const half = headDim / 2;
  if (t.half !== half) {
    throw new GacError("UNSUPPORTED", `RoPE covers ${2 * t.half} of head_dim ${headDim} dims (partial_rotary_factor != 1): HF Llama applies RoPE to the whole head and would fail to broadcast`);
  }
  for (let p = 0; p < seqLen; p++) {
    const row = p * numHeads * headDim;
    for (let h = 0; h < numHeads; h++) {
      const base = row + h * headDim;
      for (let i = 0; i < half; i++) {
        const c = t.cos[p * half + i];
        const s = t.sin[p * half + i];
        const a = x[base + i];
        const b = x[base + half + i];
        x[base + i] = a * c + -b * s;
        x[base + half + i] = b * c + a * s;
      }
    }
  }
}
