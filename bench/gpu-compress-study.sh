#!/usr/bin/env bash
# The compression study's real-size speed runs (docs/compress-study.md) on the GPU machine: the
# worker times every variant's job line (built on the CPU by bench/compress-study-real.sh, carried
# as tmp/jobs-compress.jsonl; no Node needed) with random weights, gac's engine (and stock
# transformers for svd-heads), prefill 1x2048 and decode 1x4096.
#   bash bench/gpu-compress-study.sh          (repository root; carry tmp/)
# Writes under $OUT: compress-e2e.jsonl (the worker's lines), compress-e2e.err, run.log.
# GPU time: 40 jobs of a 7-8B model each; the committed run (results/20261202T034101Z-compress-study-gpu,
# 46 jobs before the planner stopped planning transformers for FLAP's stale config) took 8 min.
# GAC_E2E_S (default 540) stops it, and budget 0.8's jobs come first.
set -u
source "$(dirname "$0")/gpu-run-log.sh"
echo "== compress study ($(wc -l < tmp/jobs-compress.jsonl) jobs)"
timeout "${GAC_E2E_S:-540}" python3 -u -m gac_worker < tmp/jobs-compress.jsonl > "$OUT/compress-e2e.jsonl" 2> "$OUT/compress-e2e.err"
echo "worker exit $?"
python3 bench/e2e-summarize.py "$OUT/compress-e2e.jsonl" | cut -c1-220
date -u +%Y-%m-%dT%H:%M:%SZ
