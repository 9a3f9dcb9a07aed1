import json, sys
for line in open(sys.argv[1]):
    m = json.loads(line)
    t = m.get("type")
    if t == "result" and m["op"] == "e2e":
        e = m["e2e"]
        pts = " ".join(f"{p['phase'][0]}{p['batch']}x{p.get('seq', p.get('context'))}={p['stats']['median_ms']:.3f}" for p in e["points"])
        sk = "; ".join(f"{s['phase']} {s['reason'][:80]}" for s in e["skipped"])
        print(f"OK {m['id']}: {pts} load {e['load_s']}s bw {e['copy_bandwidth_gbps']} {('SKIP ' + sk) if sk else ''} k={e['kernels'].get('decode_attention', [])[:2]}")
    elif t == "result":
        r = m["e2e_logits"]
        s = {k: {e: f"{v['max_abs_diff']:.2e}/{v['rel_to_max']:.1e}/{v['argmax_agree']:.3f}" for e, v in r[k].items()} for k in ("repair_fp32", "repair_serving", "noise_floor")}
        print(f"OK {m['id']}: {s} engines {(r.get('engines_fp32') or {}).get('max_abs_diff')} unsupported {r['unsupported']}")
        for kind, paths in (r.get("decode_paths") or {}).items():
            print(f"   decode paths {kind}: " + ", ".join(f"{k} {v['rel_to_max']:.1e}/{v['argmax_agree']:.3f}" for k, v in paths.items()))
    elif t == "error":
        print(f"ERR {m.get('id')}: {m['error']['type']}: {m['error']['message'][:300]}")
