/**
 * config.json + tensor shapes -> ModelSpec. Pure: no files, no printing.
 *
 * Shapes are the truth and config.json is a witness: FLAP and LLM-Pruner keep the original config
 * after pruning, so heads, key/value heads and the MLP width are read per layer from the weights,
 * and every disagreement with the config becomes one line in `configDisagreements`. Config fields
 * are used only for what shapes cannot say: head_dim (q_proj rows are heads x head_dim, and the
 * product alone cannot be split), RoPE and eps.
 *
 * Every tensor must be placed somewhere in the spec; the first one left over (natural name order,
 * see placer.ts) is named in an UNKNOWN_LAYOUT error rather than guessed around. When config
 * model_type is not a family gac knows, any layout failure is reported as UNKNOWN_FAMILY instead.
 */
import type { Dtype, TensorShapes } from "../checkpoint/types.js";
import { DTYPES } from "../checkpoint/types.js";
import { GacError, isGacError } from "../errors.js";
import { logicalView } from "../quant/quantized-layout.js";
import { readModelConfig, type ModelConfig } from "./config.js";
import { LINEAR_MODULES, linearFactors, type LinearModule } from "./layer-linears.js";
import { TensorPlacer } from "./placer.js";
import { KNOWN_MODEL_TYPES, isKnownModelType } from "./model-types.js";
import { resolveLinear, shapeText, type LinearForm, type ResolvedLinear } from "./resolve-linear.js";
import type { Family, LayerSpec, LinearSpec, ModelSpec } from "./types.js";

export { KNOWN_MODEL_TYPES } from "./model-types.js";

/** Quantized checkpoints (quantization_config) are read through their logical weights [N, K] (quant/quantized-layout.ts). */
export function buildModelSpec(config: Record<string, unknown>, stored: TensorShapes): ModelSpec {
  const cfg = readModelConfig(config);
  const { shapes, quantization } = logicalView(config, stored);
  try {
    const spec = buildFromShapes(cfg, shapes);
    if (quantization) spec.quantization = quantization;
    return spec;
  } catch (e) {
    if (isGacError(e) && e.code === "UNKNOWN_LAYOUT" && !isKnownModelType(cfg.modelType)) {
      const which = cfg.modelType === "" ? "config.json has no model_type" : `config model_type '${cfg.modelType}' is not one gac knows (${KNOWN_MODEL_TYPES.join(", ")})`;
      throw new GacError("UNKNOWN_FAMILY", `${which} and its tensors do not fit the Llama layout: ${e.message}`);
    }
    throw e;
  }
}

/** Where the config's per-head width comes from, for messages. */
interface HeadDim {
  value: number;
  source: string;
}

