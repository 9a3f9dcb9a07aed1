/**
 * A typed, validated view of the config.json fields model/ uses. A field that is present with the
 * wrong type is a BAD_CONFIG error; a field that is absent stays undefined so that the tensor
 * shapes can decide (configs of pruned checkpoints are stale, see compressed_formats.md §3).
 * `null` counts as absent: transformers writes `"head_dim": null` and `"rope_scaling": null`.
 */
import { GacError } from "../errors.js";
import type { RopeScaling, RopeSpec } from "./types.js";

export interface ModelConfig {
  modelType: string;
  hiddenSize?: number;
  numHeads?: number;
  numKvHeads?: number;
  headDim?: number;
  numLayers?: number;
  vocabSize?: number;
  intermediateSize?: number;
  rmsNormEps: number;
  tieWordEmbeddings?: boolean;
  rope: RopeSpec;
  /** PaLU: module name -> per-group ranks, as written by dump_to_huggingface_repos. */
  headWiseRanks?: Record<string, unknown>;
  /** ASVD: module name -> rank. */
  truncationRanks?: Record<string, unknown>;
}

/** LlamaConfig's defaults (configuration_llama.py): rms_norm_eps 1e-6, rope_theta 10000. */
const DEFAULT_RMS_NORM_EPS = 1e-6;
const DEFAULT_ROPE_THETA = 10000;

/**
 * Architectures whose layers are state-space or recurrent blocks (all of them, or some of them in
 * a hybrid): gac's kernel graph, plans and verify model transformer attention + MLP layers, so it
 * names these and refuses them instead of failing later on a missing head count.
 */
const UNSUPPORTED_MODEL_TYPES: Readonly<Record<string, string>> = {
  mamba: "a state-space model (Mamba)",
  mamba2: "a state-space model (Mamba-2)",
  falcon_mamba: "a state-space model (Falcon Mamba)",
  rwkv: "a recurrent model (RWKV)",
  rwkv5: "a recurrent model (RWKV-5)",
  rwkv6: "a recurrent model (RWKV-6)",
  rwkv7: "a recurrent model (RWKV-7)",
  xlstm: "a recurrent model (xLSTM)",
  recurrent_gemma: "a recurrent model (RecurrentGemma)",
  jamba: "a hybrid attention/state-space model (Jamba)",
  bamba: "a hybrid attention/state-space model (Bamba)",
  zamba: "a hybrid attention/state-space model (Zamba)",
  zamba2: "a hybrid attention/state-space model (Zamba2)",
  falcon_h1: "a hybrid attention/state-space model (Falcon-H1)",
  nemotron_h: "a hybrid attention/state-space model (Nemotron-H)",
  granitemoehybrid: "a hybrid attention/state-space model (Granite 4 hybrid)",
};

export function readModelConfig(config: Record<string, unknown>): ModelConfig {
  const modelType = config.model_type;
  if (modelType !== undefined && modelType !== null && typeof modelType !== "string") {
    throw badConfig("model_type", modelType, "a string");
  }
  const unsupported = typeof modelType === "string" ? UNSUPPORTED_MODEL_TYPES[modelType.toLowerCase()] : undefined;
  if (unsupported !== undefined) {
    throw new GacError(
      "UNSUPPORTED",
      `config.json model_type '${modelType}' is ${unsupported}: gac models transformer attention and MLP layers (llama, mistral, qwen2/3, gemma, phi3 and their compressed forms) and cannot scan or repair it`,
    );
  }
  return {
    modelType: typeof modelType === "string" ? modelType : "",
    hiddenSize: positiveInt(config, "hidden_size"),
    numHeads: positiveInt(config, "num_attention_heads"),
    numKvHeads: positiveInt(config, "num_key_value_heads"),
    headDim: positiveInt(config, "head_dim"),
    numLayers: positiveInt(config, "num_hidden_layers"),
    vocabSize: positiveInt(config, "vocab_size"),
    intermediateSize: positiveInt(config, "intermediate_size"),
    rmsNormEps: positiveNumber(config, "rms_norm_eps") ?? DEFAULT_RMS_NORM_EPS,
    tieWordEmbeddings: optionalBoolean(config, "tie_word_embeddings"),
    rope: readRope(config),
    headWiseRanks: optionalObject(config, "head_wise_ranks"),
    truncationRanks: optionalObject(config, "truncation_ranks"),
  };
}

