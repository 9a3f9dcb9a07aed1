"""Timing whole-model steps: CUDA events around each region, the SM clock read beside it, and the
device's copy bandwidth (the roofline's denominator). docs/measurement-method.md is the method;
whole-model regions are milliseconds long, so L2 flushing and launch blocking are moot here: each
region is timed on its own after warm-up, with new inputs each time."""
from __future__ import annotations

import time
from typing import Callable, Optional

import torch

from ..method import ClockReader
from ..stats import summarize

_clock: dict[int, ClockReader] = {}


def clock(device: int) -> ClockReader:
    if device not in _clock:
        _clock[device] = ClockReader(device)
    return _clock[device]


def timed(fn: Callable[[], None]) -> float:
    """Milliseconds of one call of fn on the current stream, synchronised after (generate()
    synchronises every step too: it checks its stopping criteria on the host)."""
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    start.record()
    fn()
    end.record()
    end.synchronize()
    return start.elapsed_time(end)


def summary(samples_ms: list[float], clocks: list[Optional[float]]) -> dict:
    s = summarize(samples_ms).to_json()
    known = [c for c in clocks if c is not None]
    sm = {"median": sorted(known)[len(known) // 2], "min": min(known)} if known else None
    return {"stats": s, "samples_ms": [round(x, 5) for x in samples_ms], "sm_clock_mhz": sm}


def copy_bandwidth_gbps(device: int, nbytes: int = 1 << 30, repeats: int = 10) -> float:
    """Device-to-device copy of nbytes, counting read + written bytes, median of `repeats`."""
    src = torch.empty(nbytes, dtype=torch.uint8, device=f"cuda:{device}")
    src.random_(0, 255)
    dst = torch.empty_like(src)
    for _ in range(3):
        dst.copy_(src)
    times = sorted(timed(lambda: dst.copy_(src)) for _ in range(repeats))
    med = times[len(times) // 2]
    del src, dst
    return 2 * nbytes / (med / 1e3) / 1e9


class HostProbe:
    """How fast the host issues work right now, read between decode steps (outside their timed
    regions): the host of the GPU machine runs in regimes (results/20261202T091439Z-host-probe), and
    a host-bound eager step's time follows it. Three readings, each in host microseconds:
      launch  per tiny in-place add enqueued (the dispatcher and the launch);
      module  per kernel of a tiny RMSNorm module called from Python (module call, dispatcher,
              launch: the mix of an eager step's host work);
      python  per 1000 iterations of a pure-Python loop (the interpreter alone).
    Each reading takes ~1-3 ms; the GPU is synchronised before and after."""

    LAUNCHES = 300
    MODULE_CALLS = 60
    MODULE_KERNELS = 6  # pow, mean, add, rsqrt, mul, mul
    PY_ITERS = 20000

    def __init__(self, device: str) -> None:
        self.x = torch.zeros(1, device=device)
        self.h = torch.ones(1, 64, device=device, dtype=torch.float16)
        self.w = torch.ones(64, device=device, dtype=torch.float16)
        self.read()  # warm the three paths once

    def _norm(self, h: torch.Tensor) -> torch.Tensor:
        return h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + 1e-6) * self.w

    def read(self) -> dict:
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(self.LAUNCHES):
            self.x.add_(1)
        launch = (time.perf_counter() - t0) / self.LAUNCHES * 1e6
        torch.cuda.synchronize()
        h = self.h
        t0 = time.perf_counter()
        for _ in range(self.MODULE_CALLS):
            h = self._norm(h)
        module = (time.perf_counter() - t0) / (self.MODULE_CALLS * self.MODULE_KERNELS) * 1e6
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        acc = 0
        for i in range(self.PY_ITERS):
            acc += i & 7
        python = (time.perf_counter() - t0) / self.PY_ITERS * 1e3 * 1e6  # µs per 1000 iterations
        return {"launch": round(launch, 3), "module": round(module, 3), "python": round(python, 3)}


def probe_summary(readings: list[dict]) -> Optional[dict]:
    """Per probe kind: the median and the range of one point's readings, and every reading."""
    if not readings:
        return None
    out: dict = {}
    for kind in ("launch", "module", "python"):
        xs = sorted(r[kind] for r in readings)
        out[kind] = {"median": xs[len(xs) // 2], "min": xs[0], "max": xs[-1], "samples": [r[kind] for r in readings]}
    return out


class Wall:
    def __init__(self) -> None:
        self.t0 = time.perf_counter()

    def s(self) -> float:
        return round(time.perf_counter() - self.t0, 3)
