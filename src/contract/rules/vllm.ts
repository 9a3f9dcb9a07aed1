/**
 * vLLM V1 attention backend selection (non-MLA) and its GEMMs (torch linear -> cuBLAS).
 * Sources: vllm/platforms/cuda.py _get_backend_priorities, get_valid_backends;
 * vllm/v1/attention/backends/{flash_attn,flashinfer,triton_attn}.py supports_head_size;
 * vllm/attention/ops/triton_unified_attention.py (HEAD_SIZE_PADDED).
 */
import type { AttentionCall } from "../../graph/types.js";
import type { Backend, RuntimeRule } from "../types.js";
import { cublasGemm } from "./gemm.js";
import { headDimText, isCompiledHeadDim, isHalf, nextPow2, notMultipleOf } from "./common.js";

/** FLASHINFER.get_supported_head_sizes (mid-2025 copy, cites flashinfer utils.cuh). */
const VLLM_FLASHINFER_HEAD_DIMS = [64, 128, 256] as const;
/** FLASH_ATTN's older whitelist (@0084b783): the sizes every vLLM version compiles. */
const VLLM_FLASH_ATTN_HEAD_DIMS = [32, 64, 96, 128, 160, 192, 224, 256] as const;

const vllmFlashAttn: Backend<AttentionCall> = {
  name: "FLASH_ATTN",
  source: "vllm/v1/attention/backends/flash_attn.py supports_head_size (head_size % 8 == 0 and <= 256)",
  accepts(call) {
    if (!isHalf(call.dtype)) return { reason: `FLASH_ATTN takes fp16/bf16, not ${call.dtype}`, misaligned: false };
    const misaligned = notMultipleOf(call, 8);
    if (misaligned) return { reason: `head_size not supported: ${misaligned}`, misaligned: true };
    if (call.headDimQk > 256) return { reason: `head_size not supported: ${headDimText(call)} is above 256`, misaligned: false };
    return null;
  },
  cost: (_call, gpu) => ({ verdict: "fast", kernel: gpu === "sm90" ? "vllm-flash-attn FA3" : "vllm-flash-attn FA2", reason: "" }),
};

const vllmFlashInfer: Backend<AttentionCall> = {
  name: "FLASHINFER",
  source: "vllm/v1/attention/backends/flashinfer.py get_supported_head_sizes ([64, 128, 256])",
  accepts(call) {
    if (isCompiledHeadDim(call, VLLM_FLASHINFER_HEAD_DIMS)) return null;
    return { reason: `head_size not supported: ${headDimText(call)} is not one of 64, 128, 256`, misaligned: notMultipleOf(call, 8) !== null };
  },
  cost: () => ({ verdict: "fast", kernel: "FlashInfer", reason: "" }),
};

const vllmTritonAttn: Backend<AttentionCall> = {
  name: "TRITON_ATTN",
  source: "vllm/v1/attention/backends/triton_attn.py supports_head_size (>= 32); vllm/attention/ops/triton_unified_attention.py HEAD_SIZE_PADDED",
  accepts(call) {
    return call.headDimQk >= 32 ? null : { reason: `head_size not supported: ${headDimText(call)} is below 32`, misaligned: false };
  },
  cost(call) {
    const d = call.headDimQk;
    const padded = nextPow2(d);
    if (padded === d) return { verdict: "fast", kernel: `TRITON_ATTN (tile ${d})`, reason: "" };
    return {
      verdict: "slow",
      kernel: `TRITON_ATTN (tile ${padded}, masked)`,
      reason: `TRITON_ATTN pads each head ${d}->${padded} (next power of 2) inside the kernel and masks ${padded - d} lanes`,
    };
  },
};

const vllmFlexAttention: Backend<AttentionCall> = {
  name: "FLEX_ATTENTION",
  source: "vllm/platforms/cuda.py _get_backend_priorities (last resort; head-size rule not characterised)",
  accepts: () => null,
  cost: () => ({ verdict: "slow", kernel: "FLEX_ATTENTION (torch.compile'd flex attention)", reason: "the last-resort backend, not a tuned kernel" }),
};

export const vllm: RuntimeRule = {
  id: "vllm",
  summary: "vLLM V1 (FLASH_ATTN -> FLASHINFER -> TRITON_ATTN -> FLEX_ATTENTION) + cuBLAS GEMMs",
  // FLASHINFER comes first on sm10x.
  attentionBackends: (_call, gpu) => (gpu === "sm100" ? [vllmFlashInfer, vllmFlashAttn, vllmTritonAttn, vllmFlexAttention] : [vllmFlashAttn, vllmFlashInfer, vllmTritonAttn, vllmFlexAttention]),
  gemmBackends: () => [cublasGemm],
  noAttentionBackend: {
    kernel: "none",
    consequence: 'vLLM raises ValueError("No valid attention backend found")',
    source: "vllm/platforms/cuda.py get_valid_backends",
  },
  compiledHeadDims: VLLM_FLASH_ATTN_HEAD_DIMS,
  forcedBackendError: {
    message: (backend, reason) => `ValueError("Selected backend ${backend} is not valid for this configuration. Reason: ${reason}")`,
    source: "vllm/platforms/cuda.py get_attn_backend_cls",
  },
};
