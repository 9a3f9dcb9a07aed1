#!/usr/bin/env bash
# A misaligned FP8 GEMM before and after zero padding on the GPU: torch._scaled_mm (per-tensor
# scales, BF16 out) for an MLP down_proj y[M, 4096] = x[M, K] . W^T at K = 11469 (expected refused:
# FP8 needs 16-byte rows), padded to 11472 (16) and 11520 (128, block-FP8's tile), against BF16
# matmul at every K and the runtime workaround (pad x on every call). Checks the padded results
# against FP32 math of the unpadded operands. Python + torch only (no Node).
# Run from the repository root on the GPU machine:  bash bench/gpu-fp8-gemm.sh
# Writes $OUT/fp8-gemm.json and $OUT/gpu-fp8-gemm.log. GPU time: ~10-20 s (4 M values x 8 cases x 60 iterations).
set -uo pipefail
OUT=${OUT:-/tmp/gac-out}
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu-fp8-gemm.log") 2>&1
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv
OUT="$OUT" python3 bench/gpu_fp8_gemm.py "$@"
