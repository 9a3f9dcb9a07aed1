"""GPU check: our method vs triton.testing.do_bench on the same calls.

    PYTHONPATH=python python3 -m gac_worker.check_do_bench [--out check.json] [--device N]

Cases: SDPA B=4 S=2048 H=32 fp16 at head_dim 107 and 112 (AUTO backend), GEMM 4096x4096xK at
K=107 and 112 (fp16). Ours runs twice (the spread between our two runs is the noise floor);
do_bench(fn, warmup=25, rep=100, return_mode="median") flushes its own 256 MiB cache buffer but
neither rotates inputs nor hides launch latency. Prints a table; writes JSON to --out."""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace

from .method import MethodConfig, measure
from .protocol import dumps, validate_params
from .stats import finite_or_none

CASES = [
    ("sdpa D=107", "sdpa", {"batch": 4, "heads": 32, "q_len": 2048, "head_dim": 107, "dtype": "fp16"}),
    ("sdpa D=112", "sdpa", {"batch": 4, "heads": 32, "q_len": 2048, "head_dim": 112, "dtype": "fp16"}),
    ("gemm K=107", "gemm", {"m": 4096, "n": 4096, "k": 107, "dtype": "fp16"}),
    ("gemm K=112", "gemm", {"m": 4096, "n": 4096, "k": 112, "dtype": "fp16"}),
]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="gac_worker.check_do_bench")
    parser.add_argument("--out", help="write the rows as JSON here")
    parser.add_argument("--device", type=int, default=0)
    args = parser.parse_args(argv)

    import torch
    import triton.testing

    from . import ops

    torch.cuda.set_device(args.device)
    config = MethodConfig()
    rows = []
    for label, op, raw in CASES:
        case = ops.build(op, validate_params(op, raw), f"cuda:{args.device}")
        with case.context():
            ours = [measure(case.fn, case.make_inputs, method=config, device=args.device) for _ in range(2)]
            # Same method without the spin kernel: do_bench has none, so this isolates that choice.
            unblocked = measure(case.fn, case.make_inputs, method=replace(config, block_launch=False), device=args.device)
            inputs = case.make_inputs(0)
            theirs = triton.testing.do_bench(lambda: case.fn(*inputs), warmup=25, rep=100, return_mode="median")
        a, b = (m.summary.median for m in ours)
        rows.append({
            "case": label, "op": op, "params": raw,
            "ours_ms": a, "ours_repeat_ms": b, "ours_n": ours[0].summary.n,
            "ours_rel_ci": finite_or_none(ours[0].summary.rel_ci), "ours_stop": ours[0].stop_reason,
            "ours_dropped_throttled": ours[0].dropped_throttled, "ours_input_sets": ours[0].input_sets,
            "ours_clock_mhz": [m.to_json()["sm_clock_mhz"]["median"] for m in ours],
            "ours_unblocked_ms": unblocked.summary.median,
            "do_bench_ms": theirs,
            "ours_vs_do_bench": a / theirs - 1,
            "ours_repeat_spread": abs(a - b) / a,
        })
    print(f"{'case':<12} {'ours ms':>9} {'again ms':>9} {'noblock':>9} {'do_bench':>9} {'ours/db-1':>9} {'repeat':>7} {'n':>5} {'rel_ci':>7} clocks")
    for r in rows:
        print(f"{r['case']:<12} {r['ours_ms']:9.4f} {r['ours_repeat_ms']:9.4f} {r['ours_unblocked_ms']:9.4f} {r['do_bench_ms']:9.4f} "
              f"{r['ours_vs_do_bench']:+9.2%} {r['ours_repeat_spread']:7.2%} {r['ours_n']:5d} {(r['ours_rel_ci'] if r['ours_rel_ci'] is not None else float('nan')):7.2%} {r['ours_clock_mhz']}")
    if args.out:
        with open(args.out, "w") as f:
            f.write(dumps({"device": torch.cuda.get_device_name(args.device), "torch": torch.__version__,
                           "rows": rows}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
