/**
 * What one step of each e2e engine configuration launches, counted from the code it runs
 * (python/gac_worker/e2e/gac_model.py for the gac engine; transformers 5.x modeling_llama.py,
 * integrations/sdpa_attention.py and cache_utils.py for stock transformers), so that a prediction can
 * charge the host for every kernel it issues and the GPU for every kernel's floor:
 *
 *   transformers, per decoder layer (besides GEMMs and attention):
 *     LlamaRMSNorm x 2, 8 kernels each: to(fp32), pow, mean, + eps, rsqrt, mul, to(dtype), weight mul
 *     apply_rotary_pos_emb on q and k, 5 each: x*cos, rotate_half (neg, cat), *sin, add
 *     attention output transpose(1, 2).contiguous(): 1; residual adds: 2; SiLU(gate) * up: 2
 *     cache: DynamicLayer.update torch.cat K and V: 2 (decode; prefill runs use_cache=False)
 *            StaticLayer.update index_copy_ K and V: 2, and with a mask SDPA gets no enable_gqa
 *            (use_gqa_in_sdpa needs attention_mask None), so repeat_kv copies K and V: 2
 *   transformers, per step: embedding 1; LlamaRotaryEmbedding (position cast, matmul, cat, cos,
 *     sin, two scalings, two casts) 9; cache_position 1; the mask 4 where one is built (static
 *     cache, eager); final norm 8; lm_head 1; the greedy argmax 1 (decode).
 *   gac, per layer: F.rms_norm x 2 (one fused kernel each, PyTorch >= 2.8), RoPE 5 on the fused
 *     q|k (10 when q and k are separate GEMMs), the cache write 2 (slice copy, or index_copy_ in the
 *     graph), residual adds 2, SiLU * up 2, the prefill attention output reshape copy 1; the
 *     graph also gathers cos/sin at pos (2). Per step: embedding, final norm, lm_head, argmax
 *     (4), and in the graph the mask (arange, <=) and the ids copy and pos += 1 (4).
 *   GEMMs: one kernel per stored factor; the gac engine concatenates dense q|k|v and gate|up into
 *     one GEMM each (gac_model.py fuse_dense), a PaLU grouped projection adds a cat.
 *   attention: SDPA's backend decides (attentionKernels).
 */
import type { GemmCall, KernelCall } from "../graph/types.js";
import type { LayerSpec, ModelSpec } from "../model/types.js";

export type EngineName = "transformers" | "gac";
export type AttentionBackend = "cudnn" | "flash" | "efficient" | "math" | "eager" | "splitkv";

/** Cache positions per P.V piece of the gac engine's split-KV attention (gac_model.py SPLIT_KV_CHUNK). */
export const SPLIT_KV_CHUNK = 256;

export interface StepConfig {
  engine: EngineName;
  /** sdpa, sdpa-nocudnn, sdpa-avoid-recompile, eager (transformers); eager, eager-nocudnn, graph, graph-splitkv (gac). */
  attention: string;
  cache: "dynamic" | "static";
}

export function parseStepConfig(id: string): StepConfig {
  const [engine, attention = "", cache = "static"] = id.split("/");
  return { engine: engine === "gac" ? "gac" : "transformers", attention, cache: cache === "dynamic" ? "dynamic" : "static" };
}

/** Whether the configuration disables cuDNN SDPA (transformers sdpa-nocudnn, gac eager-nocudnn). */
export function cudnnDisabled(cfg: Pick<StepConfig, "attention">): boolean {
  return cfg.attention.endsWith("-nocudnn");
}

/** Whether the step is a gac engine decode captured in a CUDA graph (graph, graph-splitkv). */
export function gacGraph(cfg: StepConfig, phase: "prefill" | "decode"): boolean {
  return cfg.engine === "gac" && phase === "decode" && cfg.attention.startsWith("graph");
}

