#!/usr/bin/env bash
# The committed end-to-end sweep, run on the GPU machine from the repository root with the job
# lines built beforehand by bench/e2e-jobs.ts (carried as tmp/jobs-e2e.jsonl; no Node needed):
#   bash bench/gpu-e2e-worker.sh
# First a 6-job check on tiny fixtures (tmp/jobs-check.jsonl: both engines, the per-model child
# processes, one logits check); if no job of it succeeds the sweep runs in-process
# (GAC_E2E_CHILD=1) and says so. Then the bundled model's training sweep (python/train/sweep.sh),
# then the e2e sweep under a time limit (the job order puts the most telling models first).
# Writes under $OUT: run.log, e2e/worker-results.jsonl, e2e/worker-stderr.log, train/...
set -u
source "$(dirname "$0")/gpu-run-log.sh"
mkdir -p "$OUT/e2e" "$OUT/train"
echo "== check (tiny fixtures)"
python3 -u -m gac_worker < tmp/jobs-check.jsonl > /tmp/check.jsonl 2> /tmp/check.err
python3 bench/e2e-summarize.py /tmp/check.jsonl | cut -c1-300
if [ "$(grep -c '"op":"e2e","e2e"' /tmp/check.jsonl)" -lt 1 ]; then
  echo "!! no e2e job of the check succeeded through child processes: running the sweep in-process"; tail -20 /tmp/check.err
  export GAC_E2E_CHILD=1
fi
echo "== training sweep"
bash python/train/sweep.sh /tmp/train "${GAC_TRAIN_S:-80}"
keep=$(cat /tmp/train/KEEP)
cp /tmp/train/$keep/config.json /tmp/train/$keep/model.safetensors /tmp/train/$keep/train-log.txt /tmp/train/$keep/train-summary.json "$OUT/train/"
tar czf "$OUT/train/logs.tar.gz" -C /tmp/train $(cd /tmp/train && ls *.log */train-log.txt)
echo "== e2e sweep ($(wc -l < tmp/jobs-e2e.jsonl) jobs)"
timeout "${GAC_E2E_S:-420}" python3 -u -m gac_worker < tmp/jobs-e2e.jsonl > "$OUT/e2e/worker-results.jsonl" 2> "$OUT/e2e/worker-stderr.log"
echo "worker exit $?"
python3 bench/e2e-summarize.py "$OUT/e2e/worker-results.jsonl" | cut -c1-220
date -u +%Y-%m-%dT%H:%M:%SZ
