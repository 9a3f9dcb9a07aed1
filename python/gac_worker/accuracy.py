"""Accuracy on the GPU: perplexity (op "eval") and original-vs-repaired logits (op "verify").

Run as ``python3 -m gac_worker.accuracy <job.json>``; the job is written by gac
(src/accuracy/job.ts, schema gac-accuracy-job/1). gac resolves the layout: the ModelSpec (tensor
names and factor structure, per-layer shapes), each layer's softmax scale, RoPE inverse frequencies
per head_dim, the evaluation windows and a repair's tensor edits. This module only executes them:
a compact Llama-family forward (dense, PaLU grouped and ASVD/SVD-LLM low-rank linears; HF's
LlamaRMSNorm, rotate_half RoPE, repeat_kv GQA, SDPA, SiLU MLP) in float64, float32 (TF32 off, MATH
attention backend) or bfloat16 (PyTorch's own SDPA kernel choice, as served).

Output: JSON lines on stdout, never prose:
  {"event": "progress", "message": ...}
  {"event": "result", ...}                    one per (model, precision) for eval, one for verify
  {"event": "error", "kind": "no_torch"|"no_gpu"|"failed", "message": ...}

The pure parts (layouts, shapes, seeds, window batches, difference figures on plain lists) import
no torch and are unit-tested in python/tests/test_accuracy.py.
"""
from __future__ import annotations

import json
import math
import os
import sys
import time
import traceback
import zlib
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

JOB_SCHEMA = "gac-accuracy-job/1"
STORAGE_DTYPES = ("F64", "F32", "F16", "BF16")


def emit(obj: dict) -> None:
    print(json.dumps(obj), flush=True)


def progress(message: str) -> None:
    emit({"event": "progress", "message": message})


# ---------------------------------------------------------------- pure helpers (no torch)

def layout_destinations(layout: dict) -> List[int]:
    """Destination index of every source index of a PadLayout (src/repair/rules/layout.ts)."""
    dst: List[Optional[int]] = [None] * layout["from"]
    for run in layout["runs"]:
        for t in range(run["len"]):
            dst[run["src"] + t] = run["dst"] + t
    if any(d is None for d in dst):
        raise ValueError(f"layout {layout['from']}->{layout['to']} leaves source indices unplaced")
    if any(d >= layout["to"] for d in dst):  # type: ignore[operator]
        raise ValueError(f"layout {layout['from']}->{layout['to']} places an index past the end")
    return dst  # type: ignore[return-value]


def ref_names(ref: dict) -> List[Tuple[str, List[int], str]]:
    """(name, shape, role) of one WeightRef: the [out, in] weight and its optional [out] bias."""
    out = [(ref["tensor"], [ref["out"], ref["in"]], "weight")]
    if ref.get("bias"):
        out.append((ref["bias"], [ref["out"]], "bias"))
    return out


def linear_refs(lin: dict) -> List[dict]:
    if lin["kind"] == "dense":
        return [lin["weight"]]
    if lin["kind"] == "lowrank":
        return [lin["first"], lin["second"]]
    return [lin["first"], *lin["groups"]]


def spec_tensors(spec: dict) -> Dict[str, Tuple[List[int], str]]:
    """Every tensor the forward reads: name -> (shape, role), role in weight|bias|norm|embedding."""
    h, v = spec["hiddenSize"], spec["vocabSize"]
    out: Dict[str, Tuple[List[int], str]] = {
        spec["embedTokens"]: ([v, h], "embedding"),
        spec["finalNorm"]: ([h], "norm"),
    }
    out.setdefault(spec["lmHead"], ([v, h], "weight"))
    for layer in spec["layers"]:
        out[layer["inputNorm"]] = ([h], "norm")
        out[layer["postAttentionNorm"]] = ([h], "norm")
        a, m = layer["attn"], layer["mlp"]
        for lin in (a["q"], a["k"], a["v"], a["o"], m["gate"], m["up"], m["down"]):
            for ref in linear_refs(lin):
                for name, shape, role in ref_names(ref):
                    out[name] = (shape, role)
    return out


def tensor_seed(seed: int, name: str) -> int:
    """A seed per tensor: the same job seed gives the same weights on every machine."""
    return (seed * 1_000_003 + zlib.crc32(name.encode("utf8"))) % (2 ** 62)


def window_batches(windows: Sequence[Sequence[int]], size: int) -> List[List[Sequence[int]]]:
    """Consecutive windows of one length, at most `size` per batch (cpu-perplexity.ts batches alike)."""
    batches: List[List[Sequence[int]]] = []
    for w in windows:
        if batches and len(batches[-1]) < size and batches[-1][0][1] == w[1]:
            batches[-1].append(w)
        else:
            batches.append([w])
    return batches


