/**
 * ModelSpec + Workload -> the kernel calls of one forward pass, per phase, in execution order:
 * for each layer q, k, v (each stored factor its own GEMM), attention, o, gate, up, down; then
 * lm_head. Ids are `${phase}:${role}` and stable across runs.
 *
 * GEMM convention (graph/types.ts): y[m, n] = x[m, k] . W[n, k]^T, so n = weight rows, k = weight
 * columns, m = tokens: prefillBatch x prefillLen in prefill, decodeBatch in decode. A PaLU group
 * GEMM reads its own latent slice: k = r_g, n = groupDim. The role of a factor GEMM is its tensor
 * name without "model." and ".weight" ("layers.3.self_attn.k_proj.U.0", "layers.3.self_attn.q_v_proj").
 *
 * lm_head in prefill uses m = prefillBatch: serving runtimes (vLLM, transformers generate with
 * logits_to_keep=1) compute logits for the last prompt token only.
 */
import { GacError } from "../errors.js";
import { layerLinears, linearFactors } from "../model/layer-linears.js";
import type { LayerSpec, ModelSpec, WeightRef } from "../model/types.js";
import { DEFAULT_WORKLOAD, type AttentionCall, type GemmCall, type KernelCall, type Phase, type Workload } from "./types.js";

export function buildKernelGraph(spec: ModelSpec, workload: Workload = DEFAULT_WORKLOAD): KernelCall[] {
  checkWorkload(workload);
  const calls: KernelCall[] = [];
  for (const phase of ["prefill", "decode"] as const) {
    const tokens = phase === "prefill" ? workload.prefillBatch * workload.prefillLen : workload.decodeBatch;
    for (const layer of spec.layers) {
      for (const { module, linear } of layerLinears(layer)) {
        if (module === "self_attn.o_proj") calls.push(attentionCall(spec, layer, phase, workload));
        for (const w of linearFactors(linear)) calls.push(gemm(spec, phase, layer.index, roleOf(w.tensor), w, tokens));
      }
    }
    const lmTokens = phase === "prefill" ? workload.prefillBatch : workload.decodeBatch;
    const lmHead: WeightRef = { tensor: spec.lmHead, out: spec.vocabSize, in: spec.hiddenSize };
    calls.push(gemm(spec, phase, -1, "lm_head", lmHead, lmTokens));
  }
  return calls;
}

function gemm(spec: ModelSpec, phase: Phase, layer: number, role: string, w: WeightRef, m: number): GemmCall {
  return { id: `${phase}:${role}`, kind: "gemm", phase, layer, role, tensor: w.tensor, m, n: w.out, k: w.in, dtype: w.dtype ?? spec.dtype };
}

function attentionCall(spec: ModelSpec, layer: LayerSpec, phase: Phase, w: Workload): AttentionCall {
  const role = `layers.${layer.index}.self_attn.attention`;
  const shape = phase === "prefill" ? { batch: w.prefillBatch, qLen: w.prefillLen, kvLen: w.prefillLen, causal: true } : { batch: w.decodeBatch, qLen: 1, kvLen: w.kvLen, causal: false };
  return {
    id: `${phase}:${role}`,
    kind: "attention",
    phase,
    layer: layer.index,
    role,
    ...shape,
    numHeads: layer.attn.numHeads,
    numKvHeads: layer.attn.numKvHeads,
    headDimQk: layer.attn.headDim,
    headDimV: layer.attn.headDimV,
    dtype: spec.dtype,
  };
}

/** "model.layers.3.mlp.down_proj.weight" -> "layers.3.mlp.down_proj". */
function roleOf(tensor: string): string {
  return tensor.replace(/^model\./, "").replace(/\.weight$/, "");
}

function checkWorkload(w: Workload): void {
  for (const key of ["prefillBatch", "prefillLen", "decodeBatch", "kvLen"] as const) {
    const v = w[key];
    if (!Number.isSafeInteger(v) || v <= 0) {
      throw new GacError("BAD_ARGS", `workload ${key} is ${v} but must be a positive integer: it sets the token count of every kernel call`);
    }
  }
}
