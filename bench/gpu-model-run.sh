#!/usr/bin/env bash
# Measured repair speedups of real-size models: for each fixture kind (default llama-direct-svd and
# palu), a header-only Llama-3-8B-scale checkpoint (sparse: ~16 GB of holes, no tensor data read),
# then `gac bench model` on its kernel calls, unrepaired and after every strategy, then one report.
# Run on the device machine from the repository root with `dist` (npm run build) and `.devnode`
# carried:  bash bench/gpu-model-run.sh
# Writes under $OUT: model-results.tar.gz (results/<stamp>-model-<kind>-<size>/{run.json,
# results-gpu*.jsonl,scan-*.json}) and gpu-model-run.log. GPU time: ~7 s (direct-SVD, 14 cases) + ~81 s (PaLU, 162 cases) +
# worker starts; `--list` lines in the log give the case counts.
set -uo pipefail
OUT=${OUT:-/tmp/gac-out}
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu-model-run.log") 2>&1
tar xJf .devnode/node.tar.xz -C /usr/local/bin 2>/dev/null || true
node --version
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
FIX=${GAC_FIXTURE_DIR:-/tmp/gac-fixtures}
GPUS=${GAC_GPUS:-0}
STRATEGIES=${GAC_STRATEGIES:-all}
status=0
for model in ${GAC_MODELS:-llama-direct-svd@llama3-8b palu@llama3-8b svdllm@llama2-7b asvd@llama2-7b pruned-flap@llama2-7b}; do
  kind=${model%@*}; size=${model#*@}
  name="$kind-$size"
  echo "== $name: sparse header-only fixture"
  node bin/gac.js fixtures "$kind" --size "$size" --sparse --out "$FIX/$name" --force || { status=1; continue; }
  node bin/gac.js bench model --checkpoint "$FIX/$name" --strategies "$STRATEGIES" --list | grep -v '^model/'
  echo "== $name: measure"
  node bin/gac.js bench model --checkpoint "$FIX/$name" --strategies "$STRATEGIES" --gpus "$GPUS" --out "$OUT/results/$STAMP-model-$name" || status=1
done
# The device returns at most 8 files: ship the result folders as one archive (report rendered locally).
tar czf "$OUT/model-results.tar.gz" -C "$OUT" results && rm -rf "$OUT/results"
exit $status