function buildFromShapes(cfg: ModelConfig, shapes: TensorShapes): ModelSpec {
  const placer = new TensorPlacer(shapes);
  const disagreements: string[] = [];

  const prefix = placer.has("model.embed_tokens.weight") ? "model." : placer.has("embed_tokens.weight") ? "" : undefined;
  if (prefix === undefined) {
    throw new GacError("UNKNOWN_LAYOUT", `no embedding table ('model.embed_tokens.weight' or 'embed_tokens.weight'): not a Llama-style checkpoint${placer.firstUnplacedClause()}`);
  }
  const embed = placer.take(`${prefix}embed_tokens.weight`)!;
  if (embed.shape.length !== 2) {
    throw new GacError("UNKNOWN_LAYOUT", `'${embed.name}' has shape ${shapeText(embed)} but an embedding table is 2-D [vocab, hidden]`);
  }
  const [vocab, hidden] = embed.shape;
  if (cfg.hiddenSize !== undefined && cfg.hiddenSize !== hidden) {
    disagreements.push(`'${embed.name}' has hidden size ${hidden} but config hidden_size is ${cfg.hiddenSize}`);
  }
  if (cfg.vocabSize !== undefined && cfg.vocabSize !== vocab) {
    disagreements.push(`'${embed.name}' has ${vocab} vocabulary rows but config vocab_size is ${cfg.vocabSize}`);
  }

  const numLayers = countLayers(placer, prefix, cfg, disagreements);
  const headDim = configHeadDim(cfg, hidden);
  const forms = new Map<LinearForm, string>();
  const layers: LayerSpec[] = [];
  for (let i = 0; i < numLayers; i++) {
    layers.push(buildLayer({ placer, cfg, prefix, hidden, headDim, disagreements, forms }, i));
  }

  const finalNorm = takeNorm(placer, `${prefix}norm.weight`, hidden);
  const { lmHead, tied } = takeLmHead(placer, cfg, embed.name, vocab, hidden, disagreements);

  const left = placer.unplaced();
  if (left.length > 0) {
    throw new GacError(
      "UNKNOWN_LAYOUT",
      `tensor '${left[0]}' fits no part of a Llama-style layer or model (${left.length} tensor${left.length === 1 ? "" : "s"} left unplaced): gac does not know this layout`,
    );
  }

  const family = familyOf(cfg.modelType, forms);
  if (family === "palu" && cfg.headWiseRanks === undefined && forms.has("palu")) {
    disagreements.push("config has no head_wise_ranks: PaLU's loader needs them; ranks were read from the U.{g} in-dims");
  }
  // Heterogeneous = the geometry a uniform config.json would state differs between layers (heads,
  // key/value heads, head_dim, MLP width). Low-rank ranks vary per layer in every compressed family
  // and do not count: they live in head_wise_ranks / truncation_ranks, not in the geometry.
  const first = layers[0].attn;
  const heterogeneous = layers.some(
    (l) => l.attn.numHeads !== first.numHeads || l.attn.numKvHeads !== first.numKvHeads || l.attn.headDim !== first.headDim || l.mlp.intermediate !== layers[0].mlp.intermediate,
  );

  return {
    family,
    modelType: cfg.modelType,
    hiddenSize: hidden,
    vocabSize: vocab,
    numLayers,
    rmsNormEps: cfg.rmsNormEps,
    rope: cfg.rope,
    numHeads: cfg.numHeads ?? first.numHeads,
    numKvHeads: cfg.numKvHeads ?? cfg.numHeads ?? first.numKvHeads,
    headDim: headDim.value,
    embedTokens: embed.name,
    lmHead,
    finalNorm,
    tieWordEmbeddings: tied,
    dtype: majorityDtype(shapes),
    layers,
    heterogeneous,
    configDisagreements: disagreements,
  };
}

/** Layers are read from tensor names; a gap, or fewer layers than config promises, is an error. */
function countLayers(placer: TensorPlacer, prefix: string, cfg: ModelConfig, disagreements: string[]): number {
  const pattern = new RegExp(`^${prefix.replace(/\./g, "\\.")}layers\\.(\\d+)\\.`);
  const present = new Set<number>();
  for (const name of placer.unplaced()) {
    const m = pattern.exec(name);
    if (m !== null) present.add(Number(m[1]));
  }
  const count = present.size === 0 ? 0 : Math.max(...present) + 1;
  for (let i = 0; i < count; i++) {
    if (!present.has(i)) {
      throw new GacError(
        "CONFIG_MISMATCH",
        `no tensor of layer ${i} ('${prefix}layers.${i}.input_layernorm.weight' is missing) although layers up to ${count - 1} exist: the checkpoint lacks a layer`,
      );
    }
  }
  if (cfg.numLayers !== undefined && cfg.numLayers > count) {
    throw new GacError(
      "CONFIG_MISMATCH",
      `config num_hidden_layers is ${cfg.numLayers} but '${prefix}layers.${count}.input_layernorm.weight' is missing (the checkpoint has ${count} layer${count === 1 ? "" : "s"}): the checkpoint is incomplete or the config is wrong`,
    );
  }
  if (count === 0) {
    throw new GacError("UNKNOWN_LAYOUT", `no tensor named '${prefix}layers.{i}.*': not a Llama-style checkpoint${placer.firstUnplacedClause()}`);
  }
  if (cfg.numLayers !== undefined && cfg.numLayers < count) {
    disagreements.push(`the checkpoint has ${count} layers but config num_hidden_layers is ${cfg.numLayers}`);
  }
  return count;
}

