/**
 * A repair plan: which dimensions of which modules change size, and the tensor shapes that follow.
 * plan/ decides sizes (strategies, overhead); repair/ turns each DimChange into byte edits with the
 * exactness rules; scan reports the overhead of each strategy from the same plan.
 */
export type Strategy = "MINIMAL" | "OPTIMAL" | "PREDEFINED" | "TRADEOFF";
export const STRATEGIES: readonly Strategy[] = ["MINIMAL", "OPTIMAL", "PREDEFINED", "TRADEOFF"];

/** Where a dimension lives. `linear` is the module path inside the layer, e.g. "self_attn.k_proj", "mlp.gate_proj". */
export type DimSite =
  /** Inner low-rank dim of one factor pair (ASVD B/A, SVD-LLM v/u) or of one PaLU group (`group` set). */
  | { kind: "rank"; layer: number; linear: string; group?: number }
  /** MLP intermediate width (gate/up rows, down columns). */
  | { kind: "intermediate"; layer: number }
  /** Attention per-head width of q/k and v (RoPE'd); o_proj columns follow. */
  | { kind: "head_dim"; layer: number };

export interface DimChange {
  site: DimSite;
  /** Stable id, e.g. "layers.3.self_attn.k_proj.rank.g1", "layers.3.mlp.intermediate", "layers.3.self_attn.head_dim". */
  id: string;
  from: number;
  to: number;
}

export interface TensorShapeChange {
  tensor: string;
  from: number[];
  to: number[];
  /** Elements added (to - from, product). */
  addedElements: number;
  addedBytes: number;
}

/** A dim the strategy would change but repair cannot do exactly (odd head_dim with RoPE, yarn rope, hidden size, vocab). */
export interface Refusal {
  id: string;
  value: number;
  reason: string;
}

export interface RepairPlan {
  strategy: Strategy;
  changes: DimChange[];
  tensors: TensorShapeChange[];
  refusals: Refusal[];
  paramsBefore: number;
  paramsAfter: number;
  /** 100 * (paramsAfter - paramsBefore) / paramsBefore */
  paramOverheadPct: number;
  bytesBefore: number;
  bytesAfter: number;
}
