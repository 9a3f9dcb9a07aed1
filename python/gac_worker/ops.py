"""Kernel calls the worker can time. Each builder turns validated params into a Case: the timed
function, a maker of random input sets, the context it runs in (an SDPA backend choice), and an
optional check that computes `extra` once, outside timing. Imported only when torch is present."""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import torch
import torch.nn.functional as F

from .protocol import JobError

TORCH_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}


@dataclass
class Case:
    fn: Callable[..., Any]
    make_inputs: Callable[[int], Sequence[Any]]
    context: Callable[[], Any] = contextlib.nullcontext
    check: Optional[Callable[[], dict]] = None  # -> extra fields, run once before timing
    extra: dict = field(default_factory=dict)


def sdpa_backend_context(backend: str) -> Callable[[], Any]:
    if backend == "AUTO":
        return contextlib.nullcontext
    from torch.nn.attention import SDPBackend, sdpa_kernel

    chosen = {
        "FLASH": SDPBackend.FLASH_ATTENTION,
        "EFFICIENT": SDPBackend.EFFICIENT_ATTENTION,
        "CUDNN": SDPBackend.CUDNN_ATTENTION,
        "MATH": SDPBackend.MATH,
    }[backend]
    return lambda: sdpa_kernel([chosen])


def _rand(shape, dtype, device, seed: int) -> torch.Tensor:
    g = torch.Generator(device=device)
    g.manual_seed(seed)
    return torch.randn(shape, dtype=dtype, device=device, generator=g)


def _padded(x: torch.Tensor, width: int) -> torch.Tensor:
    """Zero-pad the last dim to width (the padded tail is exactly zero, the rest random)."""
    return x if x.shape[-1] == width else F.pad(x, (0, width - x.shape[-1]))