/** transformers: head_dim = config.head_dim ?? hidden_size // num_attention_heads (modeling_llama.py). */
function configHeadDim(cfg: ModelConfig, hidden: number): HeadDim {
  if (cfg.headDim !== undefined) return { value: cfg.headDim, source: "config head_dim" };
  if (cfg.numHeads === undefined) {
    throw new GacError("BAD_CONFIG", "config.json has neither head_dim nor num_attention_heads: the per-head width cannot be split out of q_proj's rows");
  }
  const h = cfg.hiddenSize ?? hidden;
  if (h % cfg.numHeads !== 0) {
    throw new GacError("BAD_CONFIG", `config hidden_size ${h} is not a multiple of num_attention_heads ${cfg.numHeads} and config has no head_dim: the per-head width is undefined`);
  }
  return { value: h / cfg.numHeads, source: `hidden_size ${h} / num_attention_heads ${cfg.numHeads}` };
}

interface LayerContext {
  placer: TensorPlacer;
  cfg: ModelConfig;
  prefix: string;
  hidden: number;
  headDim: HeadDim;
  disagreements: string[];
  /** Forms seen so far, each with one example module, for the family and mixed-family errors. */
  forms: Map<LinearForm, string>;
}

function buildLayer(ctx: LayerContext, i: number): LayerSpec {
  const { placer, cfg, hidden, disagreements } = ctx;
  const lp = `${ctx.prefix}layers.${i}`;
  const label = `layers.${i}`;
  const inputNorm = takeNorm(placer, `${lp}.input_layernorm.weight`, hidden);
  const postAttentionNorm = takeNorm(placer, `${lp}.post_attention_layernorm.weight`, hidden);
  const invFreq = placer.take(`${lp}.self_attn.rotary_emb.inv_freq`);
  if (invFreq !== undefined && invFreq.shape.length !== 1) {
    throw new GacError("UNKNOWN_LAYOUT", `'${invFreq.name}' has shape ${shapeText(invFreq)} but RoPE inverse frequencies are 1-D`);
  }

  const resolved = new Map<LinearModule, ResolvedLinear>();
  for (const module of LINEAR_MODULES) {
    const r = resolveLinear(placer, lp, module);
    resolved.set(module, r);
    if (!ctx.forms.has(r.form)) ctx.forms.set(r.form, `${lp}.${module}`);
    checkConfigRanks(ctx, `${lp}.${module}`, label, module, r);
  }
  const get = (m: LinearModule): LinearSpec => resolved.get(m)!.linear;
  const [q, k, v, o, gate, up, down] = LINEAR_MODULES.map(get);

  for (const module of ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "mlp.gate_proj", "mlp.up_proj"] as const) {
    const lin = get(module);
    if (lin.in !== hidden) {
      throw new GacError(
        "CONFIG_MISMATCH",
        `'${linearFactors(lin)[0].tensor}' takes ${lin.in} inputs but the hidden size is ${hidden} ('${ctx.prefix}embed_tokens.weight' columns${cfg.hiddenSize !== undefined && cfg.hiddenSize !== hidden ? `; config hidden_size ${cfg.hiddenSize}` : ""}): ${label}.${module} cannot read the residual stream`,
      );
    }
  }
  for (const module of ["self_attn.o_proj", "mlp.down_proj"] as const) {
    const lin = get(module);
    if (lin.out !== hidden) {
      throw new GacError("CONFIG_MISMATCH", `'${outTensor(lin)}' gives ${lin.out} outputs but the hidden size is ${hidden}: ${label}.${module} cannot write the residual stream`);
    }
  }

  // Attention geometry from q/k/v rows; head_dim from the config (see configHeadDim).
  const d = ctx.headDim;
  if (q.out % d.value !== 0) {
    throw new GacError("CONFIG_MISMATCH", `${label}: q_proj has ${q.out} rows, not a multiple of head_dim ${d.value} (${d.source}): heads cannot be told apart; set head_dim in config.json`);
  }
  if (k.out % d.value !== 0 || k.out === 0) {
    throw new GacError("CONFIG_MISMATCH", `${label}: k_proj has ${k.out} rows, not a positive multiple of head_dim ${d.value} (${d.source})`);
  }
  if (v.out !== k.out) {
    throw new GacError("CONFIG_MISMATCH", `${label}: v_proj has ${v.out} rows but k_proj has ${k.out}: keys and values must have the same heads and width`);
  }
  const numHeads = q.out / d.value;
  const numKvHeads = k.out / d.value;
  if (numHeads % numKvHeads !== 0) {
    throw new GacError(
      "CONFIG_MISMATCH",
      `${label}: ${numHeads} query heads (q_proj ${q.out} rows) over ${numKvHeads} key/value heads (k_proj ${k.out} rows) with head_dim ${d.value}: the GQA ratio must be a whole number`,
    );
  }
  if (o.in !== q.out) {
    throw new GacError("CONFIG_MISMATCH", `'${linearFactors(o)[0].tensor}' takes ${o.in} inputs but attention gives ${numHeads} heads x ${d.value} = ${q.out}`);
  }
  for (const [name, lin] of [
    ["k_proj", k],
    ["v_proj", v],
  ] as const) {
    if (lin.kind === "grouped" && lin.groupDim % d.value !== 0) {
      throw new GacError("CONFIG_MISMATCH", `${label}: ${name} PaLU groups are ${lin.groupDim} wide, not a whole number of heads of head_dim ${d.value}`);
    }
  }
  if (cfg.numHeads !== undefined && numHeads !== cfg.numHeads) {
    disagreements.push(`${label}: ${numHeads} attention heads in q_proj (${q.out} rows / head_dim ${d.value}) but config num_attention_heads is ${cfg.numHeads}`);
  }
  const cfgKv = cfg.numKvHeads ?? cfg.numHeads;
  if (cfgKv !== undefined && numKvHeads !== cfgKv) {
    const field = cfg.numKvHeads !== undefined ? "num_key_value_heads" : "num_attention_heads (no num_key_value_heads)";
    disagreements.push(`${label}: ${numKvHeads} key/value heads in k_proj (${k.out} rows / head_dim ${d.value}) but config ${field} is ${cfgKv}`);
  }

  // MLP width from gate rows.
  const intermediate = gate.out;
  if (up.out !== intermediate) {
    throw new GacError("CONFIG_MISMATCH", `${label}: up_proj gives ${up.out} outputs but gate_proj gives ${intermediate}: SiLU(gate) * up needs equal widths`);
  }
  if (down.in !== intermediate) {
    throw new GacError("CONFIG_MISMATCH", `'${linearFactors(down)[0].tensor}' takes ${down.in} inputs but gate_proj gives ${intermediate}: ${label}.mlp does not chain`);
  }
  if (cfg.intermediateSize !== undefined && intermediate !== cfg.intermediateSize) {
    disagreements.push(`${label}: intermediate size ${intermediate} in gate_proj rows but config intermediate_size is ${cfg.intermediateSize}`);
  }

  const layer: LayerSpec = {
    index: i,
    inputNorm,
    postAttentionNorm,
    attn: { numHeads, numKvHeads, headDim: d.value, headDimV: d.value, q, k, v, o },
    mlp: { intermediate, gate, up, down },
  };
  if (invFreq !== undefined) layer.rotaryInvFreq = invFreq.name;
  return layer;
}

