/** Tiny configs and tensor shape maps for the pure repair tests: one layer, shapes only. */
import type { Dtype, TensorShapes } from "../../src/checkpoint/types.js";
import { buildModelSpec } from "../../src/model/build-model-spec.js";
import type { ModelSpec } from "../../src/model/types.js";
import type { DimChange, DimSite } from "../../src/plan/types.js";

export interface TinyOptions {
  form: "dense" | "palu" | "asvd" | "svdllm";
  hidden?: number;
  heads?: number;
  kvHeads?: number;
  headDim?: number;
  intermediate?: number;
  /** q/k/v biases (Qwen2). */
  bias?: boolean;
  /** Low-rank rank of every factored linear (asvd, svdllm). */
  rank?: number;
  /** PaLU per-group ranks of k and v (groups = length). */
  paluRanks?: number[];
  dtype?: Dtype;
  config?: Record<string, unknown>;
}

export function tinyModel(o: TinyOptions): { config: Record<string, unknown>; shapes: TensorShapes; spec: ModelSpec } {
  const hidden = o.hidden ?? 16;
  const paluGroups = o.form === "palu" ? (o.paluRanks ?? [3, 5]).length : 1;
  const kv = o.kvHeads ?? paluGroups;
  const heads = o.heads ?? 2 * kv;
  const d = o.headDim ?? 6;
  const inter = o.intermediate ?? 10;
  const dtype = o.dtype ?? "F32";
  const shapes = new Map<string, { dtype: Dtype; shape: number[] }>();
  const add = (name: string, shape: number[]) => shapes.set(name, { dtype, shape });
  const p = "model.layers.0";
  add("model.embed_tokens.weight", [32, hidden]);
  add("model.norm.weight", [hidden]);
  add("lm_head.weight", [32, hidden]);
  add(`${p}.input_layernorm.weight`, [hidden]);
  add(`${p}.post_attention_layernorm.weight`, [hidden]);
  const linears: [string, number, number][] = [
    ["self_attn.q_proj", heads * d, hidden],
    ["self_attn.k_proj", kv * d, hidden],
    ["self_attn.v_proj", kv * d, hidden],
    ["self_attn.o_proj", hidden, heads * d],
    ["mlp.gate_proj", inter, hidden],
    ["mlp.up_proj", inter, hidden],
    ["mlp.down_proj", hidden, inter],
  ];
  const config: Record<string, unknown> = {
    model_type: "llama",
    hidden_size: hidden,
    num_attention_heads: heads,
    num_key_value_heads: kv,
    head_dim: d,
    intermediate_size: inter,
    num_hidden_layers: 1,
    vocab_size: 32,
    rope_theta: 10000,
    ...o.config,
  };
  for (const [module, out, inp] of linears) {
    const biased = o.bias === true && /[qkv]_proj$/.test(module);
    const base = `${p}.${module}`;
    const r = o.rank ?? 5;
    if (o.form === "asvd") {
      add(`${base}.BLinear.weight`, [r, inp]);
      add(`${base}.ALinear.weight`, [out, r]);
      if (biased) add(`${base}.ALinear.bias`, [out]);
    } else if (o.form === "svdllm") {
      const [parent, leaf] = module.split(".");
      const short = leaf.replace(/_proj$/, "");
      add(`${p}.${parent}.${short}_v_proj.weight`, [r, inp]);
      add(`${p}.${parent}.${short}_u_proj.weight`, [out, r]);
      if (biased) add(`${p}.${parent}.${short}_u_proj.bias`, [out]);
    } else if (o.form === "palu" && /[kv]_proj$/.test(module)) {
      const ranks = o.paluRanks ?? [3, 5];
      add(`${base}.VT.weight`, [ranks.reduce((a, b) => a + b, 0), inp]);
      ranks.forEach((rg, g) => {
        add(`${base}.U.${g}.weight`, [out / ranks.length, rg]);
        if (biased) add(`${base}.U.${g}.bias`, [out / ranks.length]);
      });
    } else {
      add(`${base}.weight`, [out, inp]);
      if (biased) add(`${base}.bias`, [out]);
    }
  }
  if (o.form === "palu") {
    config.model_type = "palullama";
    const ranks = o.paluRanks ?? [3, 5];
    config.head_wise_ranks = { [`${p}.self_attn.k_proj`]: ranks, [`${p}.self_attn.v_proj`]: ranks };
  }
  if (o.form === "asvd") {
    config.truncation_ranks = Object.fromEntries(linears.map(([m]) => [`${p}.${m}`, o.rank ?? 5]));
  }
  return { config, shapes, spec: buildModelSpec(config, shapes) };
}

export function change(site: DimSite, from: number, to: number): DimChange {
  const id =
    site.kind === "rank"
      ? `layers.${site.layer}.${site.linear}.rank${site.group !== undefined ? `.g${site.group}` : ""}`
      : site.kind === "intermediate"
        ? `layers.${site.layer}.mlp.intermediate`
        : `layers.${site.layer}.self_attn.head_dim`;
  return { site, id, from, to };
}

export function shapeLookup(shapes: TensorShapes): (name: string) => { dtype: Dtype; shape: readonly number[] } {
  return (name) => {
    const t = shapes.get(name);
    if (!t) throw new Error(`no tensor ${name}`);
    return t;
  };
}
