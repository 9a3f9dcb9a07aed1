"""Runs one e2e job in a fresh process (for settings PyTorch reads once per process, such as
TORCH_CUDNN_SDPA_AVOID_RECOMPILE). Job JSON on stdin; one JSON line on stdout."""
from __future__ import annotations

import json
import sys


def main() -> int:
    job = json.loads(sys.stdin.read())
    real_stdout = sys.stdout
    sys.stdout = sys.stderr  # stray prints from libraries never reach the result line
    from ..capability import probe
    from ..protocol import JobError, dumps
    from .run import run_e2e

    try:
        capability, _ = probe(job["device"])
        out = {"e2e": run_e2e(job["params"], job["device"], capability)}
    except JobError as e:
        out = {"error": e.to_json()}
    real_stdout.write(dumps(out) + "\n")
    real_stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
