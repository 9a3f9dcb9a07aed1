#!/usr/bin/env bash
# Repair throughput against cp + sync on the GPU host (16 cores): bench/repair-throughput.ts, every
# path (head_dim fold and logical, MLP width, low-rank pairs, PaLU groups) in BF16, F16 and F32, one
# file and sharded, best of 2 runs, peak RSS. No GPU is used; the host is the one users repair on.
# Build here first (tsc, no node_modules needed there):  npx tsc -p tsconfig.bench.json
# Run on the device machine from the repository root with `dist-bench` and `.devnode` carried:
#   bash bench/gpu-repair-throughput.sh
# Writes under $OUT: repair-throughput.json (schema gac-repair-throughput/1) and
# gpu-repair-throughput.log (the table). About 2-3 minutes; GAC_BENCH_ARGS adds or overrides flags.
set -uo pipefail
OUT=${OUT:-/tmp/gac-out}
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu-repair-throughput.log") 2>&1
tar xJf .devnode/node.tar.xz -C /usr/local/bin 2>/dev/null || true
node --version
nproc; free -g | head -2; df -hT "${TMPDIR:-/tmp}" | tail -1
# shellcheck disable=SC2086
node dist-bench/bench/repair-throughput.js --sharded-dtypes BF16,F16,F32 --runs 2 --json "$OUT/repair-throughput.json" ${GAC_BENCH_ARGS:-}
