/**
 * GEMM rules: y[m, n] = x[m, k] . W[n, k]^T as nn.Linear runs it. PyTorch calls cuBLAS with
 * transa='t', so the leading dimensions are k (both operands) and n (the output): those two must
 * span whole 16-byte vectors. m (tokens) is never a leading dimension here.
 * Sources: cuBLAS docs section 2.1.11 "Tensor Core Usage"; pytorch aten/src/ATen/cuda/CUDABlas.cpp
 * (CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_*); CUTLASS include/cutlass/gemm/collective/
 * sm90_mma_tma_gmma_ss_warpspecialized.hpp can_implement; include/cutlass/gemm/kernel/gemm.h can_implement.
 */
import type { GemmCall } from "../../graph/types.js";
import type { Backend, GpuId, Rejection } from "../types.js";
import { elementsPer16Bytes, isFp8 } from "./common.js";

/** "K=107 and N=819 are not multiples of 8 F16 elements (16 bytes)", or null when both are. */
function misaligned16Bytes(call: GemmCall): string | null {
  const per = elementsPer16Bytes(call.dtype);
  const dims: [string, number][] = [
    ["K", call.k],
    ["N", call.n],
  ];
  const bad = dims.filter(([, v]) => v % per !== 0);
  if (bad.length === 0) return null;
  const names = bad.map(([name, v]) => `${name}=${v}`).join(" and ");
  return `${names} ${bad.length === 1 ? "is not a multiple" : "are not multiples"} of ${per} ${call.dtype} elements (16 bytes)`;
}

function isHopperOrNewer(gpu: GpuId): boolean {
  return gpu === "sm90" || gpu === "sm100";
}

export const cublasGemm: Backend<GemmCall> = {
  name: "cuBLASLt",
  source: "cuBLAS docs 2.1.11 Tensor Core Usage; pytorch aten/src/ATen/cuda/CUDABlas.cpp gemm (MIN_ALIGNMENT prefs)",
  accepts(call): Rejection | null {
    if (!isFp8(call.dtype)) return null;
    const bad = misaligned16Bytes(call);
    return bad ? { reason: `${bad}: FP8 matmul requires 16-byte dims and leading dims`, misaligned: true } : null;
  },
  cost(call, gpu) {
    const bad = misaligned16Bytes(call);
    if (!bad) return { verdict: "fast", kernel: `cuBLASLt ${gpu} tensor-core GEMM`, reason: "" };
    const hopper = isHopperOrNewer(gpu) ? "; no TMA/WGMMA tile qualifies, so an sm80-era kernel runs (kestrel PR #143: 3.53x slower at K=588 on Hopper)" : "";
    return {
      verdict: "slow",
      kernel: `cuBLASLt ${gpu} kernel without 16-byte vector loads`,
      reason: `${bad}: only kernels without 16-byte vector loads qualify${hopper}`,
    };
  },
};

export const cutlass3xTmaGemm: Backend<GemmCall> = {
  name: "CUTLASS 3.x TMA",
  source: "cutlass include/cutlass/gemm/collective/sm90_mma_tma_gmma_ss_warpspecialized.hpp can_implement (tma_alignment_bits = 128)",
  accepts(call, gpu) {
    if (!isHopperOrNewer(gpu)) return { reason: `TMA/WGMMA kernels need sm90 or newer, not ${gpu}`, misaligned: false };
    const bad = misaligned16Bytes(call);
    return bad ? { reason: `${bad}: can_implement fails ("minimum alignment requirements for TMA")`, misaligned: true } : null;
  },
  cost: (_call, gpu) => ({ verdict: "fast", kernel: `CUTLASS 3.x TMA warp-specialized ${gpu}`, reason: "" }),
};
