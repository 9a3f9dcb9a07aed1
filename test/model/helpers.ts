/**
 * Crafted config.json objects and tensor-shape maps for each family, small enough to read in a
 * test. A dense Llama map is the base; the as* helpers rewrite one projection into the tensors a
 * compressor stores (compressed_formats.md §1-3) so that tests state only what differs.
 */
import assert from "node:assert/strict";
import type { Dtype } from "../../src/checkpoint/types.js";
import { isGacError, type GacErrorCode } from "../../src/errors.js";

export type Shapes = Map<string, { dtype: Dtype; shape: number[] }>;

export interface LayerGeometry {
  heads: number;
  kvHeads: number;
  intermediate: number;
}

export interface DenseOptions {
  layers?: number;
  hidden?: number;
  heads?: number;
  kvHeads?: number;
  /** Defaults to hidden / heads. */
  headDim?: number;
  intermediate?: number;
  vocab?: number;
  /** q/k/v biases (Qwen2). */
  qkvBias?: boolean;
  /** o_proj and down_proj biases (FLAP compensation). */
  outBias?: boolean;
  /** No lm_head.weight. */
  tied?: boolean;
  dtype?: Dtype;
  /** Per-layer geometry that overrides heads/kvHeads/intermediate (pruned checkpoints). */
  layer?: (i: number) => Partial<LayerGeometry>;
}

const DEFAULTS = { layers: 2, hidden: 256, heads: 4, kvHeads: 2, intermediate: 512, vocab: 1000 };

