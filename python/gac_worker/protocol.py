"""Protocol parsing and validation (pure; no torch). docs/worker-protocol.md is the contract.

Every incoming line becomes a Job, Cancel or Shutdown, or raises JobError('bad_job') with a message
that names the field, the value and the rule. Parameters are checked against one table per op,
unknown fields included, so a typo in a suite never silently measures the default.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Optional, Union

PROTOCOL_VERSION = 1

ERROR_TYPES = ("backend_refused", "oom", "bad_job", "cancelled", "internal", "unsupported")
DTYPES = ("fp16", "bf16", "fp32")
BACKENDS = ("AUTO", "FLASH", "EFFICIENT", "CUDNN", "MATH")
HETERO_MODES = ("per_group_raw", "per_group_padded", "single_padded")
GQA_MODES = ("native", "repeat")

# Largest accepted size of any dimension: 2^24. Real shapes are far below it (seq 1M, hidden 64k);
# it keeps products of four dims inside int64 and turns a typo like 4096000000 into bad_job
# instead of an allocation attempt.
MAX_DIM = 1 << 24
# Largest accepted head dim: 1024. Every SDPA backend stops at 256 today; MATH goes further.
MAX_HEAD_DIM = 1024
# At most 256 groups in sdpa_hetero: one per KV head of the largest model we know of is < 256.
MAX_HETERO_GROUPS = 256
# A job id is echoed back verbatim; 200 characters is plenty for "S1/head_dim=107/...".
MAX_ID_CHARS = 200


class JobError(Exception):
    """A typed failure of one job; the session reports it and goes on."""

    def __init__(self, type_: str, message: str, *, warnings: Optional[list[str]] = None):
        assert type_ in ERROR_TYPES, type_
        super().__init__(message)
        self.type = type_
        self.message = message
        self.warnings = warnings or []

    def to_json(self) -> dict:
        out: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.warnings:
            out["warnings"] = self.warnings
        return out


# ---- parameter table -------------------------------------------------------------------------

@dataclass(frozen=True)
class Field:
    kind: str  # "int" | "float" | "bool" | "enum" | "int_list"
    required: bool = False
    default: Any = None
    min: Optional[float] = None
    max: Optional[float] = None
    choices: tuple = ()


def _int(required=False, default=None, min=1, max=MAX_DIM):
    return Field("int", required, default, min, max)


SDPA_COMMON = {
    "batch": _int(True),
    "q_len": _int(True),
    "kv_len": _int(),  # default: q_len
    "dtype": Field("enum", True, choices=DTYPES),
    "causal": Field("bool", default=False),
    "backend": Field("enum", default="AUTO", choices=BACKENDS),
    "profile_kernels": Field("bool", default=False),
}

PARAMS: dict[str, dict[str, Field]] = {
    "sdpa": {
        **SDPA_COMMON,
        "heads": _int(True),
        "kv_heads": _int(),  # default: heads
        "head_dim": _int(True, max=MAX_HEAD_DIM),
        "head_dim_v": _int(max=MAX_HEAD_DIM),  # default: head_dim
        "scale": Field("float", min=0.0),
        "pad_to": _int(max=MAX_HEAD_DIM),
        "pad_to_v": _int(max=MAX_HEAD_DIM),
        "gqa": Field("enum", default="native", choices=GQA_MODES),
    },
    "sdpa_hetero": {
        **SDPA_COMMON,
        "group_head_dims": Field("int_list", True, min=1, max=MAX_HEAD_DIM),
        "heads_per_group": _int(default=1),
        "mode": Field("enum", True, choices=HETERO_MODES),
        "pad_multiple": _int(default=8, max=256),
    },
    "gemm": {
        "m": _int(True), "n": _int(True), "k": _int(True),
        "dtype": Field("enum", True, choices=DTYPES),
        "profile_kernels": Field("bool", default=False),
    },
    "linear": {
        "m": _int(True), "n": _int(True), "k": _int(True),
        "dtype": Field("enum", True, choices=DTYPES),
        "bias": Field("bool", default=False),
        "profile_kernels": Field("bool", default=False),
    },
}

# Method overrides a job may carry ("method": {...}); defaults live in method.MethodConfig.
METHOD_FIELDS: dict[str, Field] = {
    "min_samples": _int(min=1, max=100_000),
    "max_samples": _int(min=1, max=100_000),
    "min_gpu_time_s": Field("float", min=0.0, max=600.0),
    "target_rel_ci": Field("float", min=0.0, max=1.0),
    "max_wall_s": Field("float", min=0.0, max=600.0),
    "warmup_min_count": _int(min=0, max=100_000),
    "warmup_min_ms": Field("float", min=0.0, max=60_000.0),
    "throttle_threshold": Field("float", min=0.0, max=1.0),
    "flush_l2": Field("bool"),
    "rotate_inputs": Field("bool"),
    "block_launch": Field("bool"),
}


def _check_value(where: str, name: str, spec: Field, value: Any) -> Any:
    def bad(rule: str) -> JobError:
        return JobError("bad_job", f"{where}.{name} = {json.dumps(value)}: {rule}")

    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise bad("must be true or false")
        return value
    if spec.kind == "enum":
        if value not in spec.choices:
            raise bad("must be one of " + ", ".join(spec.choices))
        return value
    if spec.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("must be an integer")
        _check_range(value, spec, bad)
        return value
    if spec.kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise bad("must be a finite number")
        _check_range(value, spec, bad)
        return float(value)
    if spec.kind == "int_list":
        if not isinstance(value, list) or not value:
            raise bad("must be a non-empty list of integers")
        if len(value) > MAX_HETERO_GROUPS:
            raise bad(f"has {len(value)} entries, at most {MAX_HETERO_GROUPS} are accepted")
        for item in value:
            if isinstance(item, bool) or not isinstance(item, int):
                raise bad("must be a non-empty list of integers")
            _check_range(item, spec, bad)
        return list(value)
    raise AssertionError(spec.kind)


def _check_range(value, spec: Field, bad) -> None:
    if spec.min is not None and value < spec.min:
        raise bad(f"must be >= {_num(spec.min)}")
    if spec.max is not None and value > spec.max:
        raise bad(f"must be <= {_num(spec.max)}")


def validate_fields(where: str, table: dict[str, Field], raw: Any, *, fill_defaults: bool) -> dict:
    if not isinstance(raw, dict):
        raise JobError("bad_job", f"{where} must be an object")
    unknown = sorted(set(raw) - set(table))
    if unknown:
        raise JobError(
            "bad_job", f"{where} has unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(table))}"
        )
    out = {}
    for name, spec in table.items():
        if name in raw and raw[name] is not None:
            out[name] = _check_value(where, name, spec, raw[name])
        elif spec.required:
            raise JobError("bad_job", f"{where}.{name} is required")
        elif fill_defaults:
            out[name] = spec.default
    return out


def validate_params(op: str, raw: Any) -> dict:
    """Checked parameters with every default filled in (derived defaults included)."""
    from .e2e.params import E2E_OPS, validate_e2e

    if op in E2E_OPS:
        return validate_e2e(op, raw)
    if op not in PARAMS:
        raise JobError("bad_job", f"op {json.dumps(op)} is unknown; known: {', '.join([*PARAMS, *E2E_OPS])} (and shutdown)")
    p = validate_fields("params", PARAMS[op], raw, fill_defaults=True)
    if op in ("sdpa", "sdpa_hetero") and p["kv_len"] is None:
        p["kv_len"] = p["q_len"]
    if op == "sdpa":
        if p["kv_heads"] is None:
            p["kv_heads"] = p["heads"]
        if p["heads"] % p["kv_heads"] != 0:
            raise JobError("bad_job", f"params.heads = {p['heads']} is not a multiple of kv_heads = {p['kv_heads']} (GQA needs whole groups)")
        if p["head_dim_v"] is None:
            p["head_dim_v"] = p["head_dim"]
        if p["pad_to_v"] is not None and p["pad_to"] is None:
            raise JobError("bad_job", "params.pad_to_v needs pad_to")
        if p["pad_to"] is not None:
            if p["pad_to"] < p["head_dim"]:
                raise JobError("bad_job", f"params.pad_to = {p['pad_to']} is below head_dim = {p['head_dim']}: padding cannot shrink")
            if p["pad_to_v"] is None:
                p["pad_to_v"] = p["pad_to"] if p["head_dim_v"] == p["head_dim"] else p["head_dim_v"]
            if p["pad_to_v"] < p["head_dim_v"]:
                raise JobError("bad_job", f"params.pad_to_v = {p['pad_to_v']} is below head_dim_v = {p['head_dim_v']}")
    return p


# ---- messages ------------------------------------------------------------------------------

JobId = Union[str, int]


@dataclass(frozen=True)
class Job:
    id: JobId
    op: str
    params: dict
    method: dict = field(default_factory=dict)  # overrides only; MethodConfig fills the rest


@dataclass(frozen=True)
class Cancel:
    id: JobId


@dataclass(frozen=True)
class Shutdown:
    pass


Message = Union[Job, Cancel, Shutdown]


def _job_id(raw: dict) -> JobId:
    if "id" not in raw:
        raise JobError("bad_job", "id is required")
    job_id = raw["id"]
    if isinstance(job_id, bool) or not isinstance(job_id, (str, int)):
        raise JobError("bad_job", f"id = {json.dumps(job_id)}: must be a string or an integer")
    if isinstance(job_id, str) and not 0 < len(job_id) <= MAX_ID_CHARS:
        raise JobError("bad_job", f"id has {len(job_id)} characters; 1 to {MAX_ID_CHARS} are accepted")
    return job_id


def peek_id(line: str) -> Optional[JobId]:
    """The id of a line that failed validation, when one can be read, so its error carries it."""
    try:
        raw = json.loads(line)
        return _job_id(raw) if isinstance(raw, dict) else None
    except (ValueError, JobError):
        return None


def parse_message(line: str) -> Message:
    try:
        raw = json.loads(line)
    except ValueError as e:
        raise JobError("bad_job", f"line is not JSON: {e}") from None
    if not isinstance(raw, dict):
        raise JobError("bad_job", "a message must be a JSON object")
    kind = raw.get("type")
    # {"type":"job","op":"shutdown"} is accepted as well as {"type":"shutdown"}.
    if kind == "shutdown" or (kind == "job" and raw.get("op") == "shutdown"):
        return Shutdown()
    if kind == "cancel":
        return Cancel(_job_id(raw))
    if kind != "job":
        raise JobError("bad_job", f"type = {json.dumps(kind)}: must be job, cancel or shutdown")
    job_id = _job_id(raw)
    unknown = sorted(set(raw) - {"type", "id", "op", "params", "method"})
    if unknown:
        raise JobError("bad_job", f"job has unknown field(s) {', '.join(unknown)}")
    op = raw.get("op")
    params = validate_params(op, raw.get("params", {}))
    method = validate_fields("method", METHOD_FIELDS, raw.get("method", {}), fill_defaults=False)
    return Job(job_id, op, params, method)


def dumps(message: dict) -> str:
    """One line of JSON; NaN/inf are refused here so a bug cannot emit invalid JSON."""
    return json.dumps(message, allow_nan=False, separators=(",", ":"))


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)
