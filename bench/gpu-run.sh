#!/usr/bin/env bash
# The GPU run whose outputs are committed under results/ and profiles/: every suite in one
# `gac bench` call, interrupted once and resumed (to show resumption on the real GPU), then the
# method-vs-do_bench check. Run on the device machine from the repository root with `dist` and
# `.devnode` carried:  bash bench/gpu-run.sh
# Writes under $OUT: results/<run-id>/{run.json,results-gpu*.jsonl}, do_bench.json, gpu-run.log.
set -uo pipefail
OUT=${OUT:-/tmp/gac-out}
tar xJf .devnode/node.tar.xz -C /usr/local/bin 2>/dev/null || true
node --version
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv
RUN="$OUT/results/$(date -u +%Y%m%dT%H%M%SZ)-${GAC_SUITES:-all}"
GPUS=${GAC_GPUS:-0}
echo "== interrupted run (SIGINT after ${GAC_INTERRUPT_S:-45}s)"
timeout -s INT "${GAC_INTERRUPT_S:-45}" node bin/gac.js bench ${GAC_SUITES:-all} --gpus "$GPUS" --out "$RUN"
echo "exit $?; lines so far: $(cat "$RUN"/results*.jsonl | wc -l)"
echo "== resumed run"
node bin/gac.js bench ${GAC_SUITES:-all} --gpus "$GPUS" --out "$RUN"
echo "exit $?; lines now: $(cat "$RUN"/results*.jsonl | wc -l)"
if [ "${GAC_DO_BENCH:-1}" = 1 ]; then
  echo "== method vs triton.testing.do_bench"
  PYTHONPATH=python python3 -u -m gac_worker.check_do_bench --out "$OUT/do_bench.json"
fi
