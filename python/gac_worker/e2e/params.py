"""Validation of the e2e ops' parameters (pure; no torch). A bad field is a bad_job naming it."""
from __future__ import annotations

import json
from typing import Any

from ..protocol import JobError, MAX_DIM

E2E_OPS = ("e2e", "e2e_logits")
ENGINES = ("transformers", "gac")
# The gac engine's configurations: decode eager or captured in a CUDA graph, its decode attention,
# and the SDPA setting the job runs under (run.py reads them).
GAC_CONFIGS = {
    "eager": {"graph": False, "attention": "sdpa", "sdpa": "sdpa"},
    "eager-nocudnn": {"graph": False, "attention": "sdpa", "sdpa": "sdpa-nocudnn"},
    "graph": {"graph": True, "attention": "sdpa", "sdpa": "sdpa"},
    "graph-splitkv": {"graph": True, "attention": "splitkv", "sdpa": "sdpa"},
}
CONFIGS = {"transformers": ("sdpa", "sdpa-nocudnn", "sdpa-avoid-recompile", "eager"), "gac": tuple(GAC_CONFIGS)}
CACHES = ("dynamic", "static")
SERVING_DTYPES = ("bf16", "fp16")
WEIGHTS = ("checkpoint", "random")
# A model description carries a ModelSpec of up to a few thousand WeightRefs; 16 MiB of JSON is
# far above the largest real one (a 126-layer PaLU spec is ~3 MB) and below the line limit.
MAX_GRID_POINTS = 64
MAX_STEPS = 4096


def _bad(msg: str) -> JobError:
    return JobError("bad_job", msg)


def _obj(where: str, v: Any) -> dict:
    if not isinstance(v, dict):
        raise _bad(f"{where} must be an object")
    return v


def _int(where: str, v: Any, lo: int = 1, hi: int = MAX_DIM) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise _bad(f"{where} = {json.dumps(v)}: must be an integer in [{lo}, {hi}]")
    return v


def _enum(where: str, v: Any, choices: tuple) -> str:
    if v not in choices:
        raise _bad(f"{where} = {json.dumps(v)}: must be one of {', '.join(choices)}")
    return v


def _known(where: str, raw: dict, allowed: set) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise _bad(f"{where} has unknown field(s) {', '.join(unknown)}")


def validate_model(where: str, raw: Any) -> dict:
    m = _obj(where, raw)
    _known(where, m, {"label", "spec", "hf_config", "checkpoint", "weights", "attention_scale", "base"})
    weights = _enum(f"{where}.weights", m.get("weights", "random"), WEIGHTS)
    spec = _obj(f"{where}.spec", m.get("spec"))
    for key in ("family", "layers", "hiddenSize", "vocabSize", "embedTokens", "lmHead", "finalNorm", "rope"):
        if key not in spec:
            raise _bad(f"{where}.spec.{key} is required (a ModelSpec as src/model/types.ts writes it)")
    checkpoint = m.get("checkpoint")
    if weights == "checkpoint" and not isinstance(checkpoint, str):
        raise _bad(f"{where}.checkpoint must be a directory when weights = checkpoint")
    scale = m.get("attention_scale")
    if scale is not None and (isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 < scale < 10):
        raise _bad(f"{where}.attention_scale = {json.dumps(scale)}: must be a number in (0, 10) or null")
    base = m.get("base")
    if base is not None:
        b = _obj(f"{where}.base", base)
        _known(f"{where}.base", b, {"spec", "edits"})
        _obj(f"{where}.base.spec", b.get("spec"))
        if not isinstance(b.get("edits"), list):
            raise _bad(f"{where}.base.edits must be a list of TensorEdits")
    hf = m.get("hf_config")
    if hf is not None:
        _obj(f"{where}.hf_config", hf)
    return {"label": str(m.get("label", "model")), "spec": spec, "hf_config": hf, "checkpoint": checkpoint,
            "weights": weights, "attention_scale": scale, "base": base}


def _points(where: str, raw: Any, second: str) -> list[dict]:
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > MAX_GRID_POINTS:
        raise _bad(f"{where} must be a list of at most {MAX_GRID_POINTS} points")
    out = []
    for i, p in enumerate(raw):
        p = _obj(f"{where}[{i}]", p)
        _known(f"{where}[{i}]", p, {"batch", second})
        out.append({"batch": _int(f"{where}[{i}].batch", p.get("batch"), 1, 4096),
                    second: _int(f"{where}[{i}].{second}", p.get(second), 1, 1 << 20)})
    return out


def validate_e2e(op: str, raw: Any) -> dict:
    p = _obj("params", raw if raw is not None else {})
    if op == "e2e":
        _known("params", p, {"model", "engine", "config", "cache", "dtype", "seed", "prefill", "decode",
                             "prefill_repeats", "decode_steps", "warmup", "profile_kernels"})
        engine = _enum("params.engine", p.get("engine"), ENGINES)
        config = _enum("params.config", p.get("config"), CONFIGS[engine])
        cache = _enum("params.cache", p.get("cache", "static" if engine == "gac" else "dynamic"), CACHES)
        if engine == "gac" and cache != "static":
            raise _bad("params.cache: the gac engine always decodes into a static (preallocated) cache")
        out = {
            "model": validate_model("params.model", p.get("model")),
            "engine": engine, "config": config, "cache": cache,
            "dtype": _enum("params.dtype", p.get("dtype", "bf16"), SERVING_DTYPES),
            "seed": _int("params.seed", p.get("seed", 0), 0, 2**31 - 1),
            "prefill": _points("params.prefill", p.get("prefill"), "seq"),
            "decode": _points("params.decode", p.get("decode"), "context"),
            "prefill_repeats": _int("params.prefill_repeats", p.get("prefill_repeats", 10), 1, 1000),
            "decode_steps": _int("params.decode_steps", p.get("decode_steps", 16), 1, MAX_STEPS),
            "warmup": _int("params.warmup", p.get("warmup", 2), 0, 100),
            "profile_kernels": bool(p.get("profile_kernels", True)),
        }
        if not out["prefill"] and not out["decode"]:
            raise _bad("params: give at least one prefill or decode point")
        return out
    _known("params", p, {"original", "repaired", "engines", "batch", "seq", "dtype", "seed", "decode_paths"})
    if not isinstance(p.get("decode_paths", False), bool):
        raise _bad("params.decode_paths must be true or false")
    engines = p.get("engines", list(ENGINES))
    if not isinstance(engines, list) or not engines:
        raise _bad("params.engines must be a non-empty list")
    return {
        "original": validate_model("params.original", p.get("original")),
        "repaired": validate_model("params.repaired", p.get("repaired")),
        "engines": [_enum("params.engines[]", e, ENGINES) for e in engines],
        "batch": _int("params.batch", p.get("batch", 1), 1, 64),
        "seq": _int("params.seq", p.get("seq", 512), 1, 32768),
        "dtype": _enum("params.dtype", p.get("dtype", "bf16"), SERVING_DTYPES),
        "seed": _int("params.seed", p.get("seed", 0), 0, 2**31 - 1),
        "decode_paths": p.get("decode_paths", False),
    }
