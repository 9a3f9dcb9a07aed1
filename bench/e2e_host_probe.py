"""Why does a host-bound transformers decode step take 25 ms in one process and 50 ms in another?
(results/20261202T063111Z-e2e-host-repeat). One fresh process per (model, repeat); in each, the
model's transformers sdpa-nocudnn/dynamic decode at batch 1, context 4096 (host-bound: ~1400 small
kernels per step), measured four ways in one process:
  - steps timed as the e2e worker times them (CUDA events, synchronised every step), with Python's
    warnings left to their default filters, then inside catch_warnings(record=True) + "always" as the
    worker's child process runs every job (are warnings raised per step, and what do they cost?);
  - the host's enqueue time per step (perf_counter before the synchronisation);
  - a launch probe: 4000 tiny in-place adds enqueued, host microseconds per launch;
  - cProfile over 3 steps: the top host functions by own time.
Plus where the process runs (CPU affinity, current CPU, load average).

Usage (GPU machine, repository root, PYTHONPATH=python):
  python3 bench/e2e_host_probe.py JOBS.jsonl LABEL [LABEL ...] --repeats 3 > probe.jsonl
where JOBS.jsonl holds e2e job lines (results/*/jobs-e2e.jsonl.gz, gunzipped) naming the labels;
the job `e2e/<label>/transformers/sdpa-nocudnn/dynamic` of each label is used for its model.
Each (label, repeat) runs in a fresh child (this script with --child); one JSON line each."""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import time
import warnings


def child(job_line: str, steps: int) -> dict:
    import torch

    from gac_worker.e2e import hf_engine
    from gac_worker.e2e.params import validate_e2e
    from gac_worker.e2e.timing import timed
    from gac_worker.e2e.weights import TORCH_DTYPES, model_weights

    j = json.loads(job_line)
    p = validate_e2e(j["op"], j["params"])
    device = "cuda:0"
    dtype = TORCH_DTYPES[p["dtype"]]
    torch.backends.cuda.matmul.allow_tf32 = False
    tensors = model_weights(p["model"], p["seed"], dtype, device)
    if p["engine"] == "transformers":
        hf = hf_engine.build(p["model"], tensors, "sdpa-nocudnn", dtype, device)
        del tensors
        runner = hf_engine.HfRunner(hf, "dynamic")
        start = lambda gen, max_len: runner.start_decode_random(1, 4096, max_len, gen)  # noqa: E731
        step = runner.step
    else:
        from gac_worker.e2e.gac_model import GacModel
        from gac_worker.e2e.run import _gac_engine

        model = p["model"]
        gm = GacModel(model["spec"], tensors, hf_config=model["hf_config"], attention_scale=model["attention_scale"], device=device)
        eng = _gac_engine(gm, "eager-nocudnn")
        start = lambda gen, max_len: eng.start_decode(1, 4096, max_len, gen)  # noqa: E731
        step = eng.step
    gen = torch.Generator(device=device)
    gen.manual_seed(p["seed"] + 1)
    out: dict = {"label": p["model"]["label"], "engine": p["engine"], "pid": os.getpid()}
    try:
        out["affinity"] = sorted(os.sched_getaffinity(0))
        with open("/proc/self/stat") as f:
            out["cpu_at_start"] = int(f.read().rsplit(")", 1)[1].split()[37])
        with open("/proc/loadavg") as f:
            out["loadavg"] = f.read().split()[:3]
    except OSError:
        pass
    out["torch_threads"] = torch.get_num_threads()

    def launch_probe() -> float:
        x = torch.zeros(1, device=device)
        for _ in range(200):
            x.add_(1)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(4000):
            x.add_(1)
        us = (time.perf_counter() - t0) / 4000 * 1e6
        torch.cuda.synchronize()
        return round(us, 3)

    with hf_engine.sdpa_config("sdpa-nocudnn"):
        state, tok = start(gen, 4096 + 4 * steps + 16)
        for _ in range(3):
            tok = step(state, tok)
        torch.cuda.synchronize()
        out["probe_us_before"] = launch_probe()

        def run_steps(n: int) -> tuple[list[float], list[float]]:
            nonlocal tok
            gpu, host = [], []
            for _ in range(n):
                holder: dict = {}

                def one() -> None:
                    t0 = time.perf_counter()
                    holder["tok"] = step(state, tok)
                    holder["host_ms"] = (time.perf_counter() - t0) * 1e3

                gpu.append(round(timed(one), 3))
                host.append(round(holder["host_ms"], 3))
                tok = holder["tok"]
            return gpu, host

        out["default_filters"] = dict(zip(("step_ms", "enqueue_ms"), run_steps(steps)))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out["catch_always"] = dict(zip(("step_ms", "enqueue_ms"), run_steps(steps)))
        out["catch_always"]["warnings"] = len(caught)
        out["catch_always"]["warning_kinds"] = sorted({f"{w.category.__name__}: {str(w.message)[:160]}" for w in caught})[:5]
        out["probe_us_after"] = launch_probe()
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(3):
            tok = step(state, tok)
        torch.cuda.synchronize()
        prof.disable()
        s = io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats("tottime").print_stats(14)
        out["profile_top"] = [ln.strip() for ln in s.getvalue().splitlines() if ln.strip()][-16:]
    if p["engine"] == "gac":
        out["prefill_clock"] = prefill_clock_probe(gm, gen, p["model"]["spec"]["vocabSize"], device)
    try:
        with open("/proc/self/stat") as f:
            out["cpu_at_end"] = int(f.read().rsplit(")", 1)[1].split()[37])
    except OSError:
        pass
    return out


