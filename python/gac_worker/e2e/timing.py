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


class Wall:
    def __init__(self) -> None:
        self.t0 = time.perf_counter()

    def s(self) -> float:
        return round(time.perf_counter() - self.t0, 3)
