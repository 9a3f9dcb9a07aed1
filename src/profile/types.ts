/**
 * A GPU profile: latency against one swept dimension, per op, dtype and fixed reference shape.
 * Built from measured results (`gac profile`) or transcribed from published tables
 * (profiles/a100-published.json); `predict.ts` turns it into predicted times of kernel calls.
 */
export const PROFILE_SCHEMA = "gac-profile/1";

/**
 * sdpa_prefill / sdpa_decode: swept head_dim (q_len > 1 / q_len = 1); sdpa_padded: logical head_dim
 * run zero-padded to `padded_dim`; gemm_k: swept K with M, N fixed; gemm_n: swept N with M, K fixed
 * (G3/G4 at M=4096 with K or N 64..160; G5 at M=1 and 2048 with K or N 128..14344).
 */
export type ProfileOp = "sdpa_prefill" | "sdpa_decode" | "sdpa_padded" | "gemm_k" | "gemm_n";

export interface ProfilePoint {
  dim: number;
  median_ms: number;
  p10_ms?: number;
  p90_ms?: number;
  n?: number;
  /** sdpa_padded only: the physical head_dim the logical `dim` ran at. */
  padded_dim?: number;
  /** Kernels the call launched, where profiled. */
  kernels?: string[];
  /** Where a published table names the row (e.g. "MINIMAL"). */
  label?: string;
}

export interface ProfileSeries {
  op: ProfileOp;
  /** Unique within the profile: op, dtype, causal, backend, layout and the fixed shape. */
  key: string;
  dtype: "fp16" | "bf16";
  causal?: boolean;
  backend?: string;
  /**
   * GEMMs only: "linear" for F.linear(x[m,k], w[n,k]) as nn.Linear serves it (G5); absent for
   * torch.matmul(x[m,k], w[k,n]) (G3, G4, published tables).
   */
  layout?: "linear";
  /** The fixed part of the shape. sdpa: batch, heads, kv_heads, q_len, kv_len; gemm_k: m, n; gemm_n: m, k. */
  shape: Record<string, number>;
  /** The experiments (suites, seed tables) the points come from. */
  experiments: string[];
  /** Sorted by dim (then padded_dim). */
  points: ProfilePoint[];
  /** Dims the backend refused, with the reason. */
  refused?: { dim: number; reason: string }[];
}

export interface GpuProfile {
  schema: typeof PROFILE_SCHEMA;
  gpu: {
    name: string;
    slug: string;
    /** Substrings of a GPU name this profile may stand in for (published profiles: ["A100"]). */
    match?: string[];
    compute_capability?: string;
    sm_count?: number;
    memory_bytes?: number;
  };
  /** Software the numbers were taken with: driver, torch, cuda, cudnn, flash_attn... */
  env: Record<string, string | null>;
  source: "measured" | "published";
  citation?: string;
  /** Caveats about how the numbers were obtained or transcribed. */
  notes?: string;
  source_runs: string[];
  created: string;
  series: ProfileSeries[];
}
