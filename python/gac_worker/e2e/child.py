"""A worker's child process for one model's e2e jobs (run.ChildPool): job lines
{"params": ..., "device": N} on stdin, one JSON line per job on stdout ({"e2e": ...} or
{"error": ...}). A fresh process per model keeps cuDNN's plan cache, the allocator and settings
that PyTorch reads once per process (TORCH_CUDNN_SDPA_AVOID_RECOMPILE) from leaking between
models."""
from __future__ import annotations

import gc
import json
import sys
import warnings


def main() -> int:
    real_stdout = sys.stdout
    sys.stdout = sys.stderr  # stray prints from libraries never reach the result lines
    from ..protocol import JobError, dumps
    from ..session import classify
    from .run import run_here
    import torch

    for line in sys.stdin:
        if not line.strip():
            continue
        job = json.loads(line)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                out = {"e2e": run_here(job["params"], job["device"])}
            except JobError as e:
                out = {"error": e.to_json()}
            except Exception as e:  # noqa: BLE001 - typed like the worker's own errors
                out = {"error": classify(torch, e, caught).to_json()}
        gc.collect()
        real_stdout.write(dumps(out) + "\n")
        real_stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
