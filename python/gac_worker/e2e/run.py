"""The e2e ops: `e2e` times one model in one engine configuration over a grid; `e2e_logits`
compares original and repaired logits on the GPU (docs/e2e-protocol.md)."""
from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from typing import Any, Callable, Optional

import torch

from ..protocol import JobError
from . import hf_engine
from .gac_model import GacModel, GraphDecoder
from .timing import Wall, clock, copy_bandwidth_gbps, summary, timed
from .weights import TORCH_DTYPES, model_weights, weight_bytes

AVOID_RECOMPILE = "TORCH_CUDNN_SDPA_AVOID_RECOMPILE"
ATTENTION_KERNEL_MARKERS = ("attention", "attn", "fmha", "flash", "sdpa", "cudnn", "softmax", "mha")


def unsupported(msg: str) -> JobError:
    return JobError("unsupported", msg)


def _random_ids(gen: torch.Generator, vocab: int, batch: int, seq: int, device: str) -> torch.Tensor:
    return torch.randint(0, vocab, (batch, seq), generator=gen, device=device)


def kv_bytes_per_token(spec: dict, dtype: torch.dtype) -> int:
    size = torch.empty((), dtype=dtype).element_size()
    return sum(l["attn"]["numKvHeads"] * (l["attn"]["headDim"] + l["attn"]["headDimV"]) * size for l in spec["layers"])


def param_count(tensors: dict) -> int:
    return sum(t.numel() for t in tensors.values())


def _free() -> None:
    gc.collect()
    torch.cuda.empty_cache()


def _attention_kernels(fn: Callable[[], None]) -> list[str]:
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        fn()
        torch.cuda.synchronize()
    names: list[str] = []
    for e in prof.events():
        name = e.name
        if any(m in name.lower() for m in ATTENTION_KERNEL_MARKERS) and name not in names and not name.startswith("aten::"):
            names.append(name[:160])
    return names[:12]


class Engine:
    """What the grid loop needs from either engine."""

    def __init__(self, prefill, start_decode, step, graph_step=None):
        self.prefill = prefill
        self.start_decode = start_decode
        self.step = step
        self.graph_step = graph_step


def _gac_engine(m: GacModel, graph: bool) -> Engine:
    def start_decode(ids, max_len):
        m.allocate_cache(ids.shape[0], max_len)
        logits = m.prefill(ids, fill_cache=True)
        state = {"pos": ids.shape[1]}
        tok = logits[:, -1].argmax(-1, keepdim=True)
        if graph:
            state["graph"] = GraphDecoder(m, ids.shape[0], state["pos"])
            state["graph"].ids.copy_(tok)
        return state, tok

    def step(state, tok):
        if graph:
            state["graph"].replay()
            return state["graph"].ids
        logits = m.decode_eager(tok, state["pos"])
        state["pos"] += 1
        return logits[:, -1].argmax(-1, keepdim=True)

    return Engine(lambda ids: m.prefill(ids), start_decode, step)