def diff_figures(max_abs_diff: float, max_abs_original: float, sum_abs_diff: float, count: int,
                 argmax_agree: int, rows: int) -> dict:
    """The figures of src/verify/compare.ts, snake_case: max |a-b| / max |a| with a the first side."""
    if max_abs_original == 0:
        rel = 0.0 if max_abs_diff == 0 else math.inf
    else:
        rel = max_abs_diff / max_abs_original
    return {"count": count, "max_abs_diff": max_abs_diff, "max_rel_diff": rel, "mean_abs_diff": sum_abs_diff / max(count, 1),
            "max_abs_original": max_abs_original, "argmax_agree": argmax_agree, "rows": rows}


def check_job(job: Any) -> dict:
    if not isinstance(job, dict) or job.get("schema") != JOB_SCHEMA:
        raise ValueError(f"not a {JOB_SCHEMA} job")
    if job.get("op") not in ("eval", "verify"):
        raise ValueError(f"unknown op {job.get('op')!r}")
    models = job.get("models")
    if not isinstance(models, list) or not models:
        raise ValueError("the job has no models")
    for i, m in enumerate(models):
        src = m["weights"]["source"]
        if src not in ("checkpoint", "random", "derived"):
            raise ValueError(f"model {i}: unknown weight source {src!r}")
        if src == "derived" and not 0 <= m["weights"]["from"] < i:
            raise ValueError(f"model {i} derives from model {m['weights']['from']}, which does not come before it")
        if src == "random" and m["weights"]["dtype"] not in STORAGE_DTYPES:
            raise ValueError(f"model {i}: random weights cannot be stored as {m['weights']['dtype']}")
    return job


# ---------------------------------------------------------------- torch


def _torch():
    import torch  # noqa: F401  (imported here so the pure parts above run without it)
    return torch


def torch_dtype(torch, name: str):
    return {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
            "float64": torch.float64, "float32": torch.float32, "bfloat16": torch.bfloat16}[name]


def strict_fp32(torch) -> None:
    """fp32 means IEEE fp32: TF32 off in cuBLAS and cuDNN (torch 2.9+ names it fp32_precision; the
    legacy allow_tf32 flags are for older versions, and mixing the two APIs is refused by torch)."""
    try:
        torch.backends.cuda.matmul.fp32_precision = "ieee"
        torch.backends.cudnn.fp32_precision = "ieee"
    except AttributeError:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.set_float32_matmul_precision("highest")


