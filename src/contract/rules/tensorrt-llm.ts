/**
 * TensorRT-LLM: decode runs the masked multi-head attention (MMHA) kernels, prefill the context
 * FMHA cubins with an unfused fallback. GEMMs: cuBLASLt (gemm plugin); FP8 also CUTLASS 3.x on sm90+.
 * Sources: cpp/tensorrt_llm/kernels/decoderMaskedMultiheadAttention.cu (MMHA_SUPPORTED_HEAD_SIZES);
 * cpp/tensorrt_llm/kernels/contextFusedMultiHeadAttention/fmhaRunner.cpp (isFmhaSupported, setupLaunchParams).
 */
import type { AttentionCall } from "../../graph/types.js";
import type { Backend, RuntimeRule } from "../types.js";
import { cublasGemm, cutlass3xTmaGemm } from "./gemm.js";
import { headDimText, isCompiledHeadDim, isFp8, isHalf, nextPow2, notMultipleOf } from "./common.js";

/** MMHA_SUPPORTED_HEAD_SIZES (full build; FAST_BUILD keeps only 32/64/128/256). */
const TRTLLM_MMHA_HEAD_DIMS = [32, 48, 64, 80, 96, 104, 112, 128, 144, 160, 192, 224, 256] as const;

const trtMmha: Backend<AttentionCall> = {
  name: "MMHA",
  source: "TensorRT-LLM cpp/tensorrt_llm/kernels/decoderMaskedMultiheadAttention.cu MMHA_SUPPORTED_HEAD_SIZES",
  accepts(call) {
    const d = call.headDimQk;
    if (isCompiledHeadDim(call, TRTLLM_MMHA_HEAD_DIMS)) return null;
    return { reason: `unsupported head_size ${d}: MMHA is compiled for ${TRTLLM_MMHA_HEAD_DIMS.join(", ")}`, misaligned: notMultipleOf(call, 8) !== null };
  },
  cost: (call) => ({ verdict: "fast", kernel: `MMHA head_size ${call.headDimQk}`, reason: "" }),
};

const trtContextFmha: Backend<AttentionCall> = {
  name: "context FMHA",
  source: "TensorRT-LLM contextFusedMultiHeadAttention/fmhaRunner.cpp isFmhaSupported, setupLaunchParams (padded_d); issue #855 (non-multiple-of-8 head sizes unsupported)",
  accepts(call) {
    if (!isHalf(call.dtype) && !isFp8(call.dtype)) return { reason: `context FMHA takes fp16/bf16/fp8, not ${call.dtype}`, misaligned: false };
    const misaligned = notMultipleOf(call, 8);
    if (misaligned) return { reason: `FMHA kernel doesn't exist: ${misaligned}`, misaligned: true };
    if (call.headDimQk > 256) return { reason: `FMHA kernel doesn't exist: ${headDimText(call)} is above 256`, misaligned: false };
    return null;
  },
  cost(call) {
    const padded = nextPow2(call.headDimQk);
    return {
      verdict: "fast",
      kernel: `context FMHA (padded_d ${padded})`,
      reason: padded === call.headDimQk ? "" : `the TMA box is padded_d ${padded} (next power of 2 of ${call.headDimQk})`,
    };
  },
};

const trtUnfusedMha: Backend<AttentionCall> = {
  name: "unfused MHA",
  source: 'TensorRT-LLM attention plugin: "Fall back to unfused MHA" when isFmhaSupported() is false',
  accepts: () => null,
  cost: (call) => ({
    verdict: "slow",
    kernel: "unfused MHA (BMM + softmax + BMM)",
    reason: `unfused attention writes the ${call.qLen}x${call.kvLen} score matrix per head to memory`,
  }),
};

export const tensorrtLlm: RuntimeRule = {
  id: "tensorrt-llm",
  summary: "TensorRT-LLM (decode MMHA whitelist, context FMHA or unfused) + cuBLASLt/CUTLASS GEMMs",
  attentionBackends: (call) => (call.phase === "decode" ? [trtMmha] : [trtContextFmha, trtUnfusedMha]),
  gemmBackends: (call) => (isFp8(call.dtype) ? [cutlass3xTmaGemm, cublasGemm] : [cublasGemm]),
  noAttentionBackend: {
    kernel: "none",
    consequence: 'the engine fails with TLLM_CHECK "unsupported head_size"',
    source: trtMmha.source,
  },
  compiledHeadDims: TRTLLM_MMHA_HEAD_DIMS,
};
