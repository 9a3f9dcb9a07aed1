/**
 * ScanReport: the `gac scan --json` schema (docs/scan-json.md). Keys are snake_case because the
 * report is read by scripts and notebooks; fields are only ever added, never renamed.
 */
import type { Dtype } from "../checkpoint/types.js";
import type { GpuId, RuntimeId, VerdictKind } from "../contract/types.js";
import type { Family } from "../model/types.js";
import type { DimName } from "../model/dims.js";
import type { Phase } from "../graph/types.js";
import type { Strategy } from "../plan/types.js";

export const SCAN_SCHEMA = "gac-scan/1";

export interface ScanModel {
  family: Family;
  model_type: string;
  layers: number;
  hidden_size: number;
  num_heads: number;
  num_kv_heads: number;
  head_dim: number;
  vocab_size: number;
  dtype: Dtype;
  heterogeneous: boolean;
  config_disagreements: string[];
}

export interface ScanDim {
  id: string;
  role: string;
  name: DimName;
  value: number;
  aligned8: boolean;
  aligned16: boolean;
}

export interface GemmShape {
  m: number;
  n: number;
  k: number;
}

export interface AttentionShape {
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
  dtype: Dtype;
  verdict: VerdictKind;
  kernel: string;
  reason: string;
  source: string;
  /** From a measured profile (profile/); null when none was given. */
  predicted_ms: number | null;
}

export type ScanCall = (ScanCallBase & { kind: "gemm"; shape: GemmShape }) | (ScanCallBase & { kind: "attention"; shape: AttentionShape });

export interface ScanRefusal {
  id: string;
  value: number;
  reason: string;
}

export interface ScanStrategy {
  param_overhead_pct: number;
  params_added: number;
  bytes_added: number;
  dims_changed: number;
  refusals: ScanRefusal[];
  /** Predicted forward time after this repair; null until profile/ supplies predictions. */
  predicted_ms: number | null;
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
}