/** PaLU head_wise_ranks and ASVD truncation_ranks against the shapes; shapes win. */
function checkConfigRanks(ctx: LayerContext, modulePath: string, label: string, module: string, r: ResolvedLinear): void {
  const where = `${label}.${module}`;
  const keys = [modulePath, modulePath.replace(/^model\./, ""), `model.${modulePath}`];
  if (r.form === "palu" && r.linear.kind === "grouped" && ctx.cfg.headWiseRanks !== undefined) {
    const entry = keys.map((key) => ctx.cfg.headWiseRanks![key]).find((e) => e !== undefined);
    const ranks = r.linear.ranks;
    const stated = Array.isArray(entry) && entry.every((x) => typeof x === "number") ? entry : undefined;
    if (entry === undefined) {
      ctx.disagreements.push(`${where}: ranks [${ranks.join(", ")}] in U.{g} in-dims but config head_wise_ranks has no entry for it`);
    } else if (stated === undefined) {
      ctx.disagreements.push(`${where}: ranks [${ranks.join(", ")}] in U.{g} in-dims but config head_wise_ranks holds ${JSON.stringify(entry)}, not a list of ranks`);
    } else if (stated.length !== ranks.length || stated.some((x, g) => x !== ranks[g])) {
      ctx.disagreements.push(`${where}: ranks [${ranks.join(", ")}] in U.{g} in-dims but config head_wise_ranks says [${stated.join(", ")}]`);
    }
  }
  if (r.form === "asvd" && r.linear.kind === "lowrank" && ctx.cfg.truncationRanks !== undefined) {
    const entry = keys.map((key) => ctx.cfg.truncationRanks![key]).find((e) => e !== undefined);
    if (entry !== r.linear.rank) {
      const said = entry === undefined ? "has no entry for it" : `says ${JSON.stringify(entry)}`;
      ctx.disagreements.push(`${where}: rank ${r.linear.rank} in BLinear rows but config truncation_ranks ${said}`);
    }
  }
}

