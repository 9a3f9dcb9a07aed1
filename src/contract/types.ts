/**
 * A shape contract: per runtime and GPU generation, what each kernel family accepts, where it
 * leaves its fast path, and where it refuses. Rules are data and cite the source file they come from.
 */
import type { AttentionCall, GemmCall } from "../graph/types.js";

export type VerdictKind = "fast" | "slow" | "refused";

export interface Verdict {
  verdict: VerdictKind;
  /** The kernel (or backend) that runs, e.g. "cuDNN SDPA sm90", "FA2 (padded 107->112, hdim128 template)". */
  kernel: string;
  /** Why this verdict, in one sentence with the numbers. Empty for a plain fast path. */
  reason: string;
  /** Where the rule comes from: "pytorch aten/src/ATen/native/transformers/cuda/sdp_utils.cpp check_cudnn_tensor_shapes". */
  source: string;
}

/** GPU generations the contract distinguishes (compute capability). */
export type GpuId = "sm80" | "sm86" | "sm89" | "sm90" | "sm100";

/** Serving runtimes with a rule file in contract/rules/. */
export type RuntimeId = "pytorch-sdpa" | "flash-attn2" | "flash-attn3" | "vllm" | "tensorrt-llm" | "llama.cpp";

/** Why a backend will not take a call; `misaligned` marks refusals caused by a dim's alignment (not by size or hardware). */
export interface Rejection {
  reason: string;
  misaligned: boolean;
}

/** What a backend costs once it has accepted a call. */
export interface Cost {
  verdict: "fast" | "slow";
  kernel: string;
  /** Empty for a plain fast path. */
  reason: string;
}

/**
 * One kernel family a runtime may dispatch to. A runtime's rule lists its backends in priority
 * order; judgeCall walks the list and the first backend that accepts the call runs it.
 */
export interface Backend<C> {
  name: string;
  /**
   * Other names the runtime's own switch uses for this backend, accepted by judgeCall's
   * opts.backend (PyTorch's SDPBackend.EFFICIENT_ATTENTION for "mem-efficient").
   */
  aliases?: readonly string[];
  /** File and function the rule is read from. */
  source: string;
  accepts(call: C, gpu: GpuId): Rejection | null;
  cost(call: C, gpu: GpuId): Cost;
}

/**
 * A runtime's contract: which backends it tries, in which order, for each call on each GPU.
 * judgeCall walks these lists; the rules themselves are data in contract/rules/<runtime>.ts.
 */
export interface RuntimeRule {
  id: RuntimeId;
  /** One line for --help and reports. */
  summary: string;
  /** Attention backends in the order the runtime tries them for this call on this GPU. */
  attentionBackends(call: AttentionCall, gpu: GpuId): readonly Backend<AttentionCall>[];
  /** GEMM backends in the order the runtime tries them. */
  gemmBackends(call: GemmCall, gpu: GpuId): readonly Backend<GemmCall>[];
  /** What happens when no attention backend accepts: an error, or the op leaving the GPU. */
  noAttentionBackend: { kernel: string; consequence: string; source: string };
  /** Head sizes the runtime's attention kernels are compiled for: PREDEFINED's targets for head_dim. */
  compiledHeadDims: readonly number[];
  /** The error a user-forced backend gives when it cannot take the call (vLLM's VLLM_ATTENTION_BACKEND). */
  forcedBackendError?: { message(backend: string, reason: string): string; source: string };
}
