/**
 * ModelSpec: what a checkpoint computes, taken from tensor shapes (configs lie: FLAP keeps the old
 * config.json after pruning) with config.json supplying only what shapes cannot (rope, eps, head_dim
 * when heads are ambiguous). Every linear map is described as the chain of GEMMs the checkpoint
 * actually stores, so that graph/, plan/, repair/ and verify/ all see the real factor structure.
 */
import type { Dtype } from "../checkpoint/types.js";
import type { ModelQuantization } from "../quant/quantized-layout.js";

export type Family = "dense" | "palu" | "asvd" | "svdllm";

/** One stored weight matrix [out, in] (row-major, as nn.Linear stores it) and its optional bias [out]. */
export interface WeightRef {
  tensor: string;
  bias?: string;
  out: number;
  in: number;
  /** The weight's dtype (set by buildModelSpec; graph/ gives each GEMM its weight's dtype). */
  dtype?: Dtype;
}

/** A linear map x[in] -> y[out] as the checkpoint stores it. */
export type LinearSpec =
  | { kind: "dense"; in: number; out: number; weight: WeightRef }
  /** ASVD (BLinear then ALinear) and SVD-LLM (*_v_proj then *_u_proj): y = second(first(x)). */
  | { kind: "lowrank"; in: number; out: number; rank: number; first: WeightRef; second: WeightRef }
  /**
   * PaLU HeadwiseLowRankModule: latent = VT x ([sum r_g, in]); group g takes latent rows
   * [offset_g, offset_g + r_g) through U.g ([groupDim, r_g], + bias) and the group outputs are
   * concatenated: out = groups.length * groupDim.
   */
  | { kind: "grouped"; in: number; out: number; ranks: number[]; groupDim: number; first: WeightRef; groups: WeightRef[] };

export interface AttentionSpec {
  numHeads: number;
  numKvHeads: number;
  /** Per-head width of q and k (what RoPE and the softmax scale see). */
  headDim: number;
  /** Per-head width of v (equals headDim for every family handled so far). */
  headDimV: number;
  q: LinearSpec;
  k: LinearSpec;
  v: LinearSpec;
  o: LinearSpec;
}

export interface MlpSpec {
  intermediate: number;
  gate: LinearSpec;
  up: LinearSpec;
  down: LinearSpec;
}

export interface LayerSpec {
  index: number;
  /** RMSNorm weight tensors. */
  inputNorm: string;
  postAttentionNorm: string;
  /** Older HF Llama checkpoints store `self_attn.rotary_emb.inv_freq` [headDim/2]; it depends on head_dim. */
  rotaryInvFreq?: string;
  attn: AttentionSpec;
  mlp: MlpSpec;
}

export type RopeScaling =
  | { type: "default" }
  | { type: "linear"; factor: number }
  | {
      type: "llama3";
      factor: number;
      lowFreqFactor: number;
      highFreqFactor: number;
      originalMaxPositionEmbeddings: number;
    }
  /** yarn, dynamic, longrope, ...: recognised so scan works; repair refuses to pad head_dim under them. */
  | { type: "other"; name: string; raw: Record<string, unknown> };

export interface RopeSpec {
  theta: number;
  scaling: RopeScaling;
  /** config.partial_rotary_factor (1 for Llama-family models). */
  partialRotaryFactor: number;
}

export interface ModelSpec {
  family: Family;
  /** config.model_type as found (llama, mistral, qwen2, palullama, ...). */
  modelType: string;
  hiddenSize: number;
  vocabSize: number;
  numLayers: number;
  rmsNormEps: number;
  rope: RopeSpec;
  /** Config-level attention geometry (layers may differ: see layers[i].attn). */
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  embedTokens: string;
  /** Equals embedTokens when the embeddings are tied and lm_head.weight is absent. */
  lmHead: string;
  finalNorm: string;
  tieWordEmbeddings: boolean;
  /** The dtype of most weight bytes. */
  dtype: Dtype;
  layers: LayerSpec[];
  /** True when layers differ in shape from each other (pruned checkpoints). */
  heterogeneous: boolean;
  /** One line per disagreement between config.json and tensor shapes; shapes win. */
  configDisagreements: string[];
  /**
   * Present for a quantized checkpoint: how each logical weight (WeightRef.tensor, which is then
   * not a stored tensor) is stored. WeightRef shapes are the logical [out, in].
   */
  quantization?: ModelQuantization;
}
