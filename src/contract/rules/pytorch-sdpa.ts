/**
 * PyTorch scaled_dot_product_attention on CUDA: cuDNN, flash (vendored FA2), mem-efficient
 * (CUTLASS, from xFormers) and math, walked in PyTorch's priority order.
 * Sources: pytorch aten/src/ATen/native/transformers/cuda/sdp_utils.cpp (can_use_* and check_*),
 * aten/src/ATen/native/transformers/attention.cpp (pad_last_dim), .../flash_attn/static_switch.h.
 *
 * Checked against sm90 measurements (torch 2.11.0+cu130, CUDA 13.0, cuDNN 9.19.0):
 * results/20261121T054358Z-all (H100), results/20261121T051256Z-all and 20261121T051808Z-all
 * (H200); test/contract/measured-agreement.test.ts replays every row below against this file.
 */
import type { AttentionCall } from "../../graph/types.js";
import type { Backend, GpuId, RuntimeRule } from "../types.js";
import { GPUS } from "../gpus.js";
import { cublasGemm } from "./gemm.js";
import { fa2Cost, headDimText, isHalf, notMultipleOf } from "./common.js";

const SDP_UTILS = "pytorch aten/src/ATen/native/transformers/cuda/sdp_utils.cpp";

/**
 * The cuDNN runtime the contract assumes: 9.19.0, the version in run.json of all three sm90 runs
 * above. Newer than 9.15, so cuDNN is tried first (research/kernel_constraints.md section 0); it
 * also decides cuDNN's head_dim limit.
 */
const ASSUMED_CUDNN_VERSION = 91900;

/** HEADDIM_SWITCH buckets of PyTorch's vendored FA2 (it still has 160 and 224). */
const PYTORCH_FA2_HEAD_DIMS = [32, 64, 96, 128, 160, 192, 224, 256] as const;

/**
 * check_prefer_cudnn_attention: cuDNN > 9.15 on sm90/sm100 (CUDA < 13 branch: minor 0; CUDA >= 13
 * drops the minor test, the same for every generation here). The CUDA 13 runs confirm cuDNN first
 * on sm90: C21 profile_kernels show a cuDNN kernel wherever cuDNN accepts.
 */
function prefersCudnn(gpu: GpuId): boolean {
  const { major, minor } = GPUS[gpu];
  return ASSUMED_CUDNN_VERSION > 91500 && (major === 9 || major === 10) && minor === 0;
}

/**
 * check_cudnn_tensor_shapes: 128, 256 on sm90 with cuDNN >= 9.10 ("Hopper: head_dim<=256 support
 * with cuDNN >= 9.10.0"), 192/128 on sm100 with cuDNN >= 9.11.
 * research/kernel_constraints.md section 1 reads a newer sdp_utils.cpp, where > 128 on sm90 needs
 * cuDNN > 9.22 and cudnn-frontend 12400; that would cap cuDNN 9.19 at 128. The measurements side
 * with 256: suite S1 (AUTO, fp16, 4x32 heads, 2048x2048, all three runs) takes 0.62-0.70 ms at
 * head_dim 136, 144, 152 and 160, less than flash forced at 128 (0.80 ms, S2 and C21) and 2.6-2.9x
 * less than the padded neighbours 129-159 (1.79-1.88 ms, flash), so cuDNN ran them.
 */
function cudnnHeadDimLimit(call: AttentionCall, gpu: GpuId): number {
  if (gpu === "sm90" && ASSUMED_CUDNN_VERSION >= 91000) return 256;
  if (gpu === "sm100" && ASSUMED_CUDNN_VERSION >= 91100 && call.headDimQk === 192 && call.headDimV === 128) return 192;
  return 128;
}

/**
 * Measured: forced CUDNN (S2 and the C21 acceptance probes) ran head_dim 96, 104, 112, 120 and 128
 * and refused every other head_dim in 104..128 with PyTorch's "head_dim should be a multiple of 8"
 * (the warnings the 20261121T051808Z-all run recorded). Unforced (C21 profile_kernels) it launched
 * cudnn_generated_fort_native_sdpa_sm90_flash_fprop_wgmma_f16_knob_7_64x128x128 at 104, 112, 120
 * and 128 alike: one 128-wide head tile, so 104 and 120 are rounded up inside the kernel with no
 * extra pass (0.48 and 0.48 ms against 0.45 ms at 128: fast).
 * s_k == 1 is refused; s_q == 1 only with dropout, which the contract does not model, so decode
 * (q 1, kv 4096) takes cuDNN. The decode suite recorded no kernel names; its timings agree (aligned
 * head_dims at memory-bandwidth speed, 107 4.0-8.2x slower than 112).
 */
export const sdpaCudnn: Backend<AttentionCall> = {
  name: "cuDNN",
  aliases: ["CUDNN_ATTENTION"],
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

/**
 * Measured (C21 profile_kernels, all three runs): at every head_dim 105..127 that is not a multiple
 * of 8, AUTO launched FillFunctor + direct_copy (the pad) and then
 * pytorch_flash::flash_fwd_kernel<Flash_fwd_kernel_traits<128, ...>>, whose Is_even_K flag is false
 * for 105..119 (padded to 112/120, below the 128 template) and true for 121..127 (padded to 128):
 * pad_last_dim<8>, then the HEADDIM_SWITCH bucket. Forced FLASH ran every head_dim 104..128.
 */
const sdpaFlash: Backend<AttentionCall> = {
  name: "flash",
  aliases: ["FLASH_ATTENTION"],
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

/**
 * Measured: forced EFFICIENT (S2, C21 acceptance probes) ran every multiple of 8 in 96..128
 * (1.6-1.9 ms) and refused the rest with "Mem efficient attention requires last dimension of
 * inputs to be divisible by 8".
 */
const sdpaMemEfficient: Backend<AttentionCall> = {
  name: "mem-efficient",
  aliases: ["EFFICIENT_ATTENTION", "EFFICIENT"],
  source: `${SDP_UTILS} can_use_mem_efficient_attention, check_head_dim_size_mem_efficient (minimum_gemm_alignment)`,
  accepts(call) {
    if (!isHalf(call.dtype) && call.dtype !== "F32") return { reason: `mem-efficient takes fp16/bf16/fp32, not ${call.dtype}`, misaligned: false };
    // minimum_gemm_alignment = max(4, 128 / 16) = 8 for fp16/bf16 on sm >= 80; 4 for fp32.
    const misaligned = notMultipleOf(call, call.dtype === "F32" ? 4 : 8);
    return misaligned ? { reason: misaligned, misaligned: true } : null;
  },
  cost: () => ({ verdict: "fast", kernel: "mem-efficient (CUTLASS fMHA)", reason: "" }),
};

const sdpaMath: Backend<AttentionCall> = {
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
  attentionBackends: (_call, gpu) => (prefersCudnn(gpu) ? [sdpaCudnn, sdpaFlash, sdpaMemEfficient, sdpaMath] : [sdpaFlash, sdpaMemEfficient, sdpaMath, sdpaCudnn]),
  gemmBackends: () => [cublasGemm],
  noAttentionBackend: {
    kernel: "none",
    consequence: 'SDPA fails with "No available kernel. Aborting execution."',
    source: `${SDP_UTILS} select_sdp_backend`,
  },
  compiledHeadDims: PYTORCH_FA2_HEAD_DIMS,
};
