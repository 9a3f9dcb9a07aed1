#!/usr/bin/env bash
# GPU smoke run (device machine): worker over the smoke jobs, a cancel, then the do_bench check.
# Writes everything under ${OUT:-/tmp/gac_smoke}; prints a compact digest at the end.
set -u
OUT=${OUT:-/tmp/gac_smoke}; mkdir -p "$OUT"
export PYTHONPATH=python
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv > "$OUT/nvidia-smi.csv" 2>&1
time python3 -u -m gac_worker < python/tests/gpu_smoke_jobs.jsonl > "$OUT/smoke.jsonl" 2> "$OUT/smoke.stderr"; echo "worker rc=$?"
# cancel: a long job (caps raised) cancelled 1.5 s in
( echo '{"type":"job","id":"long","op":"gemm","params":{"m":4096,"n":4096,"k":107,"dtype":"fp16"},"method":{"max_wall_s":60,"target_rel_ci":0,"max_samples":100000,"min_gpu_time_s":60}}'; sleep 8; echo '{"type":"cancel","id":"long"}'; sleep 2; echo '{"type":"shutdown"}' ) \
  | python3 -u -m gac_worker > "$OUT/cancel.jsonl" 2> "$OUT/cancel.stderr"; echo "cancel rc=$?"
python3 -m gac_worker.check_do_bench --out "$OUT/check_do_bench.json" 2> "$OUT/check.stderr"; echo "check rc=$?"
python3 python/tests/gpu_digest.py "$OUT/smoke.jsonl" "$OUT/cancel.jsonl"
tail -n 5 "$OUT/smoke.stderr" "$OUT/check.stderr"