def run_e2e(p: dict, device_index: int, capability: dict) -> dict:
    if p["engine"] == "transformers" and p["config"] == "sdpa-avoid-recompile" and os.environ.get(AVOID_RECOMPILE) != "1":
        return _in_child(p, device_index)
    device = f"cuda:{device_index}"
    wall = Wall()
    model = p["model"]
    spec = model["spec"]
    dtype = TORCH_DTYPES[p["dtype"]]
    if p["engine"] == "transformers":
        reason = hf_engine.unsupported_reason(spec, model["hf_config"])
        if reason:
            raise unsupported(reason)
    torch.backends.cuda.matmul.allow_tf32 = False
    bandwidth = copy_bandwidth_gbps(device_index)
    try:
        tensors = model_weights(model, p["seed"], dtype, device)
    except ValueError as e:
        raise JobError("bad_job", str(e)) from None
    info = {"label": model["label"], "params": param_count(tensors), "weight_bytes": weight_bytes(tensors),
            "kv_bytes_per_token": kv_bytes_per_token(spec, dtype)}
    cleanup: list[Any] = []
    if p["engine"] == "gac":
        m = GacModel(spec, tensors, hf_config=model["hf_config"], attention_scale=model["attention_scale"], device=device)
        engine = _gac_engine(m, graph=p["config"] == "graph")
        info["attn_impl"] = "sdpa"
        free_cache = m.free_cache
    else:
        hf = hf_engine.build(model, None if model["weights"] == "checkpoint" else tensors, p["config"], dtype, device)
        if model["weights"] != "checkpoint":
            del tensors
            tensors = {}
            _free()
        runner = hf_engine.HfRunner(hf, p["cache"])
        engine = Engine(runner.prefill, runner.start_decode, runner.step)
        info["attn_impl"] = hf.config._attn_implementation
        free_cache = lambda: None
        cleanup.append(hf)
    load_s = wall.s()
    gen = torch.Generator(device=device)
    gen.manual_seed(p["seed"] + 1)
    vocab = spec["vocabSize"]
    clk = clock(device_index)
    points: list[dict] = []
    skipped: list[dict] = []
    kernels: dict[str, list[str]] = {}
    with hf_engine.sdpa_config(p["config"] if p["engine"] == "transformers" else "sdpa"):
        for pt in p["prefill"]:
            where = {"phase": "prefill", "batch": pt["batch"], "seq": pt["seq"]}
            try:
                torch.cuda.reset_peak_memory_stats(device)
                samples, clocks = [], []
                for i in range(p["warmup"] + p["prefill_repeats"]):
                    ids = _random_ids(gen, vocab, pt["batch"], pt["seq"], device)
                    torch.cuda.synchronize()
                    c = clk.read()
                    ms = timed(lambda: engine.prefill(ids))
                    if i >= p["warmup"]:
                        samples.append(ms)
                        clocks.append(c)
                    del ids
                row = {**where, **summary(samples, clocks), "peak_mem_bytes": torch.cuda.max_memory_allocated(device)}
                row["tokens_per_s"] = pt["batch"] * pt["seq"] / (row["stats"]["median_ms"] / 1e3)
                points.append(row)
            except torch.OutOfMemoryError as e:
                skipped.append({**where, "reason": "oom: " + str(e).splitlines()[0][:200]})
            except RuntimeError as e:
                skipped.append({**where, "reason": "error: " + str(e).splitlines()[0][:200]})
            finally:
                _free()
        for pt in p["decode"]:
            where = {"phase": "decode", "batch": pt["batch"], "context": pt["context"]}
            try:
                torch.cuda.reset_peak_memory_stats(device)
                max_len = pt["context"] + p["warmup"] + p["decode_steps"] + 4
                ids = _random_ids(gen, vocab, pt["batch"], pt["context"], device)
                state, tok = engine.start_decode(ids, max_len)
                del ids
                samples, clocks = [], []
                for i in range(p["warmup"] + p["decode_steps"]):
                    c = clk.read()
                    holder = {}
                    ms = timed(lambda: holder.setdefault("tok", engine.step(state, tok)))
                    tok = holder["tok"]
                    if i >= p["warmup"]:
                        samples.append(ms)
                        clocks.append(c)
                if p["profile_kernels"] and "decode_attention" not in kernels:
                    kernels["decode_attention"] = _attention_kernels(lambda: engine.step(state, tok))
                row = {**where, **summary(samples, clocks), "peak_mem_bytes": torch.cuda.max_memory_allocated(device)}
                row["tokens_per_s"] = pt["batch"] / (row["stats"]["median_ms"] / 1e3)
                points.append(row)
                del state, tok
            except torch.OutOfMemoryError as e:
                skipped.append({**where, "reason": "oom: " + str(e).splitlines()[0][:200]})
            except RuntimeError as e:
                skipped.append({**where, "reason": "error: " + str(e).splitlines()[0][:200]})
            finally:
                free_cache()
                _free()
    out = {"engine": p["engine"], "config": p["config"], "cache": p["cache"], "dtype": p["dtype"],
           "weights": model["weights"], "model": info, "load_s": load_s, "copy_bandwidth_gbps": round(bandwidth, 1),
           "points": points, "skipped": skipped, "kernels": kernels,
           "env": {AVOID_RECOMPILE: os.environ.get(AVOID_RECOMPILE)}}
    del cleanup, tensors, engine
    _free()
    return out


