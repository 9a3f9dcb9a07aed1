"""Compact digest of worker output files (one line per message), for the GPU smoke run."""
import json
import sys

for path in sys.argv[1:]:
    print(f"== {path}")
    for line in open(path):
        m = json.loads(line)
        t = m["type"]
        if t == "capability":
            print(json.dumps(m)[:1500])
        elif t == "result":
            s = m["stats"]
            print(f"{m['id']:<22} {s['median_ms']:.4f} ms p10 {s['p10_ms']:.4f} p90 {s['p90_ms']:.4f} n={s['n']} "
                  f"rel_ci={s['rel_ci']} stop={m['stop_reason']} drop={m['dropped_throttled']} "
                  f"clk={m['sm_clock_mhz']['median']}/{m['sm_clock_mhz']['max_clock']} sets={m['method']['input_sets']} "
                  f"warm={m['method']['warmup_count']} blk={m['method']['launch_block_us']:.0f}us wall={m['wall_s']}")
            if m.get("extra"):
                print("   extra", json.dumps(m["extra"]))
            if m.get("kernels"):
                print("   kernels", [k[:90] for k in m["kernels"]])
            if m.get("warnings"):
                print("   warnings", m["warnings"][:3])
        elif t == "error":
            print(f"{str(m['id']):<22} ERROR {json.dumps(m['error'])[:600]}")
        elif t == "heartbeat":
            pass
        else:
            print(json.dumps(m))
    print("heartbeats:", sum(1 for line in open(path) if '"heartbeat"' in line))
