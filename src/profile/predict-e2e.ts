/**
 * A whole-model prediction per e2e grid point: the per-call predictions of predict.ts summed over
 * the model's GEMM and attention calls at that batch / sequence / context (the same kernel graph
 * scan uses), plus what is not a GEMM or attention call, from bytes and launches:
 *
 *   elementwise  RMSNorm, RoPE, SiLU x up, residual adds, attention layout copies, the KV-cache
 *                update, embedding gather: bytes moved (per element, as PyTorch's unfused ops in
 *                transformers' modeling_llama.py move them) / the measured copy bandwidth, with a
 *                floor per kernel (a tiny kernel is not free);
 *   launches     eager PyTorch: the host issues every kernel (µs each) and the GPU cannot run ahead
 *                of it, so a step takes max(GPU time, host time); a CUDA graph replays them with
 *                a small gap each.
 *
 * Every parameter is a named constant with where its value comes from. These are estimates, not
 * fits to gac's committed e2e results: bench/e2e-check.ts prints how far they are from each
 * measurement, and why where it can tell.
 */
import { buildKernelGraph } from "../graph/build-kernel-graph.js";
import type { GemmCall, KernelCall } from "../graph/types.js";
import { layerLinears, linearFactors } from "../model/layer-linears.js";
import type { ModelSpec } from "../model/types.js";
import type { ServingDtype } from "../scan/serving-dtype.js";
import { predictCall } from "./predict.js";
import type { GpuProfile } from "./types.js";

/** Bytes of a 16-bit element. */
const HALF = 2;

/**
 * Bytes moved per element of each elementwise op, read + write, as transformers' Llama code runs
 * them unfused (modeling_llama.py LlamaRMSNorm, apply_rotary_pos_emb, LlamaMLP, the decoder
 * layer's residual adds):
 *   RMSNorm: to(fp32) 2+4, pow 4+4, mean 4, mul by rsqrt 4+4, to(dtype) 4+2, weight mul 2+2+2 = 38
 *   RoPE on q and k: q*cos 2+2+2, rotate_half (slice, neg, cat) 2+2+2+2, *sin 2+2+2, add 2+2+2 = 26
 *   SiLU(gate) x up: silu 2+2, mul 2+2+2 = 10 (over the intermediate width)
 *   residual add: 2+2+2 = 6 (two per layer, over hidden)
 *   attention layout: the attention output transposed back and made contiguous, 2+2 = 4 (over heads x head_dim)
 */
export const ELEMENTWISE_BYTES = { rmsnorm: 38, rope: 26, act: 10, residual: 6, attnLayout: 4 } as const;

/** Kernels per decoder layer besides GEMMs and attention: RMSNorm 6 x 2, RoPE 10, act 2, residual 2, layout 2, cache update 2. */
export const ELEMENTWISE_KERNELS_PER_LAYER = 30;
/** Kernels outside the layers besides lm_head: embedding, final norm (6), last-position slice, argmax. */
export const MODEL_EXTRA_KERNELS = 9;

/**
 * Host time per kernel in eager PyTorch (transformers' Python per op: module hooks, cache update,
 * mask and position bookkeeping): research/end_to_end.md measured stock-transformers decode at
 * 6.0-6.7 ms per step at batch 1 for Llama-3-8B shapes with 8 of their layers, whose HBM traffic
 * takes ~1 ms, so the step is host-bound: ~6.35 ms over 8 x 38 + 10 = 314 kernels, ~20 µs each.
 */
export const EAGER_HOST_US_PER_KERNEL = 20;
/** Gap between kernels replayed from a CUDA graph (the GPU front end, no host): ~1 µs. */
export const GRAPH_GAP_US_PER_KERNEL = 1;
/** Least time of a tiny elementwise kernel on a datacenter GPU (launch latency on the GPU side). */
export const ELEMENTWISE_FLOOR_US = 2;
/** When the run recorded no copy bandwidth: the H200's measured ~4.3 TB/s (research/end_to_end.md). */
export const DEFAULT_COPY_BANDWIDTH_GBPS = 4300;

export interface E2ePointSpec {
  phase: "prefill" | "decode";
  batch: number;
  /** prefill: sequence length; decode: the KV length a step attends to. */
  length: number;
}

export interface E2ePredictOptions {
  dtype: ServingDtype;
  /** "transformers/sdpa/dynamic", "gac/graph/static": launches and the cache update depend on it. */
  config: string;
  copyBandwidthGbps?: number;
  /** Host time per step besides kernel launches (e.g. cuDNN plan builds), serial with them. */
  extraHostMs?: number;
}

export interface E2ePrediction {
  /** null when a GEMM or attention call of the point has no prediction from the profile. */
  ms: number | null;
  gemm_ms: number;
  attention_ms: number;
  elementwise_ms: number;
  /** Host time (eager) or graph gaps: the launch part. */
  launch_ms: number;
  /** Other host time per step (cuDNN plan builds where a shape-dynamics rule applies). */
  extra_host_ms: number;
  /** GEMM + attention calls with a prediction, of `calls`. */
  predicted_calls: number;
  calls: number;
  kernels: number;
  /** How the launch part combines with the GPU part. */
  combine: "max(gpu, host)" | "gpu + graph gaps";
}

function kvBytesPerTokenPerLayer(layer: ModelSpec["layers"][number]): number {
  return layer.attn.numKvHeads * (layer.attn.headDim + layer.attn.headDimV) * HALF;
}

