"""Do a whole model's GEMMs, run back to back, take longer than the profile's isolated timings of the
same shapes? The prediction of a prefill sums per-call times measured one shape at a time by
gac_worker.method.measure (L2 flushed, a spin kernel before each sample: the GPU idles between
samples); a whole-model prefill keeps the GPU busy for tens of milliseconds.

The dense Llama-3-8B's prefill GEMMs at batch 1 x 2048 tokens (q, k, v, o, gate, up, down; BF16,
own weights per layer, 32 layers):
  isolated:  measure() of each of the 7 shapes, the sum x 32 (what the prediction adds up);
  sustained: the 224 GEMMs launched back to back, CUDA events around all of them, 8 repeats after
             2 warm-ups, the SM clock and power read by a thread every ~1 ms during them.
Prints both and their ratio; one JSON line on stdout.
--tokens 1 --graph: the decode step's GEMVs at batch 1 (M = 1), the 224 of them captured in one
CUDA graph and replayed (as the gac engine's graph decode runs them) against their isolated sum.

Usage (GPU machine, repository root): PYTHONPATH=python python3 bench/e2e_sustained_gemm.py [--tokens N] [--graph]"""
from __future__ import annotations

import argparse
import json
import sys
import threading
import time

import torch

from gac_worker.method import MethodConfig, measure

HIDDEN, KV, MLP, LAYERS = 4096, 1024, 14336, 32
SHAPES = {"q": (HIDDEN, HIDDEN), "k": (KV, HIDDEN), "v": (KV, HIDDEN), "o": (HIDDEN, HIDDEN),
          "gate": (MLP, HIDDEN), "up": (MLP, HIDDEN), "down": (HIDDEN, MLP)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=2048)
    ap.add_argument("--graph", action="store_true")
    a = ap.parse_args()
    TOKENS = a.tokens
    dev = "cuda:0"
    torch.backends.cuda.matmul.allow_tf32 = False
    g = torch.Generator(device=dev)
    g.manual_seed(0)
    x_h = torch.randn(TOKENS, HIDDEN, device=dev, dtype=torch.bfloat16, generator=g)
    x_m = torch.randn(TOKENS, MLP, device=dev, dtype=torch.bfloat16, generator=g)
    out: dict = {"gpu": torch.cuda.get_device_name(0), "tokens": TOKENS, "layers": LAYERS, "graph": a.graph}

    iso = {}
    for name, (n, k) in SHAPES.items():
        def make(i, n=n, k=k):
            gi = torch.Generator(device=dev)
            gi.manual_seed(100 + i)
            return (torch.randn(TOKENS, k, device=dev, dtype=torch.bfloat16, generator=gi),
                    torch.randn(n, k, device=dev, dtype=torch.bfloat16, generator=gi))
        m = measure(lambda a, w: torch.matmul(a, w.t()), make, method=MethodConfig())
        iso[name] = round(m.to_json()["stats"]["median_ms"], 5)
    out["isolated_ms"] = iso
    out["isolated_sum_x_layers_ms"] = round(sum(iso.values()) * LAYERS, 3)

    weights = [{name: torch.randn(n, k, device=dev, dtype=torch.bfloat16, generator=g) for name, (n, k) in SHAPES.items()}
               for _ in range(LAYERS)]

    def eager() -> None:
        for w in weights:
            for name in SHAPES:
                torch.matmul(x_m if name == "down" else x_h, w[name].t())

    whole = eager
    if a.graph:
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(2):
                eager()
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            eager()
        whole = graph.replay

    try:
        import pynvml  # type: ignore

        pynvml.nvmlInit()
        h = pynvml.nvmlDeviceGetHandleByIndex(0)
        read = lambda: (pynvml.nvmlDeviceGetClockInfo(h, pynvml.NVML_CLOCK_SM), pynvml.nvmlDeviceGetPowerUsage(h) / 1000)  # noqa: E731
    except Exception:  # noqa: BLE001
        read = lambda: (None, None)  # noqa: E731
    rows = []
    for i in range(10 if TOKENS > 1 else 40):
        torch.cuda.synchronize()
        seen: list = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                seen.append(read())
                time.sleep(0.001)

        t = threading.Thread(target=sample)
        t.start()
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        whole()
        e.record()
        e.synchronize()
        stop.set()
        t.join()
        clocks = [c for c, _ in seen if c is not None]
        powers = [p for _, p in seen if p is not None]
        if i >= 2:
            rows.append({"ms": round(s.elapsed_time(e), 3), "clock_mean": round(sum(clocks) / len(clocks)) if clocks else None,
                         "power_max_w": round(max(powers)) if powers else None})
    out["sustained"] = rows
    med = sorted(r["ms"] for r in rows)[len(rows) // 2]
    out["sustained_median_ms"] = med
    out["ratio_sustained_to_isolated"] = round(med / out["isolated_sum_x_layers_ms"], 4)
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
