/**
 * The kernel calls one forward pass makes: every GEMM and every attention call, with the
 * dimensions the kernel sees. contract/ gives each a verdict; profile/ predicts its time.
 */
import type { Dtype } from "../checkpoint/types.js";

export type Phase = "prefill" | "decode";

/** The serving shape a scan assumes; tokens only change M and attention lengths, never alignment of weights. */
export interface Workload {
  /** Prefill: batch x prompt length. */
  prefillBatch: number;
  prefillLen: number;
  /** Decode: batch of single-token queries against a KV cache of kvLen. */
  decodeBatch: number;
  kvLen: number;
}

export const DEFAULT_WORKLOAD: Workload = { prefillBatch: 1, prefillLen: 2048, decodeBatch: 1, kvLen: 4096 };

export interface GemmCall {
  id: string;
  kind: "gemm";
  phase: Phase;
  layer: number;
  /** e.g. "layers.3.self_attn.k_proj.VT" or "layers.3.mlp.down_proj". */
  role: string;
  /** The weight tensor this GEMM multiplies by. */
  tensor: string;
  /** y[m, n] = x[m, k] . W[n, k]^T */
  m: number;
  n: number;
  k: number;
  dtype: Dtype;
}

export interface AttentionCall {
  id: string;
  kind: "attention";
  phase: Phase;
  layer: number;
  role: string;
  batch: number;
  qLen: number;
  kvLen: number;
  numHeads: number;
  numKvHeads: number;
  headDimQk: number;
  headDimV: number;
  causal: boolean;
  dtype: Dtype;
}

export type KernelCall = GemmCall | AttentionCall;
