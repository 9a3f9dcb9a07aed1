/** Crafted kernel calls for contract tests: Llama-3-8B-like prefill/decode shapes with one dim varied. */
import type { AttentionCall, GemmCall } from "../../src/graph/types.js";
import type { Dtype } from "../../src/checkpoint/types.js";

export function attention(headDim: number, over: Partial<AttentionCall> = {}): AttentionCall {
  return {
    id: `prefill.layers.0.attn`,
    kind: "attention",
    phase: "prefill",
    layer: 0,
    role: "layers.0.self_attn",
    batch: 1,
    qLen: 2048,
    kvLen: 2048,
    numHeads: 32,
    numKvHeads: 8,
    headDimQk: headDim,
    headDimV: headDim,
    causal: true,
    dtype: "BF16",
    ...over,
  };
}

export function decode(headDim: number, over: Partial<AttentionCall> = {}): AttentionCall {
  return attention(headDim, { id: "decode.layers.0.attn", phase: "decode", qLen: 1, kvLen: 4096, causal: false, ...over });
}

export function gemm(k: number, n = 4096, dtype: Dtype = "F16", over: Partial<GemmCall> = {}): GemmCall {
  return {
    id: "prefill.layers.0.k_proj",
    kind: "gemm",
    phase: "prefill",
    layer: 0,
    role: "layers.0.self_attn.k_proj",
    tensor: "model.layers.0.self_attn.k_proj.weight",
    m: 2048,
    n,
    k,
    dtype,
    ...over,
  };
}
