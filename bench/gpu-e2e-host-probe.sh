#!/usr/bin/env bash
# Where does a host-bound transformers decode step's time go, process by process? bench/e2e_host_probe.py
# on the dense Llama-3-8B parent and its direct-SVD head_dim-106 model (transformers sdpa-nocudnn/dynamic decode),
# and in the gac engine (eager-nocudnn decode; gac/eager prefill B1 s2048 with the SM clock sampled in the region)
# on the dense parent, PaLU MINIMAL, SVD-LLM and FLAP OPTIMAL, each in GAC_PROBE_REPEATS fresh processes (default 3), job lines from the committed sweep.
# Run on the GPU machine from the repository root:   bash bench/gpu-e2e-host-probe.sh
# Writes under $OUT: probe.jsonl (one line per process), run.log.
set -u
source "$(dirname "$0")/gpu-run-log.sh"
gunzip -c results/20261202T055814Z-e2e/jobs-e2e.jsonl.gz > /tmp/jobs-probe.jsonl
nproc; cat /proc/loadavg
timeout 570 python3 -u bench/e2e_host_probe.py /tmp/jobs-probe.jsonl ${GAC_PROBE_LABELS:-llama3-8b-dense llama3-8b-direct-svd \
  gac:llama3-8b-dense gac:llama3-8b-palu/MINIMAL gac:llama2-7b-svdllm gac:llama2-7b-flap/OPTIMAL} \
  --repeats "${GAC_PROBE_REPEATS:-3}" > "$OUT/probe.jsonl"
echo "probe exit $?"
python3 - "$OUT/probe.jsonl" <<'PY'
import json, statistics as st, sys
for line in open(sys.argv[1]):
    m = json.loads(line)
    if "error" in m:
        print(m["label"], m["repeat"], "ERROR", m["error"][-400:]); continue
    d, c = m["default_filters"], m["catch_always"]
    print(f'{m["engine"][:5]} {m["label"]:28s} r{m["repeat"]} cpu {m.get("cpu_at_start")}->{m.get("cpu_at_end")} '
          f'step {st.median(d["step_ms"]):.1f} ms (enqueue {st.median(d["enqueue_ms"]):.1f}) | caught-always {st.median(c["step_ms"]):.1f} ms, '
          f'{c["warnings"]} warnings | probe {m["probe_us_before"]}/{m["probe_us_after"]} us | wall {m["wall_s"]} s')
    for k in c["warning_kinds"]:
        print("    warning:", k)
    for ln in m["profile_top"][-4:]:
        print("    ", ln[:150])
    for r in m.get("prefill_clock", []):
        print("    prefill", r)
PY
date -u +%Y-%m-%dT%H:%M:%SZ
