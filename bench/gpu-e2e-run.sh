#!/usr/bin/env bash
# Whole models end to end on the GPU (`gac bench e2e`, docs/e2e.md): header-only (sparse) real-size
# fixtures, timed unrepaired and repaired (MINIMAL, OPTIMAL) with random weights drawn on the GPU,
# in every engine configuration that can run each, plus the original-vs-repaired logits check.
# Run on the device machine from the repository root with `dist` (npm run build), `node_modules`
# and `.devnode` carried, as bench/gpu-model-run.sh:   bash bench/gpu-e2e-run.sh
#
# The device allows 10 minutes per command: the run stops itself after E2E_TIMEOUT_S (default 540 s)
# and ships what it has; running the same command again on the same (warm) machine resumes it
# (results live in $E2E_DIR, not $OUT, and a rerun measures only what is missing).
#
# Writes under $OUT: e2e-results.tar.gz (results/<E2E_RUN>/{run.json,results-gpu*.jsonl,e2e-models.json})
# and gpu-e2e-run.log (with the --list plan: models, refusals, jobs and the GPU-time estimate).
#
# Knobs (environment):
#   E2E_MODELS    checkpoints as kind@size (default below)       E2E_PARENTS  dense parents as kind@size
#   E2E_PREFILL   prefill points, BxS list (default 1x2048,4x2048) E2E_DECODE  decode points, BxC (1x4096,32x4096)
#   E2E_GRID      preset the lists replace (default default)      E2E_CONFIGS  configurations or globs (default below)
#   E2E_STRATEGIES (none,MINIMAL,OPTIMAL)   E2E_SCALE (fold)   E2E_RUN (run directory name)   GAC_GPUS (0)
set -uo pipefail
OUT=${OUT:-/tmp/gac-out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/gpu-e2e-run.log") 2>&1
tar xJf .devnode/node.tar.xz -C /usr/local/bin 2>/dev/null || true
node --version
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu,power.draw,memory.used --format=csv
python3 -c 'import torch, transformers; print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version(), "transformers", transformers.__version__)' || true

E2E_DIR=${E2E_DIR:-/tmp/gac-e2e}
FIX="$E2E_DIR/fixtures"
RUN_NAME=${E2E_RUN:-$(date -u +%Y%m%d)-e2e-h200}
RUN="$E2E_DIR/results/$RUN_NAME"
MODELS=${E2E_MODELS:-llama-direct-svd@llama3-8b llama-pruned-mlp@llama3-8b pruned-flap@llama2-7b palu@llama3-8b asvd@llama2-7b svdllm@llama2-7b}
PARENTS=${E2E_PARENTS:-llama-aligned@llama3-8b llama-aligned@llama2-7b}
# Dense models run in 5 transformers configurations + 2 gac ones, the others in the 2 gac ones:
# ~80 jobs of ~6-10 s each on an H200 (model build + 4 grid points). Widen with E2E_CONFIGS='*'.
CONFIGS=${E2E_CONFIGS:-transformers/sdpa/dynamic,transformers/sdpa-nocudnn/dynamic,transformers/sdpa-avoid-recompile/dynamic,transformers/sdpa/static,transformers/eager/dynamic,gac/*}
GRID_ARGS=(--grid "${E2E_GRID:-default}" --prefill "${E2E_PREFILL:-1x2048,4x2048}" --decode "${E2E_DECODE:-1x4096,32x4096}")

args=()
for spec in $PARENTS; do
  kind=${spec%@*}; size=${spec#*@}; dir="$FIX/$kind-$size"
  [ -f "$dir/config.json" ] || node bin/gac.js fixtures "$kind" --size "$size" --sparse --out "$dir" --force || exit 1
  args+=(--parent "$dir")
done
for spec in $MODELS; do
  kind=${spec%@*}; size=${spec#*@}; dir="$FIX/$kind-$size"
  [ -f "$dir/config.json" ] || node bin/gac.js fixtures "$kind" --size "$size" --sparse --out "$dir" --force || exit 1
  args+=(--checkpoint "$dir")
done
args+=(--strategies "${E2E_STRATEGIES:-none,MINIMAL,OPTIMAL}" --scale "${E2E_SCALE:-fold}" --configs "$CONFIGS" "${GRID_ARGS[@]}")

echo "== plan"
node bin/gac.js bench e2e "${args[@]}" --list | grep -v '^e2e'
echo "== measure into $RUN (stops after ${E2E_TIMEOUT_S:-540} s; rerun to resume)"
timeout -s INT "${E2E_TIMEOUT_S:-540}" node bin/gac.js bench e2e "${args[@]}" --gpus "${GAC_GPUS:-0}" --out "$RUN" > "$OUT/e2e-tables.md"
status=$?
echo "exit $status; rows so far: $(cat "$RUN"/results*.jsonl 2>/dev/null | wc -l)"
# The device returns at most 8 files: the run directory as one archive (tables and report rendered locally).
tar czf "$OUT/e2e-results.tar.gz" -C "$E2E_DIR" "results/$RUN_NAME"
exit $status