def _in_child(p: dict, device_index: int) -> dict:
    """TORCH_CUDNN_SDPA_AVOID_RECOMPILE is read by PyTorch once, so this configuration runs in a
    fresh worker process that has it set from the start."""
    _free()
    env = dict(os.environ, **{AVOID_RECOMPILE: "1"})
    job = json.dumps({"params": p, "device": device_index})
    proc = subprocess.run([sys.executable, "-m", "gac_worker.e2e.child"], input=job, capture_output=True, text=True, env=env)
    lines = [l for l in proc.stdout.splitlines() if l.strip()]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise JobError("internal", f"the {AVOID_RECOMPILE}=1 child process failed (exit {proc.returncode}): {tail[:300]}")
    msg = json.loads(lines[-1])
    if "error" in msg:
        raise JobError(msg["error"]["type"], msg["error"]["message"])
    return msg["e2e"]


# ---- logits ---------------------------------------------------------------------------------

def compare(a: torch.Tensor, b: torch.Tensor) -> dict:
    a64, b64 = a.to(torch.float64), b.to(torch.float64)
    if a64.shape[-1] != b64.shape[-1]:
        n = min(a64.shape[-1], b64.shape[-1])
        a64, b64 = a64[..., :n], b64[..., :n]
    diff = (a64 - b64).abs()
    max_logit = max(a64.abs().max().item(), 1e-30)
    return {"max_abs_diff": diff.max().item(), "max_abs_logit": max_logit, "rel_to_max": diff.max().item() / max_logit,
            "mean_abs_diff": diff.mean().item(), "argmax_agree": (a64.argmax(-1) == b64.argmax(-1)).double().mean().item()}


def _logits(engine: str, model: dict, ids: torch.Tensor, seed: int, dtype: torch.dtype, device: str, fp32: bool) -> torch.Tensor:
    """All-position logits of one model; fp32: weights upcast from the serving dtype (the same
    values), fp32 math, TF32 off."""
    serving = TORCH_DTYPES["bf16"] if dtype == torch.float32 else dtype
    tensors = model_weights(model, seed, serving, device)
    if fp32:
        tensors = {k: v.to(torch.float32) for k, v in tensors.items()}
    try:
        if engine == "gac":
            m = GacModel(model["spec"], tensors, hf_config=model["hf_config"], attention_scale=model["attention_scale"], device=device)
            out = m.prefill(ids, all_logits=True).float()
        else:
            hf = hf_engine.build(model, None if model["weights"] == "checkpoint" else tensors,
                                 "sdpa", torch.float32 if fp32 else serving, device)
            out = hf_engine.HfRunner(hf, "dynamic").logits_all(ids).float()
            del hf
    finally:
        del tensors
        _free()
    return out


def run_e2e_logits(p: dict, device_index: int) -> dict:
    device = f"cuda:{device_index}"
    dtype = TORCH_DTYPES[p["dtype"]]
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    gen = torch.Generator(device=device)
    gen.manual_seed(p["seed"] + 7)
    ids = _random_ids(gen, p["original"]["spec"]["vocabSize"], p["batch"], p["seq"], device)
    result: dict = {"repair_fp32": {}, "repair_serving": {}, "noise_floor": {}, "unsupported": {}}
    orig_fp32: dict[str, torch.Tensor] = {}
    for engine in p["engines"]:
        if engine == "transformers":
            reason = hf_engine.unsupported_reason(p["original"]["spec"], p["original"]["hf_config"]) or \
                hf_engine.unsupported_reason(p["repaired"]["spec"], p["repaired"]["hf_config"])
            if reason:
                result["unsupported"][engine] = reason
                continue
        o32 = _logits(engine, p["original"], ids, p["seed"], dtype, device, fp32=True)
        r32 = _logits(engine, p["repaired"], ids, p["seed"], dtype, device, fp32=True)
        result["repair_fp32"][engine] = compare(o32, r32)
        del r32
        o16 = _logits(engine, p["original"], ids, p["seed"], dtype, device, fp32=False)
        result["noise_floor"][engine] = compare(o32, o16)
        r16 = _logits(engine, p["repaired"], ids, p["seed"], dtype, device, fp32=False)
        result["repair_serving"][engine] = compare(o16, r16)
        del o16, r16
        orig_fp32[engine] = o32.cpu()
        _free()
    if "gac" in orig_fp32 and "transformers" in orig_fp32:
        result["engines_fp32"] = compare(orig_fp32["gac"], orig_fp32["transformers"])
    result["tokens"] = {"batch": p["batch"], "seq": p["seq"]}
    return result
