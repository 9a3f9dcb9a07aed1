/**
 * PyTorch scaled_dot_product_attention on CUDA: cuDNN, flash (vendored FA2), mem-efficient
 * (CUTLASS, from xFormers) and math, walked in PyTorch's priority order.
 * Sources: pytorch aten/src/ATen/native/transformers/cuda/sdp_utils.cpp (can_use_* and check_*),
 * aten/src/ATen/native/transformers/attention.cpp (pad_last_dim), .../flash_attn/static_switch.h.
 */
import type { AttentionCall } from "../../graph/types.js";
import type { Backend, GpuId, RuntimeRule } from "../types.js";
import { GPUS } from "../gpus.js";
import { cublasGemm } from "./gemm.js";
import { fa2Cost, headDimText, isHalf, notMultipleOf } from "./common.js";

const SDP_UTILS = "pytorch aten/src/ATen/native/transformers/cuda/sdp_utils.cpp";

/**
 * The cuDNN runtime the contract assumes: newer than 9.15, as on the H200 run where head_dim 112
 * ran a cuDNN sm90 kernel (research/kernel_constraints.md section 0). It decides the priority order
 * and cuDNN's head_dim limit.
 */
export const ASSUMED_CUDNN_VERSION = 91600;

/** HEADDIM_SWITCH buckets of PyTorch's vendored FA2 (it still has 160 and 224). */
export const PYTORCH_FA2_HEAD_DIMS = [32, 64, 96, 128, 160, 192, 224, 256] as const;

/** check_prefer_cudnn_attention: cuDNN > 9.15 on sm90/sm100 (CUDA < 13 branch: minor 0). */
function prefersCudnn(gpu: GpuId): boolean {
  const { major, minor } = GPUS[gpu];
  return ASSUMED_CUDNN_VERSION > 91500 && (major === 9 || major === 10) && minor === 0;
}

/** check_cudnn_tensor_shapes: 128, 256 on sm90 with cuDNN >= 9.10, 192/128 on sm100 with cuDNN >= 9.11. */
function cudnnHeadDimLimit(call: AttentionCall, gpu: GpuId): number {
  if (gpu === "sm90" && ASSUMED_CUDNN_VERSION >= 91000) return 256;
  if (gpu === "sm100" && ASSUMED_CUDNN_VERSION >= 91100 && call.headDimQk === 192 && call.headDimV === 128) return 192;
  return 128;
}

export const sdpaCudnn: Backend<AttentionCall> = {
  name: "cuDNN",
  source: `${SDP_UTILS} can_use_cudnn_attention, check_cudnn_tensor_shapes`,
  accepts(call, gpu) {
    if (!isHalf(call.dtype)) return { reason: `cuDNN attention takes fp16/bf16, not ${call.dtype}`, misaligned: false };
    const limit = cudnnHeadDimLimit(call, gpu);
    if (call.headDimQk > limit || call.headDimV > limit) {
      return { reason: `${headDimText(call)} is above cuDNN's limit of ${limit} on ${gpu}`, misaligned: false };
    }
    const misaligned = notMultipleOf(call, 8);
    if (misaligned) return { reason: misaligned, misaligned: true };
    if (call.kvLen === 1) return { reason: "cuDNN SDPA does not support key/value sequence length 1", misaligned: false };
    return null;
  },
  cost: (_call, gpu) => ({ verdict: "fast", kernel: `cuDNN SDPA ${gpu}`, reason: "" }),
};

export const sdpaFlash: Backend<AttentionCall> = {
  name: "flash",
  source:
    `${SDP_UTILS} can_use_flash_attention, check_head_dim_size_flash; attention.cpp scaled_dot_product_attention pad_last_dim<8>; ` +
    "PadNd.cpp constant_pad_nd; flash_attn/flash_api.cpp mha_fwd; static_switch.h HEADDIM_SWITCH",
  accepts(call) {
    if (!isHalf(call.dtype)) return { reason: `flash takes fp16/bf16, not ${call.dtype}`, misaligned: false };
    if (call.headDimQk !== call.headDimV) return { reason: `flash needs equal q/k/v head dims, got ${headDimText(call)}`, misaligned: false };
    if (call.headDimQk > 256) return { reason: `${headDimText(call)} is above flash's limit of 256`, misaligned: false };
    if (call.causal && call.qLen !== call.kvLen) {
      return { reason: `flash refuses is_causal with seqlen_q ${call.qLen} != seqlen_k ${call.kvLen}`, misaligned: false };
    }
    return null;
  },
  cost: (call) => fa2Cost(call, PYTORCH_FA2_HEAD_DIMS, (_d, padded) => `flash pads q/k/v to ${padded} (3 fill+copy passes, output sliced back)`),
};

export const sdpaMemEfficient: Backend<AttentionCall> = {
  name: "mem-efficient",
  source: `${SDP_UTILS} can_use_mem_efficient_attention, check_head_dim_size_mem_efficient (minimum_gemm_alignment)`,
  accepts(call) {
    if (!isHalf(call.dtype) && call.dtype !== "F32") return { reason: `mem-efficient takes fp16/bf16/fp32, not ${call.dtype}`, misaligned: false };
    // minimum_gemm_alignment = max(4, 128 / 16) = 8 for fp16/bf16 on sm >= 80; 4 for fp32.
    const misaligned = notMultipleOf(call, call.dtype === "F32" ? 4 : 8);
    return misaligned ? { reason: misaligned, misaligned: true } : null;
  },
  cost: () => ({ verdict: "fast", kernel: "mem-efficient (CUTLASS fMHA)", reason: "" }),
};

export const sdpaMath: Backend<AttentionCall> = {
  name: "math",
  source: `${SDP_UTILS} select_sdp_backend (math fallback); attention.cpp _scaled_dot_product_attention_math`,
  accepts: () => null,
  cost: (call) => ({
    verdict: "slow",
    kernel: "math (unfused matmul + softmax + matmul)",
    reason: `the math backend materialises the ${call.qLen}x${call.kvLen} score matrix per head (seed S2: 12.6x slower than flash)`,
  }),
};

export const pytorchSdpa: RuntimeRule = {
  id: "pytorch-sdpa",
  summary: "PyTorch SDPA (cuDNN, flash, mem-efficient, math) + cuBLAS GEMMs",
  attentionBackends: (_call, gpu) =>
    prefersCudnn(gpu) ? [sdpaCudnn, sdpaFlash, sdpaMemEfficient, sdpaMath] : [sdpaFlash, sdpaMemEfficient, sdpaMath, sdpaCudnn],
  gemmBackends: () => [cublasGemm],
  noAttentionBackend: {
    kernel: "none",
    consequence: "SDPA fails with \"No available kernel. Aborting execution.\"",
    source: `${SDP_UTILS} select_sdp_backend`,
  },
  compiledHeadDims: PYTORCH_FA2_HEAD_DIMS,
};
