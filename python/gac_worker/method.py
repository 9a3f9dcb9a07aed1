"""The measurement method: ONE function, measure(). docs/measurement-method.md explains each step.

Per sample, in this order (nvbench's cold measurement, nvbench/detail/measure_cold_launch_timer_core):
  1. L2 flush: memset of a buffer of max(2 x L2, 256 MiB)       -- outside the timed region
  2. spin kernel (torch.cuda._sleep) long enough to cover the host's enqueue of fn, so the start
     event fires only once all of fn's launches are queued (nvbench's blocking kernel)
  3. start event; fn(*inputs[i % sets]); end event               -- the timed region
  4. SM clock read through NVML while the GPU runs the sample; then wait for the end event
  5. sample dropped (and counted) if the clock was under 75% of the maximum; else kept
Stop by stats.stop_reason(). Nothing here sets clocks.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable, Optional, Sequence

from .protocol import JobError
from .stats import StopRule, Summary, is_throttled, stop_reason, summarize

FLUSH_MIN_BYTES = 256 << 20  # Triton's do_bench flush size; above 2 x L2 on every GPU we target


@dataclass(frozen=True)
class MethodConfig:
    min_samples: int = 10  # nvbench --min-samples
    max_samples: int = 1000
    min_gpu_time_s: float = 0.2  # nvbench uses 0.5 s; 0.2 s fits a sweep of ~100 cases per minute-scale budget
    target_rel_ci: float = 0.01  # 1% half-width of the median's 95% CI
    max_wall_s: float = 5.0  # per case, warm-up and dropped samples included (nvbench --timeout is 15 s)
    warmup_min_count: int = 3
    warmup_min_ms: float = 25.0  # do_bench's warmup=25 (ms)
    throttle_threshold: float = 0.75  # nvbench --throttle-threshold
    throttle_recovery_s: float = 0.05  # nvbench --throttle-recovery-delay
    flush_l2: bool = True
    rotate_inputs: bool = True
    block_launch: bool = True
    max_input_sets: int = 64
    input_memory_fraction: float = 0.25  # rotating sets may take at most this share of free memory
    confidence: float = 0.95

    def with_overrides(self, overrides: dict) -> "MethodConfig":
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def stop_rule(self) -> StopRule:
        return StopRule(
            min_samples=self.min_samples, min_gpu_time_s=self.min_gpu_time_s,
            target_rel_ci=self.target_rel_ci, max_samples=self.max_samples,
            max_wall_s=self.max_wall_s, confidence=self.confidence,
        )


@dataclass
class Measurement:
    summary: Summary
    samples_ms: list[float]
    clocks_mhz: list[Optional[float]]
    dropped_throttled: int
    stop_reason: str
    clock_source: Optional[str]
    max_clock_mhz: Optional[float]
    warmup_count: int
    input_sets: int
    input_set_bytes: int
    flush_bytes: int
    launch_block_us: float
    wall_s: float
    config: MethodConfig = field(default_factory=MethodConfig)

    def to_json(self) -> dict:
        known = [c for c in self.clocks_mhz if c is not None]
        known.sort()
        return {
            "stats": self.summary.to_json("ms"),
            "samples_ms": self.samples_ms,
            "clocks_mhz": self.clocks_mhz,
            "dropped_throttled": self.dropped_throttled,
            "stop_reason": self.stop_reason,
            "sm_clock_mhz": {
                "median": known[len(known) // 2] if known else None,
                "min": known[0] if known else None,
                "max_clock": self.max_clock_mhz,
                "source": self.clock_source,
            },
            "method": {
                **asdict(self.config),
                "warmup_count": self.warmup_count,
                "input_sets": self.input_sets,
                "input_set_bytes": self.input_set_bytes,
                "flush_bytes": self.flush_bytes,
                "launch_block_us": self.launch_block_us,
                "wall_s": self.wall_s,
            },
        }


class ClockReader:
    """SM clock in MHz through NVML (pynvml from nvidia-ml-py), the only cheap per-sample source
    in Python (~tens of µs). Falls back to torch.cuda.clock_rate (also NVML). None when absent."""

    def __init__(self, device: int):
        self.source: Optional[str] = None
        self.max_mhz: Optional[float] = None
        self._read: Callable[[], Optional[float]] = lambda: None
        try:
            import pynvml  # type: ignore

            pynvml.nvmlInit()
            handle = _nvml_handle(pynvml, device)
            self.max_mhz = float(pynvml.nvmlDeviceGetMaxClockInfo(handle, pynvml.NVML_CLOCK_SM))
            self._read = lambda: float(pynvml.nvmlDeviceGetClockInfo(handle, pynvml.NVML_CLOCK_SM))
            self._read()
            self.source = "nvml"
            return
        except Exception:
            pass
        try:
            import torch

            torch.cuda.clock_rate(device)
            self._read = lambda: float(torch.cuda.clock_rate(device))
            self.source = "torch.cuda.clock_rate"
        except Exception:
            self._read = lambda: None

    def read(self) -> Optional[float]:
        try:
            return self._read()
        except Exception:
            return None


def _nvml_handle(pynvml, device: int):
    """NVML numbers GPUs differently from CUDA under CUDA_VISIBLE_DEVICES: match by PCI bus id."""
    import torch

    props = torch.cuda.get_device_properties(device)
    try:
        bus = "%08x:%02x:%02x.0" % (props.pci_domain_id, props.pci_bus_id, props.pci_device_id)
        return pynvml.nvmlDeviceGetHandleByPciBusId(bus.encode())
    except Exception:
        return pynvml.nvmlDeviceGetHandleByIndex(device)


_flush_cache: dict[int, Any] = {}


def flush_buffer(device: int, l2_bytes: int):
    """One buffer per device for the whole session: max(2 x L2, 256 MiB) bytes."""
    import torch

    if device not in _flush_cache:
        size = max(2 * l2_bytes, FLUSH_MIN_BYTES)
        _flush_cache[device] = torch.empty(size, dtype=torch.uint8, device=f"cuda:{device}")
    return _flush_cache[device]


def input_set_count(set_bytes: int, l2_bytes: int, free_bytes: int, config: MethodConfig) -> int:
    """Enough sets that one pass over them moves > 2 x L2, within max_input_sets and the memory
    share; at least 1 (then the L2 flush alone keeps the cache cold)."""
    if not config.rotate_inputs or set_bytes <= 0:
        return 1
    wanted = math.ceil(2 * l2_bytes / set_bytes) + 1 if set_bytes < 2 * l2_bytes else 1
    affordable = int(config.input_memory_fraction * free_bytes) // set_bytes
    return max(1, min(wanted, config.max_input_sets, affordable))


def _nbytes(inputs: Sequence[Any]) -> int:
    return sum(t.numel() * t.element_size() for t in inputs if hasattr(t, "element_size"))


def measure(
    fn: Callable[..., Any],
    make_inputs: Callable[[int], Sequence[Any]],
    *,
    method: MethodConfig,
    device: int = 0,
    should_stop: Callable[[], bool] = lambda: False,
) -> Measurement:
    """Time fn(*make_inputs(i)) on the GPU per the method above. make_inputs(i) must return fresh
    random (never zero) tensors for set i. Raises JobError('cancelled') when should_stop() turns
    true; exceptions from fn (refusals, OOM) propagate unchanged."""
    import torch

    wall0 = time.perf_counter()
    props = torch.cuda.get_device_properties(device)
    l2_bytes = int(getattr(props, "L2_cache_size", 0) or 0)
    clock = ClockReader(device)

    first = tuple(make_inputs(0))
    set_bytes = _nbytes(first)
    free_bytes, _ = torch.cuda.mem_get_info(device)
    n_sets = input_set_count(set_bytes, l2_bytes, free_bytes, method)
    sets = [first] + [tuple(make_inputs(i)) for i in range(1, n_sets)]
    flush = flush_buffer(device, l2_bytes) if method.flush_l2 else None

    def check_cancel():
        if should_stop():
            raise JobError("cancelled", "cancelled by the client")

    # Warm-up: first call (compilation, handles, autotuning), then until both count and time met.
    torch.cuda.synchronize(device)
    warm = 0
    enqueue_s: list[float] = []
    warm_start = time.perf_counter()
    while True:
        check_cancel()
        t0 = time.perf_counter()
        fn(*sets[warm % n_sets])
        enqueue_s.append(time.perf_counter() - t0)
        torch.cuda.synchronize(device)
        warm += 1
        elapsed_ms = (time.perf_counter() - warm_start) * 1e3
        if warm >= max(1, method.warmup_min_count) and elapsed_ms >= method.warmup_min_ms:
            break
        if time.perf_counter() - wall0 > method.max_wall_s / 2:
            break  # a slow case keeps half its wall budget for samples

    # Host time to enqueue fn (without sync): the spin kernel must outlast it.
    enqueue_sorted = sorted(enqueue_s[1:] or enqueue_s)
    host_enqueue_s = enqueue_sorted[len(enqueue_sorted) // 2]
    block_us = 0.0
    sleep_cycles = 0
    if method.block_launch and hasattr(torch.cuda, "_sleep"):
        block_us = min(max(2 * host_enqueue_s * 1e6 + 20.0, 20.0), 5000.0)
        sleep_cycles = int(block_us * (clock.max_mhz or 2000.0))  # MHz x µs = cycles

    rule = method.stop_rule()
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    samples: list[float] = []
    clocks: list[Optional[float]] = []
    dropped = 0
    gpu_time_s = 0.0
    i = 0
    reason: Optional[str] = None
    while reason is None:
        check_cancel()
        inputs = sets[i % n_sets]
        i += 1
        if flush is not None:
            flush.zero_()
        if sleep_cycles:
            torch.cuda._sleep(sleep_cycles)
        start.record()
        fn(*inputs)
        end.record()
        mhz = clock.read()  # the GPU is busy with this sample now
        end.synchronize()
        ms = start.elapsed_time(end)
        if is_throttled(mhz, clock.max_mhz, method.throttle_threshold):
            dropped += 1
            time.sleep(method.throttle_recovery_s)
        else:
            samples.append(ms)
            clocks.append(mhz)
            gpu_time_s += ms / 1e3
        reason = stop_reason(rule, samples, gpu_time_s, time.perf_counter() - wall0)

    if not samples:
        raise JobError("internal", f"every one of {dropped} samples was taken under "
                       f"{method.throttle_threshold:.0%} of the max SM clock ({clock.max_mhz} MHz): the GPU is throttling")
    return Measurement(
        summary=summarize(samples, method.confidence), samples_ms=samples, clocks_mhz=clocks,
        dropped_throttled=dropped, stop_reason=reason, clock_source=clock.source,
        max_clock_mhz=clock.max_mhz, warmup_count=warm, input_sets=n_sets, input_set_bytes=set_bytes,
        flush_bytes=0 if flush is None else flush.numel(), launch_block_us=block_us,
        wall_s=time.perf_counter() - wall0, config=method,
    )