def build_sdpa(p: dict, device: str) -> Case:
    dtype = TORCH_DTYPES[p["dtype"]]
    B, H, Hkv, Sq, Sk = p["batch"], p["heads"], p["kv_heads"], p["q_len"], p["kv_len"]
    d, dv = p["head_dim"], p["head_dim_v"]
    width, width_v = (p["pad_to"], p["pad_to_v"]) if p["pad_to"] else (d, dv)
    # Padded calls must keep the LOGICAL scale: torch would derive 1/sqrt(width) from the tensor.
    scale = p["scale"] if p["scale"] is not None else (1.0 / math.sqrt(d) if p["pad_to"] else None)
    repeat = Hkv != H and p["gqa"] == "repeat"
    gqa_kwargs = {"enable_gqa": True} if Hkv != H and not repeat else {}
    causal = p["causal"]

    def make_logical(i: int):
        seed = 1000 * i
        q = _rand((B, H, Sq, d), dtype, device, seed)
        k = _rand((B, Hkv, Sk, d), dtype, device, seed + 1)
        v = _rand((B, Hkv, Sk, dv), dtype, device, seed + 2)
        if repeat:  # the model would store repeated K/V: expand outside the timed region
            k, v = (t.repeat_interleave(H // Hkv, dim=1) for t in (k, v))
        return q, k, v

    def make_inputs(i: int):
        q, k, v = make_logical(i)
        return _padded(q, width), _padded(k, width), _padded(v, width_v)

    def fn(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=scale, **gqa_kwargs)

    context = sdpa_backend_context(p["backend"])
    case = Case(fn, make_inputs, context)
    case.extra = {"gqa": ("enable_gqa" if gqa_kwargs else "repeat_kv" if repeat else "none")}
    if p["pad_to"]:
        case.extra.update({"physical_head_dim": width, "physical_head_dim_v": width_v, "scale": scale})

        def check() -> dict:
            q, k, v = make_inputs(0)
            with context():
                out = fn(q, k, v)[..., :dv]
            ref_backend = p["backend"]
            try:
                with context():
                    ref = fn(*make_logical(0))
            except RuntimeError:  # the unpadded shape is refused by this backend: AUTO picks one
                ref_backend = "AUTO"
                ref = fn(*make_logical(0))
            return {"max_abs_diff": (out.float() - ref.float()).abs().max().item(),
                    "reference_backend": ref_backend}

        case.check = check
    return case


def round_up(x: int, multiple: int) -> int:
    return -(-x // multiple) * multiple


def build_sdpa_hetero(p: dict, device: str) -> Case:
    """HET1: G groups of heads_per_group heads, group g with head dim d_g (K/V heads = Q heads).
    per_group_raw: G calls at d_g; per_group_padded: G calls at round_up(d_g, pad_multiple);
    single_padded: one call over all G*heads_per_group heads at round_up(max d_g, pad_multiple),
    concatenated outside the timed region (a repaired model would store them so). Each group keeps
    its logical scale 1/sqrt(d_g): q is pre-multiplied by it and every call uses scale=1."""
    dtype = TORCH_DTYPES[p["dtype"]]
    B, Sq, Sk, hpg = p["batch"], p["q_len"], p["kv_len"], p["heads_per_group"]
    dims, mode, mult, causal = p["group_head_dims"], p["mode"], p["pad_multiple"], p["causal"]
    if mode == "per_group_raw":
        widths = list(dims)
    elif mode == "per_group_padded":
        widths = [round_up(d, mult) for d in dims]
    else:
        widths = [round_up(max(dims), mult)] * len(dims)

    def make_inputs(i: int):
        groups = []
        for g, (d, w) in enumerate(zip(dims, widths)):
            seed = 1000 * i + 10 * g
            q = _rand((B, hpg, Sq, d), dtype, device, seed) * (1.0 / math.sqrt(d))
            k = _rand((B, hpg, Sk, d), dtype, device, seed + 1)
            v = _rand((B, hpg, Sk, d), dtype, device, seed + 2)
            groups.append(tuple(_padded(t, w) for t in (q, k, v)))
        if mode == "single_padded":
            return tuple(torch.cat([grp[j] for grp in groups], dim=1) for j in range(3))
        return tuple(t for grp in groups for t in grp)

    def fn(*tensors):
        outs = []
        for j in range(0, len(tensors), 3):
            q, k, v = tensors[j:j + 3]
            outs.append(F.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=1.0))
        return outs

    case = Case(fn, make_inputs, sdpa_backend_context(p["backend"]))
    case.extra = {"physical_head_dims": widths, "calls": 1 if mode == "single_padded" else len(dims)}
    return case


def build_gemm(p: dict, device: str) -> Case:
    dtype = TORCH_DTYPES[p["dtype"]]

    def make_inputs(i: int):
        return _rand((p["m"], p["k"]), dtype, device, 1000 * i), _rand((p["k"], p["n"]), dtype, device, 1000 * i + 1)

    return Case(torch.matmul, make_inputs)


def build_linear(p: dict, device: str) -> Case:
    dtype = TORCH_DTYPES[p["dtype"]]

    def make_inputs(i: int):
        x = _rand((p["m"], p["k"]), dtype, device, 1000 * i)
        w = _rand((p["n"], p["k"]), dtype, device, 1000 * i + 1)
        return (x, w, _rand((p["n"],), dtype, device, 1000 * i + 2)) if p["bias"] else (x, w)

    return Case(F.linear, make_inputs)


BUILDERS = {"sdpa": build_sdpa, "sdpa_hetero": build_sdpa_hetero, "gemm": build_gemm, "linear": build_linear}


def build(op: str, params: dict, device: str) -> Case:
    if op not in BUILDERS:
        raise JobError("bad_job", f"op {op!r} has no builder")
    return BUILDERS[op](params, device)


def kernel_names(case: Case) -> list[str]:
    """CUDA kernels (and memsets/copies) one call launches, in launch order, deduplicated."""
    from torch.profiler import ProfilerActivity, profile

    import warnings

    inputs = case.make_inputs(0)
    with warnings.catch_warnings(), case.context():
        warnings.simplefilter("ignore")  # the profiler's own notices are not the job's warnings
        case.fn(*inputs)  # first-call work (handles, autotuning) stays out of the profile
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            case.fn(*inputs)
            torch.cuda.synchronize()
    timed = sorted(
        (getattr(getattr(e, "time_range", None), "start", 0), e.name)
        for e in prof.events() if _is_device_event(e)
    )
    names: list[str] = []
    for _, name in timed:
        if name not in names:
            names.append(name)
    return names


def _is_device_event(event) -> bool:
    device_type = getattr(event, "device_type", None)
    return device_type is not None and str(device_type).endswith("CUDA")
