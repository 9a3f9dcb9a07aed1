"""The job loop. Threads: a stdin reader (so `cancel` arrives while a job runs), a heartbeat every
5 s, and the main thread running jobs one at a time. Every stdout line goes through Output, whose
lock keeps lines whole."""
from __future__ import annotations

import gc
import re
import queue
import sys
import threading
import time
import traceback
import warnings
from typing import Any, Optional, TextIO

from .method import MethodConfig, measure
from .protocol import Cancel, Job, JobError, Shutdown, dumps, parse_message, peek_id

HEARTBEAT_S = 5.0
TRIGGERED = re.compile(r"\s*\(Triggered internally at [^)]*\)\.?")
_EOF = object()


class Output:
    def __init__(self, stream: TextIO):
        self._stream = stream
        self._lock = threading.Lock()

    def emit(self, message: dict) -> None:
        line = dumps(message)
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()


class Session:
    def __init__(self, out: Output, torch: Any, device: int, capability: dict):
        self.out = out
        self.torch = torch
        self.device = device
        self.capability = capability
        self.inbox: "queue.Queue[Any]" = queue.Queue()
        self.cancelled: set = set()
        self.current: Optional[Any] = None
        self._stop = threading.Event()

    # -- threads -------------------------------------------------------------------------------
    def _read_stdin(self, stream: TextIO) -> None:
        for line in stream:
            line = line.strip()
            if not line:
                continue
            try:
                message = parse_message(line)
            except JobError as e:
                self.inbox.put((peek_id(line), e))
                continue
            if isinstance(message, Cancel):
                self.cancelled.add(message.id)  # seen at once, even mid-job
            else:
                self.inbox.put(message)
        self.inbox.put(_EOF)

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            self.out.emit({"type": "heartbeat", "t": round(time.time(), 3), "job": self.current})

    # -- main loop -----------------------------------------------------------------------------
    def run(self, stdin: TextIO) -> None:
        threading.Thread(target=self._read_stdin, args=(stdin,), daemon=True).start()
        threading.Thread(target=self._heartbeat, daemon=True).start()
        try:
            while True:
                item = self.inbox.get()
                if item is _EOF or isinstance(item, Shutdown):
                    break
                if isinstance(item, tuple):  # (id, JobError) from a line that did not parse
                    job_id, error = item
                    self.out.emit({"type": "error", "id": job_id, "error": error.to_json()})
                    continue
                self._run_job(item)
        finally:
            self._stop.set()
            self.out.emit({"type": "bye"})

    def _run_job(self, job: Job) -> None:
        if job.id in self.cancelled:
            self.out.emit({"type": "error", "id": job.id, "op": job.op,
                           "error": {"type": "cancelled", "message": "cancelled before it started"}})
            return
        self.current = job.id
        started = time.perf_counter()
        try:
            result = self._execute(job)
            result["wall_s"] = round(time.perf_counter() - started, 4)
            self.out.emit(result)
        except JobError as e:
            self.out.emit({"type": "error", "id": job.id, "op": job.op, "error": e.to_json()})
        finally:
            self.current = None
            self.cancelled.discard(job.id)

    def _execute(self, job: Job) -> dict:
        """Runs one job; every failure comes out as JobError, with the memory of the failed job
        released before the next one starts."""
        failure: Optional[JobError] = None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                return self._measure(job, caught)
            except JobError as e:
                failure = e
            except Exception as e:
                failure = classify(self.torch, e, caught)
        # Outside the except block the traceback (and the tensors its frames hold) is gone.
        gc.collect()
        self.torch.cuda.empty_cache()
        raise failure

    def _measure(self, job: Job, caught: list) -> dict:
        from . import ops
        from .e2e.params import E2E_OPS

        if job.op in E2E_OPS:
            return self._run_e2e(job, caught)

        case = ops.build(job.op, job.params, f"cuda:{self.device}")
        config = MethodConfig().with_overrides(job.method)
        result: dict = {"type": "result", "id": job.id, "op": job.op}
        extra = dict(case.extra)
        if case.check is not None:
            extra.update(case.check())
        with case.context():
            measurement = measure(case.fn, case.make_inputs, method=config, device=self.device,
                                  should_stop=lambda: job.id in self.cancelled)
        result.update(measurement.to_json())
        if job.params.get("profile_kernels"):
            result["kernels"] = ops.kernel_names(case)
        if extra:
            result["extra"] = extra
        notes = warning_lines(caught)
        if notes:
            result["warnings"] = notes
        return result


    def _run_e2e(self, job: Job, caught: list) -> dict:
        """Whole-model ops (docs/e2e-protocol.md): the job runs its own grid and timing."""
        from .e2e import run

        if job.op == "e2e":
            body = {"e2e": run.run_e2e(job.params, self.device, self.capability)}
        else:
            body = {"e2e_logits": run.run_e2e_logits(job.params, self.device)}
        result: dict = {"type": "result", "id": job.id, "op": job.op, **body}
        notes = warning_lines(caught)
        if notes:
            result["warnings"] = notes
        return result


def warning_lines(caught: list, limit: int = 20) -> list[str]:
    lines: list[str] = []
    for w in caught:
        text = str(w.message).strip().splitlines()[0] if str(w.message).strip() else ""
        text = TRIGGERED.sub("", text).strip()  # drop " (Triggered internally at .../sdp_utils.cpp:255.)"
        if text and text not in lines:
            lines.append(text)
    return lines[:limit]


def classify(torch: Any, error: Exception, caught: list) -> JobError:
    text = str(error)
    first = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    oom_types = tuple(t for t in (getattr(torch, "OutOfMemoryError", None),
                                  getattr(torch.cuda, "OutOfMemoryError", None)) if t is not None)
    if (oom_types and isinstance(error, oom_types)) or "out of memory" in text.lower():
        return JobError("oom", first)
    if isinstance(error, RuntimeError) and is_refusal(text):
        return JobError("backend_refused", first, warnings=warning_lines(caught))
    traceback.print_exception(type(error), error, error.__traceback__, file=sys.stderr)
    return JobError("internal", f"{type(error).__name__}: {first}", warnings=warning_lines(caught))


REFUSAL_MARKERS = ("No available kernel", "No viable backend", "not supported", "Only support")


def is_refusal(text: str) -> bool:
    return any(m in text for m in REFUSAL_MARKERS)
