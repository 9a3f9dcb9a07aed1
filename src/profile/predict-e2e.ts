/**
 * A whole-model prediction per e2e grid point, per engine configuration: the per-call predictions
 * of predict.ts summed over the calls the configuration runs at that batch / sequence / context (the
 * kernel graph scan uses, with the gac engine's fused q|k|v and gate|up GEMMs), plus what is not a
 * GEMM or attention call:
 *
 *   attention    the backend SDPA picks (engine-steps.ts sdpaBackend) or the one the row recorded:
 *                fused backends from the profile's table nearest the call's work; eager and math
 *                attention from their materialised scores; a masked fixed cache attended over whole
 *   elementwise  RMSNorm, RoPE, SiLU x up, residual adds, layout copies, the KV-cache update,
 *                repeat_kv under a mask, embedding gather: bytes moved (per element, as each engine
 *                runs them) / the measured copy bandwidth, with a floor per elementwise kernel;
 *   launches     eager PyTorch: the host issues every kernel the configuration launches
 *                (engine-steps.ts) at a calibrated cost per kernel per engine, and the GPU cannot run
 *                ahead of it, so a step takes max(GPU time, host time); a CUDA graph replays them
 *                with a small gap each.
 *
 * Every parameter is a named constant with where its value comes from; the host cost per kernel and
 * the cuDNN plan cost are fitted on a declared subset of a run (src/bench/e2e/calibration.ts) and
 * bench/e2e-check.ts prints those points as calibration, not as checks.
 */
import { buildKernelGraph } from "../graph/build-kernel-graph.js";
import type { AttentionCall, GemmCall, KernelCall } from "../graph/types.js";
import {
  attentionGqaNative,
  attentionKernels,
  attentionMasked,
  engineCalls,
  gacGraph,
  parseStepConfig,
  sdpaBackend,
  SPLIT_KV_CHUNK,
  stepKernels,
  type AttentionBackend,
  type EngineName,
  type StepConfig,
} from "./engine-steps.js";
import type { LayerSpec, ModelSpec } from "../model/types.js";
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

/**
 * Host time per kernel an eager PyTorch loop spends issuing it (Python, dispatcher, module calls,
 * the launch), per engine: transformers' modules cost more per kernel than gac's compact loop.
 * Defaults when a run has no calibration points: the values src/bench/e2e/calibration.ts fitted on
 * results/20261201T215958Z-e2e (transformers: the dense parent's sdpa-nocudnn decode points;
 * gac: its eager decode points whose attention was not cuDNN). A run's own fit replaces them.
 */
export const DEFAULT_HOST_US_PER_KERNEL: Record<EngineName, number> = { transformers: 22.8, gac: 22.3 };
/** Gap between kernels replayed from a CUDA graph (the GPU front end, no host): ~1 µs. */
export const GRAPH_GAP_US_PER_KERNEL = 1;
/** Least time of a tiny elementwise kernel on a datacenter GPU (launch latency on the GPU side). */
export const ELEMENTWISE_FLOOR_US = 2;
/** When the run recorded no copy bandwidth: the H200's measured ~4.3 TB/s (research/end_to_end.md). */
export const DEFAULT_COPY_BANDWIDTH_GBPS = 4300;
/**
 * Cache positions beyond the context a fixed-length cache holds (transformers' StaticCache, the gac
 * engine's preallocated cache): run.py allocates context + warmup (2) + decode_steps (16) + 8, and a
 * masked SDPA call attends over all of them.
 */
export const STATIC_CACHE_SLACK = 26;
/**
 * Bytes per attention score element of transformers' eager attention (eager_attention_forward):
 * QK^T written 2, * scaling 2 + 2, + mask 2 + 2 + 2, softmax(fp32) 2 + 4, .to(dtype) 4 + 2, read
 * by the PV matmul 2 = 26. SDPA's math backend (masked, head_dim % 8 != 0): QK^T 2, + mask
 * 2 + 2 + 2, softmax 2 + 2, PV read 2 = 14.
 */
export const SCORE_BYTES: Record<"eager" | "math", number> = { eager: 26, math: 14 };
/**
 * Bytes per score element of the gac engine's split-KV attention (gac_model.py split_kv_attention):
 * QK^T written 2, + bias (fp32) 2 + 4, softmax 4 + 4, .to(dtype) 4 + 2, the pieces' layout copy
 * 2 + 2, read by the P.V GEMM 2 = 28; per partial output element (batch x kv x pieces x group x dv)
 * written 2 and read 2 by the fp32 sum; per output element the sum's 4 and .to(dtype)'s 4 + 2.
 */
