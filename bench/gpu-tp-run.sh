#!/usr/bin/env bash
# One GPU's share of a tensor-parallel deployment, measured on one GPU: a header-only Llama-3-8B
# with a uniformly pruned MLP of 11472 channels (bench/tp-fixture.mjs), then `gac bench model --tp N`
# for N in 1 4 8: each run times the kernel calls GPU 0 of an N-way vLLM deployment makes
# (2868 per GPU at TP 4, 1434 at TP 8), unrepaired and after the TP-aware repair (2880 / 1440).
# The all-reduces between GPUs are not measured (one GPU; docs/tensor-parallel.md).
# Run on the device machine from the repository root with `dist` (npm run build) and `.devnode`
# carried:  bash bench/gpu-tp-run.sh
# Writes under $OUT: tp-results.tar.gz (results/<stamp>-model-pruned-mlp-11472-tp<N>/{run.json,
# results-gpu*.jsonl,scan-*.json}) and gpu-tp-run.log. GPU time: 3 runs x ~28 cases x ~0.5 s, about
# 45 s plus three worker starts; the `--list` lines in the log give the case counts.
set -uo pipefail
OUT=${OUT:-/tmp/gac-out}
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu-tp-run.log") 2>&1
tar xJf .devnode/node.tar.xz -C /usr/local/bin 2>/dev/null || true
node --version
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
FIX=${GAC_FIXTURE_DIR:-/tmp/gac-fixtures}/pruned-mlp-11472
GPUS=${GAC_GPUS:-0}
status=0
node bench/tp-fixture.mjs "$FIX" 11472 || exit 1
for tp in ${GAC_TP:-1 4 8}; do
  name="pruned-mlp-11472-tp$tp"
  echo "== TP $tp: scan (one GPU's calls)"
  node bin/gac.js scan "$FIX" --runtime vllm --gpu h200 --tp "$tp" | sed -n '1,12p'
  node bin/gac.js bench model --checkpoint "$FIX" --runtime vllm --tp "$tp" --name "$name" --strategies MINIMAL,OPTIMAL --list | grep -v '^model/'
  echo "== TP $tp: measure"
  node bin/gac.js bench model --checkpoint "$FIX" --runtime vllm --tp "$tp" --name "$name" --strategies MINIMAL,OPTIMAL --gpus "$GPUS" --out "$OUT/results/$STAMP-model-$name" || status=1
done
# The device returns at most 8 files: ship the result folders as one archive (report rendered locally).
tar czf "$OUT/tp-results.tar.gz" -C "$OUT" results && rm -rf "$OUT/results"
exit $status
