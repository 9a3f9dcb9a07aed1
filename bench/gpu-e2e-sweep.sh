#!/usr/bin/env bash
# The end-to-end sweep in parts that each fit one device call (10 minutes), run on the GPU machine
# from the repository root with the job lines built beforehand by bench/e2e-jobs.ts (carried as
# tmp/jobs-e2e.jsonl, or gzipped as tmp/jobs-e2e.jsonl.gz; no Node needed there):
#   bash bench/gpu-e2e-sweep.sh                 first part: the jobs in order, until GAC_E2E_S
#   GAC_E2E_PREV=tmp/prev bash bench/gpu-e2e-sweep.sh
#                                               a later part: only the jobs no worker-results*.jsonl
#                                               under GAC_E2E_PREV has a result for (errors run again)
# Writes under $OUT: run.log, worker-results.jsonl, worker-stderr.log.
set -u
source "$(dirname "$0")/gpu-run-log.sh"
jobs=/tmp/jobs-todo.jsonl
python3 - "$jobs" "${GAC_E2E_PREV:-}" <<'EOF'
import glob, gzip, json, os, sys
out, prev = sys.argv[1], sys.argv[2]
done = set()
if prev:
    for f in glob.glob(os.path.join(prev, "worker-results*.jsonl")):
        for line in open(f):
            try:
                m = json.loads(line)
            except ValueError:
                continue
            if m.get("type") == "result" and m.get("id"):
                done.add(m["id"])
src = "tmp/jobs-e2e.jsonl.gz" if os.path.exists("tmp/jobs-e2e.jsonl.gz") else "tmp/jobs-e2e.jsonl"
with (gzip.open(src, "rt") if src.endswith(".gz") else open(src)) as f:
    todo = [l for l in f if json.loads(l)["id"] not in done]
open(out, "w").writelines(todo)
print(f"{len(todo)} jobs to run ({len(done)} have results before)")
EOF
echo "== e2e sweep"
timeout "${GAC_E2E_S:-540}" python3 -u -m gac_worker < "$jobs" > "$OUT/worker-results.jsonl" 2> "$OUT/worker-stderr.log"
echo "worker exit $?"
python3 bench/e2e-summarize.py "$OUT/worker-results.jsonl" | cut -c1-260
date -u +%Y-%m-%dT%H:%M:%SZ