def prefill_clock_probe(gm, gen, vocab: int, device: str) -> list[dict]:
    """gac eager prefill at batch 1, 2048 tokens, 6 times back to back: the SM clock read before
    each region (as the e2e worker reads it) and sampled every ~1 ms during it by a thread."""
    import threading

    import torch

    from gac_worker.e2e.timing import clock, timed

    clk = clock(0)
    rows = []
    for _ in range(6):
        ids = torch.randint(0, vocab, (1, 2048), generator=gen, device=device)
        torch.cuda.synchronize()
        before = clk.read()
        seen: list[float] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                c = clk.read()
                if c is not None:
                    seen.append(c)
                time.sleep(0.001)

        t = threading.Thread(target=sample)
        t.start()
        ms = timed(lambda: gm.prefill(ids))
        stop.set()
        t.join()
        rows.append({"ms": round(ms, 3), "clock_before": before, "clock_during_mean": round(sum(seen) / len(seen), 1) if seen else None,
                     "clock_during_min": min(seen) if seen else None, "samples": len(seen)})
    return rows


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("jobs")
    ap.add_argument("labels", nargs="*")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--child", action="store_true")
    a = ap.parse_args()
    if a.child:
        line = sys.stdin.readline()
        sys.stdout.write(json.dumps(child(line, a.steps)) + "\n")
        return 0
    lines = {}
    with open(a.jobs) as f:
        for line in f:
            j = json.loads(line)
            lines[j["id"]] = line
    for r in range(a.repeats):
        for label in a.labels:
            line = lines.get(f"e2e/{label}/transformers/sdpa-nocudnn/dynamic") if not label.startswith("gac:") else None
            if label.startswith("gac:"):
                label = label[4:]
                line = lines[f"e2e/{label}/gac/eager-nocudnn/static"]
            t0 = time.time()
            res = subprocess.run([sys.executable, __file__, a.jobs, "--child", "--steps", str(a.steps)], input=line,
                                 capture_output=True, text=True, timeout=240)
            if res.returncode != 0:
                print(json.dumps({"label": label, "repeat": r, "error": res.stderr[-2000:]}), flush=True)
                continue
            row = json.loads(res.stdout.strip().splitlines()[-1])
            row["repeat"] = r
            row["wall_s"] = round(time.time() - t0, 1)
            print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