export const SPLIT_KV_BYTES = { score: 28, partial: 4, output: 10 } as const;

export interface E2ePointSpec {
  phase: "prefill" | "decode";
  batch: number;
  /** prefill: sequence length; decode: the KV length a step attends to. */
  length: number;
}

export interface E2ePredictOptions {
  dtype: ServingDtype;
  /** "transformers/sdpa/dynamic", "gac/graph/static": what the step launches depends on it. */
  config: string;
  copyBandwidthGbps?: number;
  /** Host time per step besides kernel launches (e.g. cuDNN plan builds), serial with them. */
  extraHostMs?: number;
  /** Host µs per kernel of this engine (a run's calibration); default DEFAULT_HOST_US_PER_KERNEL. */
  hostUsPerKernel?: number;
  /** The decode attention backend the run recorded; default what sdpaBackend says PyTorch picks. */
  decodeBackend?: AttentionBackend;
  /**
   * Whole-model GEMM time / the sum of the profile's isolated timings, as measured for this phase
   * (src/bench/e2e/measured-mechanisms.ts: sustained power in prefill, graph replay in decode); default 1.
   */
  gemmScale?: number;
}

export interface E2ePrediction {
  /** null when a GEMM or attention call of the point has no prediction from the profile. */
  ms: number | null;
  /** The GEMM calls' isolated sum x gemm_scale. */
  gemm_ms: number;
  gemm_scale: number;
  attention_ms: number;
  elementwise_ms: number;
  /** Host time (eager) or graph gaps: the launch part. */
  launch_ms: number;
  /** Other host time per step (cuDNN plan builds where a shape-dynamics rule applies). */
  extra_host_ms: number;
  /** GEMM + attention calls with a prediction, of `calls`. */
  predicted_calls: number;
  calls: number;
  /** Kernels the step launches in this configuration (engine-steps.ts). */
  kernels: number;
  /** Host µs charged per kernel (eager) or the graph gap. */
  us_per_kernel: number;
  /** The attention backend the prediction assumed (of the first layer). */
  backend: AttentionBackend;
  /** How the launch part combines with the GPU part. */
  combine: "max(gpu, host)" | "gpu + graph gaps";
}

function kvBytesPerTokenPerLayer(layer: LayerSpec): number {
  return layer.attn.numKvHeads * (layer.attn.headDim + layer.attn.headDimV) * HALF;
}

/** RMSNorm bytes per element: transformers' unfused ops (38), or one fused F.rms_norm (read + write, 4). */
function rmsnormBytes(cfg: StepConfig): number {
  return cfg.engine === "gac" ? 2 * HALF : ELEMENTWISE_BYTES.rmsnorm;
}

/** The cache length a decode step's attention reads: the context, or the whole fixed cache when masked. */
export function attendedLength(cfg: StepConfig, point: E2ePointSpec): number {
  if (!(point.phase === "decode" && attentionMasked(cfg, "decode") && cfg.attention !== "eager")) return point.length;
  const whole = point.length + STATIC_CACHE_SLACK;
  // The split-KV graph's cache holds a whole number of pieces (run.py rounds its length up).
  return cfg.engine === "gac" && cfg.attention === "graph-splitkv" ? Math.ceil(whole / SPLIT_KV_CHUNK) * SPLIT_KV_CHUNK : whole;
}

