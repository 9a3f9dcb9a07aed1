/**
 * llama.cpp's CUDA backend: flash attention kernels exist for a fixed set of K head sizes; any
 * other size leaves the FA op to the CPU (or, with flash_attn=auto, turns FA off for the context).
 * GEMMs of F16/BF16 weights go through cuBLAS.
 * Sources: ggml/src/ggml-cuda/fattn.cu ggml_cuda_get_best_fattn_kernel; src/llama-context.cpp resolve_fused_ops.
 */
import type { AttentionCall } from "../../graph/types.js";
import type { Backend, RuntimeRule } from "../types.js";
import { cublasGemm } from "./gemm.js";
import { isCompiledHeadDim } from "./common.js";

/** K head sizes ggml_cuda_get_best_fattn_kernel accepts with V == K (192/128, 320/256, 576/512 need GQA specifics: not modelled). */
export const LLAMA_CPP_FA_HEAD_DIMS = [40, 64, 72, 80, 96, 112, 128, 256] as const;
/** The vec kernel's sizes (decode); the rest run the MMA/tile kernels. */
const VEC_HEAD_DIMS = [64, 128, 256];

const llamaCppCudaFa: Backend<AttentionCall> = {
  name: "CUDA FA",
  source: "llama.cpp ggml/src/ggml-cuda/fattn.cu ggml_cuda_get_best_fattn_kernel",
  accepts(call) {
    const d = call.headDimQk;
    if (isCompiledHeadDim(call, LLAMA_CPP_FA_HEAD_DIMS)) return null;
    return {
      reason: `no CUDA FA kernel for K head size ${d} (BEST_FATTN_KERNEL_NONE; compiled: ${LLAMA_CPP_FA_HEAD_DIMS.join(", ")})`,
      misaligned: d % 8 !== 0,
    };
  },
  cost: (call) => ({
    verdict: "fast",
    kernel: call.phase === "decode" && VEC_HEAD_DIMS.includes(call.headDimQk) ? `CUDA FA vec D=${call.headDimQk}` : `CUDA FA mma D=${call.headDimQk}`,
    reason: "",
  }),
};

export const llamaCpp: RuntimeRule = {
  id: "llama.cpp",
  summary: "llama.cpp CUDA (FA kernels for K in 40,64,72,80,96,112,128,256) + cuBLAS GEMMs",
  attentionBackends: () => [llamaCppCudaFa],
  gemmBackends: () => [cublasGemm],
  noAttentionBackend: {
    kernel: "CPU (FA op scheduled off the GPU)",
    consequence: "ggml_cuda_flash_attn_ext_supported is false, so the scheduler runs the FA op on the CPU; with flash_attn=auto llama_context disables flash attention",
    source: "llama.cpp ggml/src/ggml-cuda/fattn.cu; src/llama-context.cpp resolve_fused_ops",
  },
  compiledHeadDims: LLAMA_CPP_FA_HEAD_DIMS,
};