function takeNorm(placer: TensorPlacer, name: string, hidden: number): string {
  const t = placer.take(name);
  if (t === undefined) {
    const scope = name.replace(/[^.]+\.weight$/, "");
    throw new GacError("UNKNOWN_LAYOUT", `no '${name}': gac expects an RMSNorm weight there${placer.firstUnplacedClause(scope)}`);
  }
  if (t.shape.length !== 1 || t.shape[0] !== hidden) {
    throw new GacError("CONFIG_MISMATCH", `'${name}' has shape ${shapeText(t)} but the hidden size is ${hidden}: an RMSNorm weight has one entry per hidden unit`);
  }
  return name;
}

function takeLmHead(placer: TensorPlacer, cfg: ModelConfig, embedName: string, vocab: number, hidden: number, disagreements: string[]): { lmHead: string; tied: boolean } {
  const head = placer.take("lm_head.weight");
  if (head === undefined) {
    if (cfg.tieWordEmbeddings !== true) {
      disagreements.push(
        `'lm_head.weight' is absent, so the output layer is taken to reuse '${embedName}', but config tie_word_embeddings is ${cfg.tieWordEmbeddings === false ? "false" : "absent (false by default)"}`,
      );
    }
    return { lmHead: embedName, tied: true };
  }
  if (head.shape.length !== 2 || head.shape[1] !== hidden) {
    throw new GacError("CONFIG_MISMATCH", `'lm_head.weight' has shape ${shapeText(head)} but the hidden size is ${hidden}: the output layer must be [vocab, ${hidden}]`);
  }
  if (head.shape[0] !== vocab) {
    throw new GacError("CONFIG_MISMATCH", `'lm_head.weight' has ${head.shape[0]} rows but '${embedName}' has ${vocab}: the output vocabulary differs from the input vocabulary`);
  }
  if (cfg.tieWordEmbeddings === true) {
    disagreements.push(`'lm_head.weight' is present but config tie_word_embeddings is true: transformers would tie the output layer to '${embedName}' and ignore it`);
  }
  return { lmHead: head.name, tied: false };
}

const FORM_FAMILY: Record<Exclude<LinearForm, "dense">, Family> = { asvd: "asvd", svdllm: "svdllm", palu: "palu" };

function familyOf(modelType: string, forms: Map<LinearForm, string>): Family {
  const compressed = [...forms.keys()].filter((f): f is Exclude<LinearForm, "dense"> => f !== "dense");
  if (compressed.length > 1) {
    const [a, b] = compressed;
    throw new GacError("UNKNOWN_FAMILY", `'${forms.get(a)}' is stored as ${a} and '${forms.get(b)}' as ${b}: gac knows no compressor that mixes these forms in one checkpoint`);
  }
  if (compressed.length === 1) return FORM_FAMILY[compressed[0]];
  return modelType.startsWith("palu") ? "palu" : "dense";
}

function outTensor(lin: LinearSpec): string {
  const factors = linearFactors(lin);
  return factors[factors.length - 1].tensor;
}

/** The dtype holding the most bytes (ties: first in DTYPES order, so the answer is stable). */
function majorityDtype(shapes: TensorShapes): Dtype {
  const bytes = new Map<Dtype, number>();
  for (const { dtype, shape } of shapes.values()) {
    bytes.set(dtype, (bytes.get(dtype) ?? 0) + shape.reduce((a, b) => a * b, 1) * DTYPES[dtype].bytes);
  }
  let best: Dtype | undefined;
  for (const dtype of Object.keys(DTYPES) as Dtype[]) {
    const b = bytes.get(dtype);
    if (b !== undefined && (best === undefined || b > bytes.get(best)!)) best = dtype;
  }
  if (best === undefined) throw new GacError("UNKNOWN_LAYOUT", "the checkpoint has no tensors: there is no model to describe");
  return best;
}