/** Elementwise bytes of one point (all layers) in this configuration. */
export function elementwiseBytes(spec: ModelSpec, point: E2ePointSpec, config: string): number {
  const cfg = parseStepConfig(config);
  const tokens = point.phase === "prefill" ? point.batch * point.length : point.batch;
  const norm = rmsnormBytes(cfg);
  const layout = cfg.engine === "transformers" || point.phase === "prefill" ? ELEMENTWISE_BYTES.attnLayout : 0;
  let bytes = 0;
  for (const layer of spec.layers) {
    const a = layer.attn;
    bytes += tokens * spec.hiddenSize * (2 * norm + 2 * ELEMENTWISE_BYTES.residual);
    bytes += tokens * (a.numHeads + a.numKvHeads) * a.headDim * ELEMENTWISE_BYTES.rope;
    bytes += tokens * layer.mlp.intermediate * ELEMENTWISE_BYTES.act;
    bytes += tokens * a.numHeads * a.headDimV * layout;
    const kv = kvBytesPerTokenPerLayer(layer);
    // transformers' DynamicCache appends with torch.cat: each decode step reads and writes the
    // whole cache of every layer; a static cache writes only the new token (index_copy_).
    bytes += point.phase === "decode" && cfg.cache === "dynamic" ? point.batch * point.length * kv * 2 : tokens * kv * 2;
    // With a mask, transformers' SDPA path copies K and V to every query head (repeat_kv).
    if (point.phase === "decode" && !attentionGqaNative(cfg, "decode") && cfg.attention !== "eager") {
      bytes += point.batch * attendedLength(cfg, point) * (a.numHeads + a.numKvHeads) * (a.headDim + a.headDimV) * HALF;
    }
  }
  bytes += tokens * spec.hiddenSize * HALF * 2; // embedding gather
  bytes += (point.phase === "prefill" ? point.batch : tokens) * spec.hiddenSize * norm; // final norm (last positions)
  return bytes;
}

/** The calls of one phase at the point's shape, as the kernel graph lists them. */
export function pointCalls(spec: ModelSpec, point: E2ePointSpec, dtype: ServingDtype): KernelCall[] {
  const workload =
    point.phase === "prefill" ? { prefillBatch: point.batch, prefillLen: point.length, decodeBatch: 1, kvLen: 1 } : { prefillBatch: 1, prefillLen: 1, decodeBatch: point.batch, kvLen: point.length };
  return buildKernelGraph(spec, workload)
    .filter((c) => c.phase === point.phase)
    .map((c) => ({ ...c, dtype }));
}

/**
 * The calls as the configuration runs them: the gac engine's fused GEMMs; attention over the whole
 * fixed cache where the step is masked, with every query head's own K/V where repeat_kv copied them.
 */