def load_checkpoint_tensors(torch, directory: str, names: Sequence[str], device) -> Dict[str, Any]:
    from safetensors import safe_open

    index = os.path.join(directory, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            weight_map = json.load(f)["weight_map"]
    else:
        weight_map = {n: "model.safetensors" for n in names}
    by_file: Dict[str, List[str]] = {}
    for n in names:
        if n not in weight_map:
            raise ValueError(f"tensor {n!r} is not in {directory}")
        by_file.setdefault(weight_map[n], []).append(n)
    out: Dict[str, Any] = {}
    for file, file_names in by_file.items():
        with safe_open(os.path.join(directory, file), framework="pt", device="cpu") as f:
            for n in file_names:
                out[n] = f.get_tensor(n).to(device)
    return out


def random_tensors(torch, spec: dict, seed: int, dtype, device) -> Dict[str, Any]:
    """Normal draws that keep activations O(1) through the layers: weights std 1/sqrt(in), norms
    1 + 0.1 N(0,1), biases 0.1 N(0,1), embeddings N(0,1)."""
    out: Dict[str, Any] = {}
    for name, (shape, role) in spec_tensors(spec).items():
        g = torch.Generator(device=device)
        g.manual_seed(tensor_seed(seed, name))
        x = torch.randn(shape, generator=g, device=device, dtype=torch.float32)
        if role == "weight":
            x = x / math.sqrt(shape[1])
        elif role == "norm":
            x = 1 + 0.1 * x
        elif role == "bias":
            x = 0.1 * x
        out[name] = x.to(dtype)
    return out


def apply_edit(torch, t, edit: dict, unrounded: bool = False):
    """The tensor gac repair writes for `edit` (src/repair/tensor-edits.ts): values x scale, rounded
    to the stored dtype (unrounded=True keeps the product in fp32 instead), then zeros placed by the
    row and column PadLayouts."""
    x = t
    if edit.get("scale") is not None:
        x = t.float() * edit["scale"] if unrounded else (t.double() * edit["scale"]).to(t.dtype)
    if list(x.shape) != list(edit["from"]):
        raise ValueError(f"{edit['tensor']}: edit expects {edit['from']}, tensor is {list(x.shape)}")
    if edit.get("rows") is None and edit.get("cols") is None:
        return x
    out = torch.zeros(edit["to"], dtype=x.dtype, device=x.device)
    rows = torch.tensor(layout_destinations(edit["rows"]) if edit.get("rows") else list(range(x.shape[0])), device=x.device)
    if x.dim() == 1:
        out[rows] = x
    else:
        cols = torch.tensor(layout_destinations(edit["cols"]) if edit.get("cols") else list(range(x.shape[1])), device=x.device)
        out[rows[:, None], cols[None, :]] = x
    return out


class Model:
    """One job model: its spec, per-layer scales, RoPE frequencies and weights (stored dtype, on GPU)."""

    def __init__(self, torch, job_model: dict, weights: Dict[str, Any], device):
        self.torch = torch
        self.spec = job_model["spec"]
        self.label = job_model["label"]
        self.scales = job_model["attention_scale"]
        self.inv_freq = {int(k): v for k, v in job_model["inv_freq"].items()}
        self.weights = weights
        self.device = device
        self.overrides: Dict[str, Any] = {}

    def w(self, name: str, dtype):
        t = self.overrides.get(name)
        if t is None:
            t = self.weights[name]
        return t.to(dtype)

    def params(self) -> int:
        return sum(t.numel() for t in self.weights.values())


def build_models(torch, job: dict, device) -> List[Model]:
    models: List[Model] = []
    for i, jm in enumerate(job["models"]):
        src = jm["weights"]
        names = list(spec_tensors(jm["spec"]).keys())
        t0 = time.time()
        if src["source"] == "checkpoint":
            weights = load_checkpoint_tensors(torch, jm["dir"], names, device)
        elif src["source"] == "random":
            weights = random_tensors(torch, jm["spec"], src["seed"], torch_dtype(torch, src["dtype"]), device)
        else:
            base = models[src["from"]].weights
            edits = {e["tensor"]: e for e in src["edits"]}
            weights = {n: (apply_edit(torch, base[n], edits[n]) if n in edits else base[n]) for n in names}
        models.append(Model(torch, jm, weights, device))
        gb = sum(t.numel() * t.element_size() for t in weights.values()) / 1e9
        progress(f"model {i} ({jm['label']}): {src['source']} weights, {gb:.2f} GB, {time.time() - t0:.1f} s")
    return models


def rms_norm(torch, x, w, eps: float):
    """HF LlamaRMSNorm: statistics in float32 (float64 for float64), then weight * x in x's dtype."""
    acc = torch.float64 if x.dtype == torch.float64 else torch.float32
    y = x.to(acc)
    y = y * torch.rsqrt(y.pow(2).mean(-1, keepdim=True) + eps)
    return w * y.to(x.dtype)


def linear(torch, model: Model, lin: dict, x, dtype):
    F = torch.nn.functional

    def ref(r, inp):
        return F.linear(inp, model.w(r["tensor"], dtype), model.w(r["bias"], dtype) if r.get("bias") else None)

    if lin["kind"] == "dense":
        return ref(lin["weight"], x)
    if lin["kind"] == "lowrank":
        return ref(lin["second"], ref(lin["first"], x))
    latent = ref(lin["first"], x)
    outs, off = [], 0
    for g, r in zip(lin["ranks"], lin["groups"]):
        outs.append(ref(r, latent[..., off:off + g]))
        off += g
    return torch.cat(outs, dim=-1)


def rope_tables(torch, inv_freq: Sequence[float], seq: int, dtype, device):
    inv = torch.tensor(inv_freq, dtype=torch.float64, device=device)
    pos = torch.arange(seq, dtype=torch.float64, device=device)
    freqs = torch.outer(pos, inv)
    emb = torch.cat([freqs, freqs], dim=-1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


def rotate_half(torch, x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def attention(torch, model: Model, layer: dict, x, dtype, rope_cache: dict):
    a = layer["attn"]
    B, S, _ = x.shape
    H, KV, d, dv = a["numHeads"], a["numKvHeads"], a["headDim"], a["headDimV"]
    q = linear(torch, model, a["q"], x, dtype).view(B, S, H, d).transpose(1, 2)
    k = linear(torch, model, a["k"], x, dtype).view(B, S, KV, d).transpose(1, 2)
    v = linear(torch, model, a["v"], x, dtype).view(B, S, KV, dv).transpose(1, 2)
    key = (d, S)
    if key not in rope_cache:
        rope_cache[key] = rope_tables(torch, model.inv_freq[d], S, dtype, x.device)
    cos, sin = rope_cache[key]
    q = q * cos + rotate_half(torch, q) * sin
    k = k * cos + rotate_half(torch, k) * sin
    if H != KV:
        k = k.repeat_interleave(H // KV, dim=1)
        v = v.repeat_interleave(H // KV, dim=1)
    scale = model.scales[layer["index"]]
    F = torch.nn.functional
    if dtype == torch.bfloat16 or dtype == torch.float16:
        ctx = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=scale)
    else:
        from torch.nn.attention import SDPBackend, sdpa_kernel

        with sdpa_kernel(SDPBackend.MATH):
            ctx = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=scale)
    ctx = ctx.transpose(1, 2).reshape(B, S, H * dv)
    return linear(torch, model, a["o"], ctx, dtype)


def forward_logits(torch, model: Model, ids, dtype):
    """ids [B, S] -> logits [B, S, vocab] in `dtype`."""
    spec = model.spec
    eps = spec["rmsNormEps"]
    h = model.weights[spec["embedTokens"]][ids].to(dtype)
    rope_cache: dict = {}
    F = torch.nn.functional
    for layer in spec["layers"]:
        n = rms_norm(torch, h, model.w(layer["inputNorm"], dtype), eps)
        h = h + attention(torch, model, layer, n, dtype, rope_cache)
        n = rms_norm(torch, h, model.w(layer["postAttentionNorm"], dtype), eps)
        m = layer["mlp"]
        act = F.silu(linear(torch, model, m["gate"], n, dtype)) * linear(torch, model, m["up"], n, dtype)
        h = h + linear(torch, model, m["down"], act, dtype)
    h = rms_norm(torch, h, model.w(spec["finalNorm"], dtype), eps)
    return F.linear(h, model.w(spec["lmHead"], dtype))


# ---------------------------------------------------------------- ops


def run_eval(torch, job: dict, device) -> None:
    text = job["text"]
    with open(text["path"], "rb") as f:
        f.seek(text["byte_offset"])
        data = f.read(text["byte_length"])
    if len(data) != text["byte_length"]:
        raise ValueError(f"{text['path']} has {len(data)} bytes from {text['byte_offset']}, the job expects {text['byte_length']}")
    tokens = torch.tensor(list(data), dtype=torch.long, device=device)
    batches = window_batches(job["windows"], job["batch_windows"])
    models = build_models(torch, job, device)
    for mi, model in enumerate(models):
        for precision in job["precisions"]:
            dtype = torch_dtype(torch, precision)
            acc = torch.float64 if dtype == torch.float64 else torch.float32
            t0 = time.time()
            nll = torch.zeros((), dtype=torch.float64, device=device)
            targets = 0
            with torch.no_grad():
                for batch in batches:
                    length = batch[0][1]
                    ids = torch.stack([tokens[s:s + length] for s, _, _ in batch])
                    nxt = torch.stack([tokens[s + 1:s + 1 + length] for s, _, _ in batch])
                    logp = torch.log_softmax(forward_logits(torch, model, ids, dtype).to(acc), dim=-1)
                    picked = logp.gather(-1, nxt.unsqueeze(-1)).squeeze(-1)
                    for b, (_, _, score_from) in enumerate(batch):
                        nll -= picked[b, score_from:].double().sum()
                        targets += length - score_from
            torch.cuda.synchronize()
            emit({"event": "result", "op": "eval", "model": mi, "label": model.label, "precision": precision,
                  "nll": float(nll.item()), "targets": targets, "seconds": time.time() - t0,
                  "gpu": torch.cuda.get_device_name(device), "torch": torch.__version__})


def tensor_diff(torch, a, b) -> dict:
    """Figures of b against a ([rows, vocab] logits), computed in float64."""
    a = a.reshape(-1, a.shape[-1]).double()
    b = b.reshape(-1, b.shape[-1]).double()
    d = (a - b).abs()
    agree = int((a.argmax(-1) == b.argmax(-1)).sum().item())
    max_abs = float(d.max().item()) if not torch.isnan(d).any() else math.nan
    return diff_figures(max_abs, float(a.abs().max().item()), float(d.sum().item()), a.numel(), agree, a.shape[0])


def weights_check(torch, original: Model, repaired: Model, edits: List[dict]) -> dict:
    """Are the repaired tensors the original's, edited as gac repair edits them? Bitwise per tensor."""
    by_name = {e["tensor"]: e for e in edits}
    identical, differing = 0, []
    for name, t in repaired.weights.items():
        want = apply_edit(torch, original.weights[name], by_name[name]) if name in by_name else original.weights[name]
        if list(want.shape) == list(t.shape) and want.dtype == t.dtype and torch.equal(want, t):
            identical += 1
        else:
            n = int((want != t).sum().item()) if want.shape == t.shape else -1
            differing.append({"tensor": name, "elements_differing": n})
    return {"tensors": len(repaired.weights), "identical": identical, "differing": differing[:20], "differing_count": len(differing)}


def run_verify(torch, job: dict, device) -> None:
    original, repaired = build_models(torch, job, device)
    edits = job["edits"]
    ids = torch.tensor([job["token_ids"]], dtype=torch.long, device=device)
    serving = torch_dtype(torch, job["serving"])
    logits: Dict[str, Any] = {}
    with torch.no_grad():
        def run(key: str, model: Model, dtype) -> None:
            t0 = time.time()
            logits[key] = forward_logits(torch, model, ids, dtype).float() if dtype != torch.float64 else forward_logits(torch, model, ids, dtype)
            torch.cuda.synchronize()
            progress(f"{key}: {time.time() - t0:.2f} s")

        small = max(original.params(), repaired.params()) < 2_000_000_000
        if small:
            run("original_fp64", original, torch.float64)
            run("repaired_fp64", repaired, torch.float64)
        run("original_fp32", original, torch.float32)
        run("repaired_fp32", repaired, torch.float32)
        folded = [e for e in edits if e.get("scale") is not None]
        if folded:
            # The same repaired model with the folded products kept in fp32 (not rounded to storage).
            repaired.overrides = {e["tensor"]: apply_edit(torch, original.weights[e["tensor"]], e, unrounded=True) for e in folded}
            run("repaired_fp32_unrounded_fold", repaired, torch.float32)
            repaired.overrides = {}
        run("original_serving", original, serving)
        run("repaired_serving", repaired, serving)

    def cmp(name: str, a: str, b: str) -> dict:
        return {"name": name, "a": a, "b": b, **tensor_diff(torch, logits[a], logits[b])}

    comparisons = []
    if small:
        comparisons.append(cmp("repair_fp64", "original_fp64", "repaired_fp64"))
    comparisons.append(cmp("repair_fp32", "original_fp32", "repaired_fp32"))
    if "repaired_fp32_unrounded_fold" in logits:
        comparisons.append(cmp("repair_fp32_unrounded_fold", "original_fp32", "repaired_fp32_unrounded_fold"))
        comparisons.append(cmp("fold_storage_rounding_fp32", "repaired_fp32_unrounded_fold", "repaired_fp32"))
    comparisons.append(cmp("repair_serving", "original_serving", "repaired_serving"))
    comparisons.append(cmp("noise_floor_serving", "original_fp32", "original_serving"))
    result = {"event": "result", "op": "verify", "comparisons": comparisons, "tokens": len(job["token_ids"]),
              "serving": job["serving"], "gpu": torch.cuda.get_device_name(device), "torch": torch.__version__,
              "params": [original.params(), repaired.params()]}
    if job["models"][1]["weights"]["source"] == "checkpoint" and job["models"][0]["weights"]["source"] == "checkpoint":
        result["weights_check"] = weights_check(torch, original, repaired, edits)
    emit(result)


def main(argv: Sequence[str]) -> int:
    if len(argv) != 1:
        emit({"event": "error", "kind": "failed", "message": "usage: python3 -m gac_worker.accuracy <job.json>"})
        return 2
    try:
        with open(argv[0]) as f:
            job = check_job(json.load(f))
    except Exception as e:  # a bad job is gac's bug or a damaged file: say which
        emit({"event": "error", "kind": "failed", "message": f"cannot read the job {argv[0]}: {type(e).__name__}: {e}"})
        return 1
    try:
        torch = _torch()
    except Exception as e:
        emit({"event": "error", "kind": "no_torch", "message": f"import torch failed: {type(e).__name__}: {e}"})
        return 1
    if not torch.cuda.is_available():
        emit({"event": "error", "kind": "no_gpu", "message": "torch.cuda.is_available() is false"})
        return 1
    device = torch.device("cuda", 0)
    strict_fp32(torch)
    try:
        (run_eval if job["op"] == "eval" else run_verify)(torch, job, device)
    except Exception as e:
        traceback.print_exc(file=sys.stderr)
        emit({"event": "error", "kind": "failed", "message": f"{type(e).__name__}: {e}"})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
