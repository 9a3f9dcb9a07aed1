/**
 * ScanReport: the `gac scan --json` schema (docs/scan-json.md). Keys are snake_case because the
 * report is read by scripts and notebooks; fields are only ever added, never renamed.
 */
import type { CallQuantization } from "../quant/call-quantization.js";
import type { Dtype } from "../checkpoint/types.js";
import type { GpuId, RuntimeId, VerdictKind } from "../contract/types.js";
import type { Family } from "../model/types.js";
import type { DimName } from "../model/dims.js";
import type { Phase } from "../graph/types.js";
import type { Strategy } from "../plan/types.js";
import type { ServingDtype } from "./serving-dtype.js";

export const SCAN_SCHEMA = "gac-scan/1";

interface ScanModel {
  family: Family;
  model_type: string;
  layers: number;
  hidden_size: number;
  num_heads: number;
  num_kv_heads: number;
  head_dim: number;
  vocab_size: number;
  dtype: Dtype;
  /** The dtype every call is judged and predicted at: the checkpoint's when F16 or BF16, else F16 (serving-dtype.ts). */
  serving_dtype: ServingDtype;
  heterogeneous: boolean;
  config_disagreements: string[];
  /** What the reader had to assume, one line each (an unknown model_type read as Llama). */
  notes: string[];
}

export interface ScanDim {
  id: string;
  role: string;
  name: DimName;
  value: number;
  aligned8: boolean;
  aligned16: boolean;
}

interface GemmShape {
  m: number;
  n: number;
  k: number;
}

interface AttentionShape {
  batch: number;
  q_len: number;
  kv_len: number;
  heads: number;
  kv_heads: number;
  head_dim_qk: number;
  head_dim_v: number;
}

interface ScanCallBase {
  id: string;
  phase: Phase;
  /** -1 for lm_head. */
  layer: number;
  role: string;
  /** The stored dtype of the call's weights; verdict and predicted_ms are at model.serving_dtype. */
  dtype: Dtype;
  verdict: VerdictKind;
  kernel: string;
  reason: string;
  source: string;
  /** From a measured profile (profile/); null when none was given. */
  predicted_ms: number | null;
}

export type ScanCall = (ScanCallBase & { kind: "gemm"; shape: GemmShape; quantization?: CallQuantization }) | (ScanCallBase & { kind: "attention"; shape: AttentionShape });

interface ScanRefusal {
  id: string;
  value: number;
  reason: string;
}

/**
 * A cost that depends on how shapes change between calls (contract/rules/shape-dynamics.ts), as
 * the runtime runs decode by default (transformers' generate(): a growing cache).
 */
export interface ScanDynamicCost {
  rule: string;
  phase: Phase;
  /** Calls of the forward pass that pay it. */
  calls: number;
  first_call: string;
  trigger: string;
  cost: string;
  fixes: string[];
  sources: string[];
}

export interface ScanStrategy {
  param_overhead_pct: number;
  params_added: number;
  bytes_added: number;
  dims_changed: number;
  refusals: ScanRefusal[];
  /**
   * Predicted forward time (one prefill and one decode step) after this repair: the repaired
   * model's calls summed over the calls that have a prediction both before and after (null when
   * none has, e.g. no profile).
   */
  predicted_ms: number | null;
  /** How many calls that sum covers (of `calls.length`). */
  predicted_calls: number;
  /** 100 * (unrepaired / repaired - 1) over the same calls; positive is faster. */
  predicted_speedup_pct: number | null;
  /** Shape-dependent costs of the repaired model (added in gac-scan/1; absent in older reports). */
  dynamic_costs: ScanDynamicCost[];
  /** Rule ids the repaired model pays and the unrepaired one does not: the repair introduces them. */
  dynamic_costs_introduced: string[];
}

export interface FamilySummary {
  count: number;
  unique_values: number[];
  /** null when the family has no dims (a dense model has no ranks). */
  share_aligned8: number | null;
  share_aligned16: number | null;
}

export type Applicability = "repair-helps-attention" | "projection-gemms-only" | "nothing-to-repair";

export interface ScanSummary {
  /** Dims (head_dim, rank, intermediate, hidden, vocab occurrences) that are not multiples of 8. */
  irregular_dims: number;
  unique_irregular_values: number[];
  share_aligned8: number | null;
  share_aligned16: number | null;
  /** Calls whose verdict is slow or refused. */
  collapsed_calls: number;
  by_family: { head_dim: FamilySummary; rank: FamilySummary; intermediate: FamilySummary };
  applicability: { attention_sees_irregular: boolean; verdict: Applicability; explanation: string };
  /** The unrepaired forward time: predicted_ms summed over the calls that have one; null when none has. */
  predicted_ms: number | null;
  /** Calls with a prediction (of `calls.length`). */
  predicted_calls: number;
}

/** The GPU profile the predicted times come from. */
export interface ScanProfile {
  /** The profile file (a packaged profiles/*.json or the one given with --profile). */
  path: string;
  /** The GPU the numbers were taken on, e.g. "NVIDIA H200". */
  gpu: string;
  /** measured: `gac bench` + `gac profile` on that GPU; published: transcribed from the seeds' tables. */
  source: "measured" | "published";
  /** Run ids (measured) or published tables the numbers come from. */
  runs: string[];
  created: string;
  /** One line per caveat: a table of the other 16-bit dtype standing in, calls below a kernel launch. */
  notes: string[];
}

/** Tensor and pipeline parallelism: whose shapes `calls` and `dims` are (docs/tensor-parallel.md). */
export interface ScanTensorParallel {
  tp: number;
  pp: number;
  /** The GPU whose calls the report lists: the rank with the most collapsed calls (ranks differ only where PaLU groups differ). */
  rank: number;
  /** The runtime's TP rules in one line; null at TP 1. */
  rule: string | null;
  /** Set when the runtime has no TP of its own and vLLM's layout stands in. */
  note: string | null;
  /** Set when pp > 1: what pipeline parallelism does to shapes (nothing). */
  pp_note: string | null;
  /** One GPU's share: distinct values over layers. */
  per_gpu: { num_heads: number[]; num_kv_heads: number[]; kv_head_replicas: number; intermediate: number[]; lm_head_rows: number };
  /** Collapsed (slow or refused) calls of each rank's forward pass, rank 0 first. */
  collapsed_calls_by_rank: number[];
  /** Sizes the runtime will not split over tp GPUs; every call of the module is refused. */
  refusals: { id: string; value: number; reason: string; source: string }[];
}

export interface ScanReport {
  schema: typeof SCAN_SCHEMA;
  gac_version: string;
  runtime: RuntimeId;
  gpu: { id: GpuId; name: string };
  workload: { prefill_batch: number; prefill_len: number; decode_batch: number; kv_len: number };
  model: ScanModel;
  dims: ScanDim[];
  calls: ScanCall[];
  strategies: Record<Strategy, ScanStrategy>;
  summary: ScanSummary;
  /** null when no profile matched the GPU and none was given. */
  profile: ScanProfile | null;
  /** Shape-dependent costs of the unrepaired model (added in gac-scan/1; absent in older reports). */
  dynamic_costs: ScanDynamicCost[];
  /** Absent in reports written before gac had --tp (the whole model on one GPU). */
  tensor_parallel?: ScanTensorParallel;
}
