/**
 * The flash-attn package called directly (not through PyTorch SDPA): FA2 (csrc/flash_attn) and
 * FA3 (hopper/). Sources: Dao-AILab/flash-attention @0251105a.
 */
import type { AttentionCall } from "../../graph/types.js";
import type { Backend, RuntimeRule } from "../types.js";
import { cublasGemm } from "./gemm.js";
import { bucket, fa2Cost, headDimText, isFp8, isHalf, notMultipleOf } from "./common.js";

/** csrc/flash_attn/src/generate_kernels.py HEAD_DIMENSIONS since v2.8 (224 dropped in 751c762c, 160 in ce212720). */
const FA2_HEAD_DIMS = [32, 64, 96, 128, 192, 256] as const;
/** hopper/generate_kernels.py HEAD_DIMENSIONS; round_up_headdim buckets. */
const FA3_HEAD_DIMS = [64, 96, 128, 192, 256] as const;

export const fa2: Backend<AttentionCall> = {
  name: "FA2",
  source: "flash-attention flash_attn/flash_attn_interface.py Flash*Func.forward (pads to x8); csrc/flash_attn/flash_api.cpp mha_fwd; csrc/flash_attn/src/generate_kernels.py",
  accepts(call) {
    if (!isHalf(call.dtype)) return { reason: `FA2 takes fp16/bf16, not ${call.dtype}`, misaligned: false };
    if (call.headDimQk !== call.headDimV) return { reason: `FA2 needs equal q/k/v head dims, got ${headDimText(call)}`, misaligned: false };
    if (call.headDimQk > 256) return { reason: `${headDimText(call)} is above FA2's limit of 256`, misaligned: false };
    return null;
  },
  cost: (call) => fa2Cost(call, FA2_HEAD_DIMS, (d, padded) => `flash_attn_interface pads q/k/v ${d}->${padded} (a copy each, output sliced back)`),
};

/** hopper/flash_api.cpp mha_fwd: head_size_v may differ only for 128<d<=192 && 96<dv<=128, or d<=64 && dv<=512. */
function fa3HeadDimPairOk(d: number, dv: number): boolean {
  return d === dv || (d > 128 && d <= 192 && dv > 96 && dv <= 128) || (d <= 64 && dv <= 512);
}

const fa3: Backend<AttentionCall> = {
  name: "FA3",
  source: "flash-attention hopper/flash_api.cpp mha_fwd (head_size % alignment, get_max_headdim), round_up_headdim; hopper/flash_attn_interface.py (no padding)",
  accepts(call, gpu) {
    if (gpu !== "sm90") return { reason: `FA3 (hopper/) is built for sm90 only, not ${gpu}`, misaligned: false };
    if (!isHalf(call.dtype) && !isFp8(call.dtype)) return { reason: `FA3 takes fp16/bf16/fp8, not ${call.dtype}`, misaligned: false };
    if (call.headDimQk > 256) return { reason: `${headDimText(call)} is above FA3's limit of 256`, misaligned: false };
    if (!fa3HeadDimPairOk(call.headDimQk, call.headDimV)) return { reason: `FA3 has no kernel for ${headDimText(call)}`, misaligned: false };
    const misaligned = notMultipleOf(call, isFp8(call.dtype) ? 16 : 8);
    return misaligned ? { reason: `${misaligned} and FA3 does no padding`, misaligned: true } : null;
  },
  cost(call) {
    const template = bucket(call.headDimQk, FA3_HEAD_DIMS) ?? call.headDimQk;
    return {
      verdict: "fast",
      kernel: `FA3 sm90 hdim${template}`,
      reason: template === call.headDimQk ? "" : `head_dim ${call.headDimQk} runs the hdim${template} kernel`,
    };
  },
};

export const flashAttn2: RuntimeRule = {
  id: "flash-attn2",
  summary: "flash-attn 2.8+ (flash_attn_func, pads to x8 in Python) + cuBLAS GEMMs",
  attentionBackends: () => [fa2],
  gemmBackends: () => [cublasGemm],
  noAttentionBackend: { kernel: "none", consequence: "flash_attn_func raises a RuntimeError", source: fa2.source },
  compiledHeadDims: FA2_HEAD_DIMS,
};

export const flashAttn3: RuntimeRule = {
  id: "flash-attn3",
  summary: "flash-attn 3 (hopper/, sm90 only, no padding) + cuBLAS GEMMs",
  attentionBackends: () => [fa3],
  gemmBackends: () => [cublasGemm],
  noAttentionBackend: { kernel: "none", consequence: 'mha_fwd fails its TORCH_CHECK ("head_size should be a multiple of 8")', source: fa3.source },
  compiledHeadDims: FA3_HEAD_DIMS,
};
