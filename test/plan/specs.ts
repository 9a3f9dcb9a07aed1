/** Crafted ModelSpecs for plan/ and scan/ tests: small Llama-shaped models with one family's factor layout. */
import type { LayerSpec, LinearSpec, ModelSpec, RopeSpec, WeightRef } from "../../src/model/types.js";

export interface SpecShape {
  layers?: number;
  hidden?: number;
  heads?: number;
  kvHeads?: number;
  headDim?: number;
  intermediate?: number;
  vocab?: number;
  bias?: boolean;
  rope?: RopeSpec;
  tied?: boolean;
  family?: ModelSpec["family"];
  /** Replace a layer's linears (PaLU k/v, ASVD pairs, ...). */
  linears?: (layer: number, dense: DenseLinears) => Partial<DenseLinears>;
}

export interface DenseLinears {
  q: LinearSpec;
  k: LinearSpec;
  v: LinearSpec;
  o: LinearSpec;
  gate: LinearSpec;
  up: LinearSpec;
  down: LinearSpec;
}

export function weight(tensor: string, out: number, inp: number, bias = false): WeightRef {
  const w: WeightRef = { tensor: `${tensor}.weight`, out, in: inp };
  if (bias) w.bias = `${tensor}.bias`;
  return w;
}

export function dense(tensor: string, out: number, inp: number, bias = false): LinearSpec {
  return { kind: "dense", in: inp, out, weight: weight(tensor, out, inp, bias) };
}

/** ASVD/SVD-LLM factor pair: first [rank, in], second [out, rank] (+bias on the second). */
export function lowrank(first: string, second: string, out: number, inp: number, rank: number, bias = false): LinearSpec {
  return { kind: "lowrank", in: inp, out, rank, first: weight(first, rank, inp), second: weight(second, out, rank, bias) };
}

/** PaLU HeadwiseLowRankModule: VT [sum r, in], U.g [groupDim, r_g]. */
export function grouped(prefix: string, inp: number, groupDim: number, ranks: number[], bias = false): LinearSpec {
  return {
    kind: "grouped",
    in: inp,
    out: groupDim * ranks.length,
    ranks,
    groupDim,
    first: weight(
      `${prefix}.VT`,
      ranks.reduce((a, b) => a + b, 0),
      inp,
    ),
    groups: ranks.map((r, g) => weight(`${prefix}.U.${g}`, groupDim, r, bias)),
  };
}

export function craftSpec(s: SpecShape = {}): ModelSpec {
  const layers = s.layers ?? 2;
  const hidden = s.hidden ?? 256;
  const heads = s.heads ?? 4;
  const kvHeads = s.kvHeads ?? 2;
  const headDim = s.headDim ?? 64;
  const inter = s.intermediate ?? 512;
  const vocab = s.vocab ?? 1024;
  const bias = s.bias ?? false;
  const layerSpecs: LayerSpec[] = [];
  for (let i = 0; i < layers; i++) {
    const p = `model.layers.${i}`;
    const base: DenseLinears = {
      q: dense(`${p}.self_attn.q_proj`, heads * headDim, hidden, bias),
      k: dense(`${p}.self_attn.k_proj`, kvHeads * headDim, hidden, bias),
      v: dense(`${p}.self_attn.v_proj`, kvHeads * headDim, hidden, bias),
      o: dense(`${p}.self_attn.o_proj`, hidden, heads * headDim),
      gate: dense(`${p}.mlp.gate_proj`, inter, hidden),
      up: dense(`${p}.mlp.up_proj`, inter, hidden),
      down: dense(`${p}.mlp.down_proj`, hidden, inter),
    };
    const l = { ...base, ...(s.linears?.(i, base) ?? {}) };
    layerSpecs.push({
      index: i,
      inputNorm: `${p}.input_layernorm.weight`,
      postAttentionNorm: `${p}.post_attention_layernorm.weight`,
      attn: { numHeads: heads, numKvHeads: kvHeads, headDim, headDimV: headDim, q: l.q, k: l.k, v: l.v, o: l.o },
      mlp: { intermediate: l.gate.out, gate: l.gate, up: l.up, down: l.down },
    });
  }
  const tied = s.tied ?? false;
  return {
    family: s.family ?? "dense",
    modelType: "llama",
    hiddenSize: hidden,
    vocabSize: vocab,
    numLayers: layers,
    rmsNormEps: 1e-5,
    rope: s.rope ?? { theta: 500000, scaling: { type: "default" }, partialRotaryFactor: 1 },
    numHeads: heads,
    numKvHeads: kvHeads,
    headDim,
    embedTokens: "model.embed_tokens.weight",
    lmHead: tied ? "model.embed_tokens.weight" : "lm_head.weight",
    finalNorm: "model.norm.weight",
    tieWordEmbeddings: tied,
    dtype: "BF16",
    layers: layerSpecs,
    heterogeneous: false,
    configDisagreements: [],
  };
}

/** Parameters of craftSpec's dense model, counted by hand: the oracle for overhead arithmetic. */
export function denseParams(s: { layers: number; hidden: number; heads: number; kvHeads: number; headDim: number; intermediate: number; vocab: number; bias: boolean }): number {
  const { layers, hidden, heads, kvHeads, headDim, intermediate, vocab, bias } = s;
  const attn = hidden * heads * headDim * 2 + hidden * kvHeads * headDim * 2 + (bias ? heads * headDim + 2 * kvHeads * headDim : 0);
  const mlp = 3 * hidden * intermediate;
  return layers * (attn + mlp + 2 * hidden) + 2 * vocab * hidden + hidden;
}