/**
 * rope_theta and rope_scaling (transformers <= 4.x) or rope_parameters (transformers 5 folds
 * rope_theta into it). rope_scaling names its kind in `rope_type` (new) or `type` (old configs).
 */
export function readRope(config: Record<string, unknown>): RopeSpec {
  const parameters = optionalObject(config, "rope_parameters");
  const scalingRaw = parameters ?? optionalObject(config, "rope_scaling");
  const theta = (parameters !== undefined ? positiveNumber(parameters, "rope_theta", "rope_parameters.") : undefined) ?? positiveNumber(config, "rope_theta") ?? DEFAULT_ROPE_THETA;
  const factor = positiveNumber(config, "partial_rotary_factor") ?? 1;
  if (factor > 1) throw badConfig("partial_rotary_factor", factor, "a number in (0, 1]");
  return {
    theta,
    scaling: scalingRaw === undefined ? { type: "default" } : readScaling(scalingRaw, parameters ? "rope_parameters" : "rope_scaling"),
    partialRotaryFactor: factor,
  };
}

function readScaling(raw: Record<string, unknown>, field: string): RopeScaling {
  const name = raw.rope_type ?? raw.type;
  if (typeof name !== "string") {
    throw new GacError("BAD_CONFIG", `config.json ${field} has no string rope_type or type (got ${JSON.stringify(name)}): gac cannot tell which RoPE variant the model uses`);
  }
  const where = `${field}.`;
  switch (name) {
    case "default":
      return { type: "default" };
    case "linear":
      return { type: "linear", factor: requiredNumber(raw, "factor", where) };
    case "llama3":
      return {
        type: "llama3",
        factor: requiredNumber(raw, "factor", where),
        lowFreqFactor: requiredNumber(raw, "low_freq_factor", where),
        highFreqFactor: requiredNumber(raw, "high_freq_factor", where),
        originalMaxPositionEmbeddings: requiredNumber(raw, "original_max_position_embeddings", where),
      };
    default:
      return { type: "other", name, raw: { ...raw } };
  }
}

function present(obj: Record<string, unknown>, key: string): unknown {
  const v = obj[key];
  return v === null ? undefined : v;
}

function positiveInt(obj: Record<string, unknown>, key: string, where = ""): number | undefined {
  const v = present(obj, key);
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v <= 0) throw badConfig(where + key, v, "a positive integer");
  return v;
}

function positiveNumber(obj: Record<string, unknown>, key: string, where = ""): number | undefined {
  const v = present(obj, key);
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) throw badConfig(where + key, v, "a positive number");
  return v;
}

function requiredNumber(obj: Record<string, unknown>, key: string, where: string): number {
  const v = positiveNumber(obj, key, where);
  if (v === undefined) throw badConfig(where + key, undefined, "a positive number");
  return v;
}

function optionalBoolean(obj: Record<string, unknown>, key: string): boolean | undefined {
  const v = present(obj, key);
  if (v === undefined) return undefined;
  if (typeof v !== "boolean") throw badConfig(key, v, "true or false");
  return v;
}

function optionalObject(obj: Record<string, unknown>, key: string): Record<string, unknown> | undefined {
  const v = present(obj, key);
  if (v === undefined) return undefined;
  if (typeof v !== "object" || Array.isArray(v)) throw badConfig(key, v, "an object");
  return { ...v };
}

function badConfig(key: string, value: unknown, expected: string): GacError {
  const got = value === undefined ? "nothing" : JSON.stringify(value);
  return new GacError("BAD_CONFIG", `config.json ${key} is ${got} but must be ${expected}`);
}
