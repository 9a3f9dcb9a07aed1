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
from .gac_model import SPLIT_KV_CHUNK, GacModel, GraphDecoder, attention_only_graph, round_up
from .params import GAC_CONFIGS
from .timing import HostProbe, Wall, clock, copy_bandwidth_gbps, probe_summary, summary, timed
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
    """What the grid loop needs from either engine: prefill(ids); start_decode(batch, context,
    max_len, gen) -> (state, token) with a cache of `context` random positions; step(state, tok)."""

    def __init__(self, prefill, start_decode, step, start_decode_prefilled=None, attention_part=None):
        self.prefill = prefill
        self.start_decode = start_decode
        self.step = step
        # (state) -> ms: the step's attention alone, where the engine can run it alone (the gac graphs)
        self.attention_part = attention_part
        # (ids, max_len) -> (state, token): fills the cache by a real prefill of the context
        self.start_decode_prefilled = start_decode_prefilled


def _gac_engine(m: GacModel, config: str) -> Engine:
    graph, attention = GAC_CONFIGS[config]["graph"], GAC_CONFIGS[config]["attention"]

    def start_decode(batch, context, max_len, gen):
        if attention == "splitkv":
            max_len = round_up(max_len, SPLIT_KV_CHUNK)
        m.allocate_cache(batch, max_len, fill=context, gen=gen)
        state = {"pos": context, "batch": batch}
        tok = torch.randint(0, m.spec["vocabSize"], (batch, 1), generator=gen, device=m.device)
        if graph:
            state["graph"] = GraphDecoder(m, batch, context, attention)
            state["graph"].ids.copy_(tok)
        return state, tok

    def step(state, tok):
        if graph:
            state["graph"].replay()
            return state["graph"].ids
        logits = m.decode_eager(tok, state["pos"])
        state["pos"] += 1
        return logits[:, -1].argmax(-1, keepdim=True)

    def attention_part(state, repeats: int = 10) -> float:
        """Median ms of replaying every layer's attention alone at the step's current position."""
        g = attention_only_graph(m, state["batch"], int(state["graph"].pos.item()), attention)
        for _ in range(3):
            g.replay()
        times = sorted(timed(g.replay) for _ in range(repeats))
        del g
        return times[len(times) // 2]

    return Engine(lambda ids: m.prefill(ids), start_decode, step, attention_part=attention_part if graph else None)


class ChildState:
    """What one model's child process keeps between its jobs: the weights, and the last engine
    built (only one, so a 7B model's weights, engine copy and a 32x1024 cache fit together)."""

    def __init__(self) -> None:
        self.weights_key = None
        self.tensors: dict = {}
        self.engine_key = None
        self.engine: Any = None
        self.jobs = 0

    def weights(self, model: dict, seed: int, dtype: torch.dtype, device: str) -> dict:
        key = (model["label"], seed, dtype)
        if key != self.weights_key:
            self.drop_engine()
            self.tensors = {}
            _free()
            self.tensors = model_weights(model, seed, dtype, device)
            self.weights_key = key
        return self.tensors

    def drop_engine(self) -> None:
        self.engine, self.engine_key = None, None
        _free()


STATE = ChildState()
CHILD_FLAG = "GAC_E2E_CHILD"


def run_e2e(p: dict, device_index: int, capability: dict) -> dict:
    """In the worker: hand the job to the child process of its model (a fresh process per model,
    so cuDNN's plan cache and the allocator start cold for each model, as in a user's process);
    in that child: run it."""
    if os.environ.get(CHILD_FLAG) != "1":
        return POOL.run(p, device_index)
    return run_here(p, device_index)


def run_here(p: dict, device_index: int) -> dict:
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
        tensors = STATE.weights(model, p["seed"], dtype, device)
    except ValueError as e:
        raise JobError("bad_job", str(e)) from None
    info = {"label": model["label"], "params": param_count(tensors), "weight_bytes": weight_bytes(tensors),
            "kv_bytes_per_token": kv_bytes_per_token(spec, dtype)}
    impl = ("eager" if p["config"] == "eager" else "sdpa") if p["engine"] == "transformers" else "gac"
    key = (model["label"], p["engine"], impl)
    if STATE.engine_key != key:
        STATE.drop_engine()
        if p["engine"] == "gac":
            m = GacModel(spec, tensors, hf_config=model["hf_config"], attention_scale=model["attention_scale"], device=device)
            STATE.engine = ("gac", m)
        else:
            try:
                hf = hf_engine.build(model, tensors, p["config"], dtype, device)
            except hf_engine.ShapeMismatch as e:  # a config the pre-check could not see through
                raise unsupported(str(e)) from None
            STATE.engine = ("hf", hf)
        STATE.engine_key = key
    kind, obj = STATE.engine
    if kind == "gac":
        engine = _gac_engine(obj, p["config"])
        info["attn_impl"] = "gac-splitkv" if GAC_CONFIGS[p["config"]]["attention"] == "splitkv" else "sdpa"
        free_cache = obj.free_cache
    else:
        runner = hf_engine.HfRunner(obj, p["cache"])
        engine = Engine(runner.prefill, runner.start_decode_random, runner.step, runner.start_decode)
        info["attn_impl"] = obj.config._attn_implementation
        free_cache = lambda: None
    load_s = wall.s()
    gen = torch.Generator(device=device)
    gen.manual_seed(p["seed"] + 1)
    vocab = spec["vocabSize"]
    clk = clock(device_index)
    probe = HostProbe(device)
    points: list[dict] = []
    skipped: list[dict] = []
    kernels: dict[str, list[str]] = {}

    def failed(where: dict, e: BaseException) -> None:
        kind = "oom" if isinstance(e, torch.OutOfMemoryError) else type(e).__name__
        first = (str(e).strip().splitlines() or [""])[0]
        skipped.append({**where, "reason": f"{kind}: {first[:240]}"})

    with hf_engine.sdpa_config(p["config"] if p["engine"] == "transformers" else GAC_CONFIGS[p["config"]]["sdpa"]):
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
            except Exception as e:  # noqa: BLE001 - a failed point is reported, the grid goes on
                failed(where, e)
            finally:
                _free()
        for pt in p["decode"]:
            where = {"phase": "decode", "batch": pt["batch"], "context": pt["context"]}
            state = tok = None
            try:
                torch.cuda.reset_peak_memory_stats(device)
                max_len = pt["context"] + p["warmup"] + p["decode_steps"] + 8
                fill = "random"
                try:
                    state, tok = engine.start_decode(pt["batch"], pt["context"], max_len, gen)
                except Exception as e:  # noqa: BLE001 - a cache API we could not fill directly
                    if engine.start_decode_prefilled is None:
                        raise
                    fill = f"prefill ({type(e).__name__}: {str(e).splitlines()[0][:120] if str(e) else ''})"
                    _free()
                    ids = _random_ids(gen, vocab, pt["batch"], pt["context"], device)
                    state, tok = engine.start_decode_prefilled(ids, max_len)
                    del ids
                samples, clocks, probes = [], [], []
                for i in range(p["warmup"] + p["decode_steps"]):
                    c = clk.read()
                    holder: dict = {}
                    ms = timed(lambda: holder.setdefault("tok", engine.step(state, tok)))
                    tok = holder["tok"]
                    if i >= p["warmup"]:
                        samples.append(ms)
                        clocks.append(c)
                        probes.append(probe.read())  # after the step, outside its timed region
                if p["profile_kernels"] and "decode_attention" not in kernels:
                    kernels["decode_attention"] = _attention_kernels(lambda: engine.step(state, tok))
                row = {**where, **summary(samples, clocks), "peak_mem_bytes": torch.cuda.max_memory_allocated(device),
                       "cache_fill": fill, "host_probe_us": probe_summary(probes)}
                if engine.attention_part is not None:
                    try:
                        row["attention_part_ms"] = round(engine.attention_part(state), 5)
                    except Exception as e:  # noqa: BLE001 - the step's own timing stands; say why the part is missing
                        row["attention_part_error"] = f"{type(e).__name__}: {(str(e).strip().splitlines() or [''])[0][:200]}"
                row["tokens_per_s"] = pt["batch"] / (row["stats"]["median_ms"] / 1e3)
                points.append(row)
            except Exception as e:  # noqa: BLE001
                failed(where, e)
            finally:
                del state, tok
                free_cache()
                _free()
    STATE.jobs += 1
    return {"engine": p["engine"], "config": p["config"], "cache": p["cache"], "dtype": p["dtype"],
            "weights": model["weights"], "model": info, "load_s": load_s, "copy_bandwidth_gbps": round(bandwidth, 1),
            "points": points, "skipped": skipped, "kernels": kernels,
            "process": {"pid": os.getpid(), "jobs_before": STATE.jobs - 1,
                        AVOID_RECOMPILE: os.environ.get(AVOID_RECOMPILE)}}


class ChildPool:
    """One child worker process per (model label, AVOID_RECOMPILE): jobs of one model share it
    (and its weights); the next model gets a fresh one. TORCH_CUDNN_SDPA_AVOID_RECOMPILE is read
    by PyTorch once per process, so that configuration has a child of its own."""

    def __init__(self) -> None:
        self.key: Any = None
        self.proc: Optional[subprocess.Popen] = None

    def close(self) -> None:
        if self.proc is not None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=60)
            except Exception:  # noqa: BLE001
                self.proc.kill()
            self.proc = None
            self.key = None

    def run(self, p: dict, device_index: int) -> dict:
        avoid = p["engine"] == "transformers" and p["config"] == "sdpa-avoid-recompile"
        key = (p["model"]["label"], avoid, device_index)
        if key != self.key or self.proc is None or self.proc.poll() is not None:
            self.close()
            _free()
            env = dict(os.environ, **{CHILD_FLAG: "1"})
            if avoid:
                env[AVOID_RECOMPILE] = "1"
            else:
                env.pop(AVOID_RECOMPILE, None)
            self.proc = subprocess.Popen([sys.executable, "-m", "gac_worker.e2e.child"], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, text=True, env=env, bufsize=1)
            self.key = key
        self.proc.stdin.write(json.dumps({"params": p, "device": device_index}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            self.proc, self.key = None, None
            raise JobError("internal", f"the e2e child process for {p['model']['label']} exited ({code}) without a result; its stderr is the worker's")
        msg = json.loads(line)
        if "error" in msg:
            raise JobError(msg["error"]["type"], msg["error"]["message"])
        return msg["e2e"]


POOL = ChildPool()


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


def _logits(engine: str, model: dict, tensors: dict, ids: torch.Tensor, fp32: bool) -> torch.Tensor:
    """All-position logits of one model; fp32: the same (serving-dtype) values upcast, fp32 math,
    TF32 off."""
    dtype = next(iter(tensors.values())).dtype
    if fp32:
        tensors = {k: v.to(torch.float32) for k, v in tensors.items()}
    try:
        if engine == "gac":
            m = GacModel(model["spec"], tensors, hf_config=model["hf_config"], attention_scale=model["attention_scale"], device=str(ids.device))
            out = m.prefill(ids, all_logits=True).float()
            del m
        else:
            hf = hf_engine.build(model, tensors, "sdpa", torch.float32 if fp32 else dtype, str(ids.device))
            out = hf_engine.HfRunner(hf, "dynamic").logits_all(ids).float()
            del hf
    finally:
        del tensors
        _free()
    return out


DECODE_PATHS = (("eager", None), ("masked_sdpa", "sdpa"), ("masked_splitkv", "splitkv"))


def _decode_paths(model: dict, tensors: dict, ids: torch.Tensor, fp32: bool) -> dict:
    """The gac engine's decode paths against its prefill: the last position's logits of a prefill of
    all of ids, and one decode step of the last token after a prefill of the rest into the cache,
    through eager decode (SDPA over the filled slice) and the graph's masked step with either
    attention (run eagerly here: the graph replays the same kernels)."""
    if fp32:
        tensors = {k: v.to(torch.float32) for k, v in tensors.items()}
    b, s = ids.shape
    out: dict = {}
    try:
        m = GacModel(model["spec"], tensors, hf_config=model["hf_config"], attention_scale=model["attention_scale"], device=str(ids.device))
        ref = m.prefill(ids, all_logits=True)[:, -1:].float()
        for name, attention in DECODE_PATHS:
            m.allocate_cache(b, round_up(s + 8, SPLIT_KV_CHUNK))
            m.prefill(ids[:, :-1], fill_cache=True)
            if attention is None:
                got = m.decode_eager(ids[:, -1:], s - 1)
            else:
                got = m.decode_masked(ids[:, -1:], torch.tensor([s - 1], dtype=torch.long, device=ids.device), attention)
            out[name] = compare(ref, got.float())
            m.free_cache()
        del m
    finally:
        del tensors
        _free()
    return out


def _pair_weights(p: dict, dtype: torch.dtype, device: str) -> tuple[dict, dict]:
    """Original and repaired weights; a repaired model derived from a base that is the original
    reuses the original's drawn tensors instead of drawing them again."""
    orig = model_weights(p["original"], p["seed"], dtype, device)
    rep_model = p["repaired"]
    base = rep_model.get("base")
    if base is not None and json.dumps(base["spec"], sort_keys=True) == json.dumps(p["original"]["spec"], sort_keys=True):
        from .weights import derive, tensor_shapes

        derived = derive(orig, base["edits"])
        want = tensor_shapes(rep_model["spec"])
        rep = {k: derived[k] for k in want}
    else:
        rep = model_weights(rep_model, p["seed"], dtype, device)
    return orig, rep


def run_e2e_logits(p: dict, device_index: int) -> dict:
    POOL.close()  # the last model's child holds its weights; give the GPU back first
    device = f"cuda:{device_index}"
    dtype = TORCH_DTYPES[p["dtype"]]
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    gen = torch.Generator(device=device)
    gen.manual_seed(p["seed"] + 7)
    ids = _random_ids(gen, p["original"]["spec"]["vocabSize"], p["batch"], p["seq"], device)
    result: dict = {"repair_fp32": {}, "repair_serving": {}, "noise_floor": {}, "unsupported": {}}
    try:
        orig, rep = _pair_weights(p, dtype, device)
    except ValueError as e:
        raise JobError("bad_job", str(e)) from None
    orig_fp32: dict[str, torch.Tensor] = {}
    for engine in p["engines"]:
        if engine == "transformers":
            reason = hf_engine.unsupported_reason(p["original"]["spec"], p["original"]["hf_config"]) or \
                hf_engine.unsupported_reason(p["repaired"]["spec"], p["repaired"]["hf_config"])
            if reason:
                result["unsupported"][engine] = reason
                continue
        o32 = _logits(engine, p["original"], orig, ids, fp32=True)
        r32 = _logits(engine, p["repaired"], rep, ids, fp32=True)
        result["repair_fp32"][engine] = compare(o32, r32)
        del r32
        o16 = _logits(engine, p["original"], orig, ids, fp32=False)
        result["noise_floor"][engine] = compare(o32, o16)
        r16 = _logits(engine, p["repaired"], rep, ids, fp32=False)
        result["repair_serving"][engine] = compare(o16, r16)
        del o16, r16
        orig_fp32[engine] = o32.cpu()
        del o32
        _free()
        if engine == "gac" and p.get("decode_paths"):
            try:
                result["decode_paths"] = {"fp32": _decode_paths(p["original"], orig, ids, fp32=True),
                                          "serving": _decode_paths(p["original"], orig, ids, fp32=False)}
            except Exception as e:  # noqa: BLE001 - the repair's comparisons above stand; say why this one did not run
                result["decode_paths_error"] = f"{type(e).__name__}: {(str(e).strip().splitlines() or [''])[0][:240]}"
                _free()
    if "gac" in orig_fp32 and "transformers" in orig_fp32:
        result["engines_fp32"] = compare(orig_fp32["gac"], orig_fp32["transformers"])
    result["tokens"] = {"batch": p["batch"], "seq": p["seq"]}
    del orig, rep
    _free()
    return result