export function configCalls(spec: ModelSpec, point: E2ePointSpec, dtype: ServingDtype, config: string): KernelCall[] {
  const cfg = parseStepConfig(config);
  const length = attendedLength(cfg, point);
  const gqa = attentionGqaNative(cfg, point.phase);
  return engineCalls(spec, pointCalls(spec, point, dtype), cfg).map((c) =>
    c.kind !== "attention" ? c : { ...c, kvLen: point.phase === "decode" ? length : c.kvLen, numKvHeads: gqa ? c.numKvHeads : c.numHeads },
  );
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

/** The profile's best measured 16-bit GEMM throughput (FLOP/ms), from its largest-M tables; null without one. */
export function gemmPeakFlopsPerMs(profile: GpuProfile): number | null {
  let best: number | null = null;
  for (const s of profile.series) {
    if (s.op !== "gemm_k" && s.op !== "gemm_n") continue;
    const m = s.shape.m ?? 0;
    if (m < COMPUTE_REFERENCE_M) continue;
    for (const p of s.points) {
      const n = s.op === "gemm_n" ? p.dim : s.shape.n;
      const k = s.op === "gemm_k" ? p.dim : s.shape.k;
      if (!n || !k || p.median_ms <= 0) continue;
      const rate = (2 * m * n * k) / p.median_ms;
      if (best === null || rate > best) best = rate;
    }
  }
  return best;
}

/**
 * Attention that materialises its scores (transformers' eager, SDPA's math backend): the larger of
 * the bytes it moves (K and V read, the scores through every unfused op, at the copy bandwidth) and
 * its two batched matmuls' FLOPs at the profile's best GEMM rate. Causal prefill still computes
 * the whole score matrix and masks it.
 */
export function unfusedAttentionMs(call: AttentionCall, kind: "eager" | "math", profile: GpuProfile, bandwidthGbps: number): number | null {
  const peak = gemmPeakFlopsPerMs(profile);
  if (peak === null) return null;
  const scores = call.batch * call.numHeads * call.qLen * call.kvLen;
  const kv = call.batch * call.numKvHeads * call.kvLen * (call.headDimQk + call.headDimV) * HALF;
  const q = call.batch * call.numHeads * call.qLen * (call.headDimQk + call.headDimV) * HALF * 2;
  const bytesMs = ((scores * SCORE_BYTES[kind] + kv + q) / (bandwidthGbps * 1e9)) * 1e3;
  const flopsMs = (2 * scores * (call.headDimQk + call.headDimV)) / peak;
  return Math.max(bytesMs, flopsMs);
}

/**
 * The gac engine's split-KV decode attention: its bytes (K and V read once, the scores and the
 * pieces' partial sums through each of its kernels) at the copy bandwidth, and never less than its
 * kernels' floors (a batch-1 step's attention is a few MB per layer: the floors decide it).
 */
export function splitKvAttentionMs(call: AttentionCall, bandwidthGbps: number): number {
  const group = call.numHeads / call.numKvHeads;
  const scores = call.batch * call.numHeads * call.qLen * call.kvLen;
  const pieces = Math.ceil(call.kvLen / SPLIT_KV_CHUNK);
  const partials = call.batch * call.numKvHeads * pieces * group * call.qLen * call.headDimV;
  const output = call.batch * call.numHeads * call.qLen * call.headDimV;
  const kv = call.batch * call.numKvHeads * call.kvLen * (call.headDimQk + call.headDimV) * HALF;
  const q = call.batch * call.numHeads * call.qLen * call.headDimQk * HALF;
  const bytes = kv + q + scores * SPLIT_KV_BYTES.score + partials * SPLIT_KV_BYTES.partial + output * SPLIT_KV_BYTES.output;
  const floorMs = (attentionKernels("splitkv", "decode", call.headDimQk) * ELEMENTWISE_FLOOR_US) / 1e3;
  return Math.max((bytes / (bandwidthGbps * 1e9)) * 1e3, floorMs);
}

export function predictE2ePoint(spec: ModelSpec, point: E2ePointSpec, profile: GpuProfile, opts: E2ePredictOptions): E2ePrediction {
  const cfg = parseStepConfig(opts.config);
  const bandwidth = opts.copyBandwidthGbps ?? DEFAULT_COPY_BANDWIDTH_GBPS;
  // The split-KV graph runs gac's own attention whatever kernels a profiler names (its softmax reads as "math").
  const recorded = cfg.attention === "graph-splitkv" ? undefined : opts.decodeBackend;
  const backendOf = (layer: LayerSpec): AttentionBackend => (point.phase === "decode" && recorded !== undefined ? recorded : sdpaBackend(cfg, point.phase, layer.attn.headDim));
  const calls = configCalls(spec, point, opts.dtype, opts.config);
  let gemm = 0;
  let attention = 0;
  let predicted = 0;
  for (const call of calls) {
    let ms: number | null;
    if (call.kind === "gemm") ms = predictGemmRows(profile, call);
    else {
      const backend = backendOf(spec.layers[call.layer]);
      ms =
        backend === "eager" || backend === "math"
          ? unfusedAttentionMs(call, backend, profile, bandwidth)
          : backend === "splitkv"
            ? splitKvAttentionMs(call, bandwidth)
            : (predictCall(profile, call)?.ms ?? null);
    }
    if (ms === null) continue;
    predicted++;
    if (call.kind === "gemm") gemm += ms;
    else attention += ms;
  }
  const kernels = stepKernels(spec, calls, cfg, point.phase, backendOf);
  const elementwise = Math.max((elementwiseBytes(spec, point, opts.config) / (bandwidth * 1e9)) * 1e3, (kernels.elementwise * ELEMENTWISE_FLOOR_US) / 1e3);
  const gemmScale = opts.gemmScale ?? 1;
  gemm *= gemmScale;
  const gpu = gemm + attention + elementwise;
  const graph = gacGraph(cfg, point.phase);
  const usPerKernel = graph ? GRAPH_GAP_US_PER_KERNEL : (opts.hostUsPerKernel ?? DEFAULT_HOST_US_PER_KERNEL[cfg.engine]);
  const launch = (kernels.total * usPerKernel) / 1e3;
  const extra = opts.extraHostMs ?? 0;
  const ms = predicted < calls.length ? null : graph ? gpu + launch + extra : Math.max(gpu, launch + extra);
  return {
    ms,
    gemm_ms: gemm,
    gemm_scale: gemmScale,
    attention_ms: attention,
    elementwise_ms: elementwise,
    launch_ms: launch,
    extra_host_ms: extra,
    predicted_calls: predicted,
    calls: calls.length,
    kernels: kernels.total,
    us_per_kernel: usPerKernel,
    backend: spec.layers[0] ? backendOf(spec.layers[0]) : "flash",
    combine: graph ? "gpu + graph gaps" : "max(gpu, host)",
  };
}
