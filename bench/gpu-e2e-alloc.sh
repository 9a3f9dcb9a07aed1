#!/usr/bin/env bash
# Is the progressive host slowdown of transformers' decode at head_dim 106 the CUDA caching
# allocator? The head_dim-106 model's first two transformers jobs of the committed sweep
# (sdpa/dynamic, then sdpa-nocudnn/dynamic with 30 decode steps; tmp/jobs-alloc.jsonl), run twice in
# fresh worker processes: PyTorch's default allocator, then PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True.
# Run on the GPU machine from the repository root:   bash bench/gpu-e2e-alloc.sh
# Writes under $OUT: alloc-default.jsonl, alloc-expandable.jsonl, run.log.
set -u
source "$(dirname "$0")/gpu-run-log.sh"
timeout 200 python3 -u -m gac_worker < tmp/jobs-alloc.jsonl > "$OUT/alloc-default.jsonl" 2> /tmp/alloc-default.err
echo "default exit $?"
PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True timeout 200 python3 -u -m gac_worker < tmp/jobs-alloc.jsonl > "$OUT/alloc-expandable.jsonl" 2> /tmp/alloc-expandable.err
echo "expandable exit $?"
for f in default expandable; do
  python3 - "$OUT/alloc-$f.jsonl" "$f" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    m = json.loads(line)
    if m.get("type") == "result" and m.get("op") == "e2e":
        for p in m["e2e"]["points"]:
            if p["phase"] == "decode":
                print(sys.argv[2], m["id"][4:], "B", p["batch"], [round(x, 1) for x in p["samples_ms"]])
    elif m.get("type") == "error":
        print(sys.argv[2], "ERR", m.get("id"), m["error"]["message"][:200])
PY
done
date -u +%Y-%m-%dT%H:%M:%SZ