/** Elementwise bytes of one point (all layers), and how many elementwise kernels. */
export function elementwiseBytes(spec: ModelSpec, point: E2ePointSpec, config: string): number {
  const tokens = point.phase === "prefill" ? point.batch * point.length : point.batch;
  const dynamicCache = config.endsWith("/dynamic");
  let bytes = 0;
  for (const layer of spec.layers) {
    const a = layer.attn;
    bytes += tokens * spec.hiddenSize * (2 * ELEMENTWISE_BYTES.rmsnorm + 2 * ELEMENTWISE_BYTES.residual);
    bytes += tokens * (a.numHeads + a.numKvHeads) * a.headDim * ELEMENTWISE_BYTES.rope;
    bytes += tokens * layer.mlp.intermediate * ELEMENTWISE_BYTES.act;
    bytes += tokens * a.numHeads * a.headDimV * ELEMENTWISE_BYTES.attnLayout;
    const kv = kvBytesPerTokenPerLayer(layer);
    // transformers' DynamicCache appends with torch.cat: each decode step reads and writes the
    // whole cache of every layer; a static cache writes only the new token (index_copy_).
    bytes += point.phase === "decode" && dynamicCache ? point.batch * point.length * kv * 2 : tokens * kv * 2;
  }
  bytes += tokens * spec.hiddenSize * HALF * 2; // embedding gather
  bytes += (point.phase === "prefill" ? point.batch : tokens) * spec.hiddenSize * ELEMENTWISE_BYTES.rmsnorm; // final norm (last positions)
  return bytes;
}

/** Kernels one step launches: GEMM factors, attention, elementwise. */
export function kernelCount(spec: ModelSpec): number {
  let n = MODEL_EXTRA_KERNELS + 1;
  for (const layer of spec.layers) {
    for (const { linear } of layerLinears(layer)) n += linearFactors(linear).length;
    n += 1 + ELEMENTWISE_KERNELS_PER_LAYER;
  }
  return n;
}

/** The calls of one phase at the point's shape. */
export function pointCalls(spec: ModelSpec, point: E2ePointSpec, dtype: ServingDtype): KernelCall[] {
  const workload =
    point.phase === "prefill" ? { prefillBatch: point.batch, prefillLen: point.length, decodeBatch: 1, kvLen: 1 } : { prefillBatch: 1, prefillLen: 1, decodeBatch: point.batch, kvLen: point.length };
  return buildKernelGraph(spec, workload)
    .filter((c) => c.phase === point.phase)
    .map((c) => ({ ...c, dtype }));
}

/** The M of the profile's compute-bound GEMM tables (G5: M = 1 and M = 2048). */
export const COMPUTE_REFERENCE_M = 2048;

/**
 * A GEMM with few rows reads its whole weight whatever M is, so its time is not M x the M=1 time
 * (linear FLOPs scaling from the M=1 table is 32x too slow at M = 32): it is the larger of the
 * weight-read time (the M=1 table at the call's N and K) and the compute time (the M=2048 table,
 * scaled by M / 2048), the roofline of the two measured regimes. From 2048 rows up, predictCall.
 */
export function predictGemmRows(profile: GpuProfile, call: GemmCall): number | null {
  if (call.m >= COMPUTE_REFERENCE_M) return predictCall(profile, call)?.ms ?? null;
  const read = predictCall(profile, { ...call, m: 1 })?.ms;
  const compute = predictCall(profile, { ...call, m: COMPUTE_REFERENCE_M })?.ms;
  if (read === undefined && compute === undefined) return null;
  return Math.max(read ?? 0, compute === undefined ? 0 : (compute * call.m) / COMPUTE_REFERENCE_M);
}

export function predictE2ePoint(spec: ModelSpec, point: E2ePointSpec, profile: GpuProfile, opts: E2ePredictOptions): E2ePrediction {
  const calls = pointCalls(spec, point, opts.dtype);
  let gemm = 0;
  let attention = 0;
  let predicted = 0;
  for (const call of calls) {
    const ms = call.kind === "gemm" ? predictGemmRows(profile, call) : (predictCall(profile, call)?.ms ?? null);
    const p = ms === null ? null : { ms };
    if (!p) continue;
    predicted++;
    if (call.kind === "gemm") gemm += p.ms;
    else attention += p.ms;
  }
  const bandwidth = opts.copyBandwidthGbps ?? DEFAULT_COPY_BANDWIDTH_GBPS;
  const kernels = kernelCount(spec);
  const elementwiseKernels = spec.layers.length * ELEMENTWISE_KERNELS_PER_LAYER + MODEL_EXTRA_KERNELS;
  const elementwise = Math.max((elementwiseBytes(spec, point, opts.config) / (bandwidth * 1e9)) * 1e3, (elementwiseKernels * ELEMENTWISE_FLOOR_US) / 1e3);
  const gpu = gemm + attention + elementwise;
  const graph = opts.config.startsWith("gac/graph/");
  const launch = (kernels * (graph ? GRAPH_GAP_US_PER_KERNEL : EAGER_HOST_US_PER_KERNEL)) / 1e3;
  const extra = opts.extraHostMs ?? 0;
  const ms = predicted < calls.length ? null : graph ? gpu + launch + extra : Math.max(gpu, launch + extra);
  return {
    ms,
    gemm_ms: gemm,
    attention_ms: attention,
    elementwise_ms: elementwise,
    launch_ms: launch,
    extra_host_ms: extra,
    predicted_calls: predicted,
    calls: calls.length,
    kernels,
    combine: graph ? "gpu + graph gaps" : "max(gpu, host)",
  };
}
