"""Entry: `PYTHONPATH=python python3 -u -m gac_worker [--device N]`. The only place that touches
argv, the real stdout and the exit code. Stray prints (from torch or anything else) are sent to
stderr so stdout carries protocol lines only."""
from __future__ import annotations

import argparse
import sys

from .capability import probe
from .session import Output, Session


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="gac_worker", description="gac GPU worker (JSON lines on stdio)")
    parser.add_argument("--device", type=int, default=0, help="CUDA device index (default 0)")
    args = parser.parse_args(argv)
    out = Output(sys.stdout)
    sys.stdout = sys.stderr
    capability, torch = probe(args.device)
    out.emit(capability)
    if not capability.get("ok"):
        return 0
    Session(out, torch, args.device, capability).run(sys.stdin)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