export function llamaConfig(o: DenseOptions = {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const hidden = o.hidden ?? DEFAULTS.hidden;
  const heads = o.heads ?? DEFAULTS.heads;
  const config: Record<string, unknown> = {
    model_type: "llama",
    hidden_size: hidden,
    num_attention_heads: heads,
    num_key_value_heads: o.kvHeads ?? DEFAULTS.kvHeads,
    num_hidden_layers: o.layers ?? DEFAULTS.layers,
    intermediate_size: o.intermediate ?? DEFAULTS.intermediate,
    vocab_size: o.vocab ?? DEFAULTS.vocab,
    rms_norm_eps: 1e-5,
    rope_theta: 500000,
    tie_word_embeddings: o.tied ?? false,
  };
  if (o.headDim !== undefined) config.head_dim = o.headDim;
  return { ...config, ...extra };
}

export function denseShapes(o: DenseOptions = {}): Shapes {
  const dtype = o.dtype ?? "BF16";
  const hidden = o.hidden ?? DEFAULTS.hidden;
  const heads = o.heads ?? DEFAULTS.heads;
  const headDim = o.headDim ?? hidden / heads;
  const vocab = o.vocab ?? DEFAULTS.vocab;
  const shapes: Shapes = new Map();
  const put = (name: string, shape: number[]) => shapes.set(name, { dtype, shape });
  put("model.embed_tokens.weight", [vocab, hidden]);
  for (let i = 0; i < (o.layers ?? DEFAULTS.layers); i++) {
    const g: LayerGeometry = { heads, kvHeads: o.kvHeads ?? DEFAULTS.kvHeads, intermediate: o.intermediate ?? DEFAULTS.intermediate, ...o.layer?.(i) };
    const p = `model.layers.${i}`;
    put(`${p}.input_layernorm.weight`, [hidden]);
    put(`${p}.post_attention_layernorm.weight`, [hidden]);
    const linear = (name: string, out: number, inFeatures: number, bias: boolean) => {
      put(`${p}.${name}.weight`, [out, inFeatures]);
      if (bias) put(`${p}.${name}.bias`, [out]);
    };
    linear("self_attn.q_proj", g.heads * headDim, hidden, o.qkvBias ?? false);
    linear("self_attn.k_proj", g.kvHeads * headDim, hidden, o.qkvBias ?? false);
    linear("self_attn.v_proj", g.kvHeads * headDim, hidden, o.qkvBias ?? false);
    linear("self_attn.o_proj", hidden, g.heads * headDim, o.outBias ?? false);
    linear("mlp.gate_proj", g.intermediate, hidden, false);
    linear("mlp.up_proj", g.intermediate, hidden, false);
    linear("mlp.down_proj", hidden, g.intermediate, o.outBias ?? false);
  }
  put("model.norm.weight", [hidden]);
  if (!(o.tied ?? false)) put("lm_head.weight", [vocab, hidden]);
  return shapes;
}

/** Removes a dense projection and returns its [out, in], its bias flag and dtype. */
function takeDense(shapes: Shapes, base: string): { out: number; in: number; bias: boolean; dtype: Dtype } {
  const w = shapes.get(`${base}.weight`);
  if (w === undefined) throw new Error(`test helper: no dense '${base}.weight' to rewrite`);
  const bias = shapes.delete(`${base}.bias`);
  shapes.delete(`${base}.weight`);
  return { out: w.shape[0], in: w.shape[1], bias, dtype: w.dtype };
}

/** ASVD: base.BLinear.weight [r, in], base.ALinear.weight [out, r] (+ ALinear.bias). */
export function asAsvd(shapes: Shapes, layer: number, module: string, rank: number): Shapes {
  const base = `model.layers.${layer}.${module}`;
  const d = takeDense(shapes, base);
  shapes.set(`${base}.BLinear.weight`, { dtype: d.dtype, shape: [rank, d.in] });
  shapes.set(`${base}.ALinear.weight`, { dtype: d.dtype, shape: [d.out, rank] });
  if (d.bias) shapes.set(`${base}.ALinear.bias`, { dtype: d.dtype, shape: [d.out] });
  return shapes;
}

/** SVD-LLM: self_attn.q_proj -> self_attn.q_v_proj [r, in] and self_attn.q_u_proj [out, r]. */
export function asSvdLlm(shapes: Shapes, layer: number, module: string, rank: number): Shapes {
  const base = `model.layers.${layer}.${module}`;
  const d = takeDense(shapes, base);
  const stem = base.replace(/_proj$/, "");
  shapes.set(`${stem}_v_proj.weight`, { dtype: d.dtype, shape: [rank, d.in] });
  shapes.set(`${stem}_u_proj.weight`, { dtype: d.dtype, shape: [d.out, rank] });
  if (d.bias) shapes.set(`${stem}_u_proj.bias`, { dtype: d.dtype, shape: [d.out] });
  return shapes;
}

/** PaLU: base.VT.weight [sum r_g, in], base.U.{g}.weight [out / groups, r_g] (+ U.{g}.bias). */
export function asPalu(shapes: Shapes, layer: number, module: string, ranks: number[]): Shapes {
  const base = `model.layers.${layer}.${module}`;
  const d = takeDense(shapes, base);
  const groupDim = d.out / ranks.length;
  shapes.set(`${base}.VT.weight`, { dtype: d.dtype, shape: [ranks.reduce((a, b) => a + b, 0), d.in] });
  for (const [g, r] of ranks.entries()) {
    shapes.set(`${base}.U.${g}.weight`, { dtype: d.dtype, shape: [groupDim, r] });
    if (d.bias) shapes.set(`${base}.U.${g}.bias`, { dtype: d.dtype, shape: [groupDim] });
  }
  return shapes;
}

/** Applies `rewrite` to every layer of a map built with `layers` layers. */
export function everyLayer(shapes: Shapes, layers: number, rewrite: (shapes: Shapes, layer: number) => void): Shapes {
  for (let i = 0; i < layers; i++) rewrite(shapes, i);
  return shapes;
}

/** Asserts that `run` throws a GacError with `code` whose one-line message matches every pattern. */
export function throwsGac(run: () => unknown, code: GacErrorCode, ...patterns: (string | RegExp)[]): void {
  assert.throws(run, (e: unknown) => {
    assert.ok(isGacError(e), `expected a GacError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.ok(!e.message.includes("\n"), "message is one line");
    for (const p of patterns) {
      if (typeof p === "string") assert.ok(e.message.includes(p), `message lacks '${p}': ${e.message}`);
      else assert.match(e.message, p);
    }
    return true;
  });
}
