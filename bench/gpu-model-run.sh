#!/usr/bin/env bash
# Measured repair speedups of real-size models: for each fixture kind (default llama-direct-svd and
# palu), a header-only Llama-3-8B-scale checkpoint (sparse: ~16 GB of holes, no tensor data read),
# then `gac bench model` on its kernel calls, unrepaired and after every strategy, then one report.
# Run on the device machine from the repository root with `dist` (npm run build) and `.devnode`
# carried:  bash bench/gpu-model-run.sh
# Writes under $OUT: results/<stamp>-model-<kind>-llama3-8b/{run.json,results-gpu*.jsonl,scan-*.json},
# report/, gpu-model-run.log. GPU time: ~7 s (direct-SVD, 14 cases) + ~81 s (PaLU, 162 cases) +
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
for kind in ${GAC_MODELS:-llama-direct-svd palu}; do
  name="$kind-llama3-8b"
  echo "== $name: sparse header-only fixture"
  if node bin/gac.js fixtures --help | grep -q -- --sparse; then
    node bin/gac.js fixtures "$kind" --size llama3-8b --sparse --out "$FIX/$name" --force || { status=1; continue; }
  else
    # The library call behind the CLI flags, for a dist built before `gac fixtures --size` existed.
    node -e 'import("./dist/fixtures/index.js").then((m) => m.generateFixture(process.argv[1], process.argv[2], { scale: "llama3-8b", sparse: true, force: true })).then((i) => console.log("wrote", i.dir))' "$kind" "$FIX/$name" || { status=1; continue; }
  fi
  node bin/gac.js bench model --checkpoint "$FIX/$name" --strategies "$STRATEGIES" --list | grep -v '^model/'
  echo "== $name: measure"
  node bin/gac.js bench model --checkpoint "$FIX/$name" --strategies "$STRATEGIES" --gpus "$GPUS" --out "$OUT/results/$STAMP-model-$name" || status=1
done
echo "== report"
node bin/gac.js report "$OUT/results" --out "$OUT/report" || status=1
exit $status