/** Whether the step's attention gets a mask: transformers' static cache and eager, gac's CUDA graphs. */
export function attentionMasked(cfg: StepConfig, phase: "prefill" | "decode"): boolean {
  if (cfg.engine === "gac") return gacGraph(cfg, phase);
  if (cfg.attention === "eager") return true;
  return phase === "decode" && cfg.cache === "static";
}

/** Whether SDPA gets K/V with their own (fewer) heads; else repeat_kv has copied them to every query head. */
export function attentionGqaNative(cfg: StepConfig, phase: "prefill" | "decode"): boolean {
  return cfg.engine === "gac" || (cfg.attention !== "eager" && !attentionMasked(cfg, phase));
}

/**
 * The backend PyTorch's SDPA picks (sm90, torch 2.11: cuDNN, flash, efficient, math in that
 * order, sdp_utils.cpp): cuDNN needs head_dim % 8 and cuDNN enabled; flash takes no mask and pads
 * a head_dim that is not a multiple of 8 (the run recorded Flash_fwd_kernel_traits<128> at 106);
 * efficient takes a mask but needs head_dim % 8; else math (matmul, softmax, matmul).
 */
export function sdpaBackend(cfg: StepConfig, phase: "prefill" | "decode", headDim: number): AttentionBackend {
  if (cfg.engine === "transformers" && cfg.attention === "eager") return "eager";
  if (cfg.engine === "gac" && cfg.attention === "graph-splitkv" && phase === "decode") return "splitkv";
  const aligned = headDim % 8 === 0;
  const cudnn = !cudnnDisabled(cfg);
  if (aligned && cudnn) return "cudnn";
  if (!attentionMasked(cfg, phase)) return "flash";
  return aligned ? "efficient" : "math";
}

/** The backend a run's recorded decode attention kernels name, or null when they name none. */
export function backendFromKernels(kernels: readonly string[]): AttentionBackend | null {
  const text = kernels.join(" ").toLowerCase();
  if (text.includes("cudnn")) return "cudnn";
  if (text.includes("flash")) return "flash";
  if (text.includes("fmha") || text.includes("efficient")) return "efficient";
  if (text.includes("softmax")) return "math";
  return null;
}

/**
 * Kernels of one attention call: cuDNN's decode plan runs its attention kernel and a split-KV
 * reduction (the run recorded lean_reduction_kernel beside it), prefill one; flash decode
 * splitkv + combine, prefill one (+ 3 pads and a slice when head_dim % 8 != 0); math: scale, mask
 * to bias, matmul, add, softmax, matmul; transformers' eager: repeat_kv x 2, matmul, scale, mask
 * add, softmax, to(dtype), matmul; gac's split-KV: QK^T GEMM, bias add (fp32), softmax, to(dtype),
 * the pieces' layout copy, P.V GEMM, fp32 sum, to(dtype).
 */
export function attentionKernels(backend: AttentionBackend, phase: "prefill" | "decode", headDim: number): number {
  switch (backend) {
    case "cudnn":
      return phase === "decode" ? 2 : 1;
    case "flash":
      return (phase === "decode" ? 2 : 1) + (headDim % 8 === 0 ? 0 : 4);
    case "efficient":
      return 1;
    case "math":
      return 6;
    case "eager":
      return 8;
    case "splitkv":
      return 8;
  }
}

/** Elementwise kernels of one decoder layer in this configuration (besides GEMMs and attention). */
export function layerElementwiseKernels(cfg: StepConfig, layer: LayerSpec, phase: "prefill" | "decode"): number {
  if (cfg.engine === "transformers") {
    let n = 2 * 8 + 10 + 1 + 2 + 2;
    if (phase === "decode") n += 2; // cat or index_copy_ of K and V
    if (phase === "decode" && cfg.cache === "static" && cfg.attention !== "eager") n += 2; // repeat_kv (no GQA with a mask)
    return n;
  }
  const fusedQk = fusedGroups(layer).qkv;
  let n = 2 + (fusedQk ? 5 : 10) + 2 + 2;
  if (phase === "decode") n += 2; // cache write
  if (phase === "prefill") n += 1; // a.transpose(1, 2).reshape copies
  if (gacGraph(cfg, phase)) n += 2; // cos/sin index_select
  if (layer.attn.k.kind === "grouped") n += 1;
  if (layer.attn.v.kind === "grouped") n += 1;
  return n;
}

/** Kernels per step outside the layers besides lm_head. */
export function stepExtraKernels(cfg: StepConfig, phase: "prefill" | "decode"): number {
  if (cfg.engine === "transformers") {
    const mask = cfg.attention === "eager" || (phase === "decode" && cfg.cache === "static") ? 4 : 0;
    return 1 + 9 + 1 + mask + 8 + (phase === "decode" ? 1 : 0);
  }
  // the graph's mask: arange, <= (and torch.where to an fp32 bias for split-KV); ids copy; pos += 1
  const graphExtra = gacGraph(cfg, phase) ? (cfg.attention === "graph-splitkv" ? 5 : 4) : 0;
  return 1 + 1 + (phase === "decode" ? 1 : 0) + graphExtra;
}

/** Which of a layer's projections the gac engine runs as one concatenated GEMM (all dense). */
export function fusedGroups(layer: LayerSpec): { qkv: boolean; gateUp: boolean } {
  const dense = (l: { kind: string }) => l.kind === "dense";
  return { qkv: dense(layer.attn.q) && dense(layer.attn.k) && dense(layer.attn.v), gateUp: dense(layer.mlp.gate) && dense(layer.mlp.up) };
}

const FUSED_ROLES = { qkv: /\.self_attn\.[qkv]_proj$/, gateUp: /\.mlp\.(gate|up)_proj$/ } as const;

/**
 * The GEMMs the gac engine runs: the calls of the kernel graph with each layer's dense q, k, v
 * merged into one GEMM of n = the sum of their outputs, and gate, up into one (same m and k).
 * transformers runs every projection on its own: its calls are the graph's.
 */
export function engineCalls(spec: ModelSpec, calls: readonly KernelCall[], cfg: StepConfig): KernelCall[] {
  if (cfg.engine !== "gac") return [...calls];
  const out: KernelCall[] = [];
  const merged = new Map<string, GemmCall>();
  for (const call of calls) {
    const layer = call.layer >= 0 ? spec.layers[call.layer] : undefined;
    const group = call.kind === "gemm" && layer ? (["qkv", "gateUp"] as const).find((g) => fusedGroups(layer)[g] && FUSED_ROLES[g].test(call.role)) : undefined;
    if (call.kind !== "gemm" || group === undefined) {
      out.push(call);
      continue;
    }
    const key = `${call.layer}/${group}`;
    const seen = merged.get(key);
    if (seen) {
      seen.n += call.n;
      continue;
    }
    const fused: GemmCall = { ...call, id: `${call.phase}:layers.${call.layer}.${group}`, role: `layers.${call.layer}.${group === "qkv" ? "self_attn.qkv_proj" : "mlp.gate_up_proj"}` };
    merged.set(key, fused);
    out.push(fused);
  }
  return out;
}

/** Kernels one step launches in this configuration: GEMMs, attention, elementwise. */
export function stepKernels(
  spec: ModelSpec,
  calls: readonly KernelCall[],
  cfg: StepConfig,
  phase: "prefill" | "decode",
  backend: (layer: LayerSpec) => AttentionBackend,
): { gemm: number; attention: number; elementwise: number; total: number } {
  const gemm = calls.filter((c) => c.kind === "gemm").length;
  let attention = 0;
  let elementwise = stepExtraKernels(cfg, phase);
  for (const layer of spec.layers) {
    attention += attentionKernels(backend(layer), phase, layer.attn.headDim);
    elementwise += layerElementwiseKernels(cfg, layer, phase);
  }
  return { gemm, attention, elementwise, total: gemm + attention + elementwise };
}
