"""Accuracy on the GPU: perplexity (op "eval") and original-vs-repaired logits (op "verify").

Run as ``python3 -m gac_worker.accuracy <job.json>``; the job is written by gac
(src/accuracy/job.ts, schema gac-accuracy-job/1). gac resolves the layout: the ModelSpec (tensor
names and factor structure, per-layer shapes), each layer's softmax scale, RoPE inverse frequencies
per head_dim (float64), the evaluation windows and a repair's tensor edits. This module executes
them with the e2e runner's parts (python/gac_worker/e2e/): weights read from safetensors, or drawn
per tensor on the GPU and derived through gac's TensorEdits (weights.py), and its compact forward
of every family (gac_model.py: transformers' Llama semantics, fused q|k|v and gate|up GEMMs where
the projections are dense, PyTorch's fused RMSNorm). Precisions: float64, float32 (TF32 off, SDPA's
MATH backend) and bfloat16 (PyTorch's own SDPA kernel choice, as served). The weights are held in
their storage dtype and cast for each precision, so fp32 and bf16 runs see the same values.

Output: JSON lines on stdout, never prose:
  {"event": "progress", "message": ...}
  {"event": "result", ...}                    one per (model, precision) for eval, one for verify
  {"event": "error", "kind": "no_torch"|"no_gpu"|"failed", "message": ...}

The pure parts (window batches, difference figures, job checks) import no torch and are
unit-tested in python/tests/test_accuracy.py.
"""
from __future__ import annotations

import json
import math
import sys
import time
import traceback
from typing import Any, Dict, List, Sequence

JOB_SCHEMA = "gac-accuracy-job/1"
STORAGE_DTYPES = ("F64", "F32", "F16", "BF16")
# e2e/weights.py reads and draws these; its TORCH_DTYPES names bf16/fp16/fp32 only, so the storage
# dtype is mapped here.


def emit(obj: dict) -> None:
    print(json.dumps(obj), flush=True)


def progress(message: str) -> None:
    emit({"event": "progress", "message": message})


# ---------------------------------------------------------------- pure helpers (no torch)


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
# Weights and the forward are the e2e runner's (python/gac_worker/e2e/): one reader of checkpoints,
# one way of drawing and deriving weights through TensorEdits, one compact model of every family.


def _torch():
    import torch  # noqa: F401  (imported here so the pure parts above run without it)
    return torch


def torch_dtype(torch, name: str):
    return {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
            "float64": torch.float64, "float32": torch.float32, "bfloat16": torch.bfloat16}[name]


def strict_fp32(torch) -> None:
    """fp32 means IEEE fp32: TF32 off in cuBLAS and cuDNN."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def stored_weights(torch, jm: dict, built: List[Dict[str, Any]], device: str) -> Dict[str, Any]:
    """A job model's tensors in their storage dtype, on the GPU."""
    from .e2e.weights import derive, draw_all, read_checkpoint, tensor_shapes

    src = jm["weights"]
    spec = jm["spec"]
    if src["source"] == "checkpoint":
        return read_checkpoint(jm["dir"], list(tensor_shapes(spec)), torch_dtype(torch, spec["dtype"]), device)
    if src["source"] == "random":
        return draw_all(spec, src["seed"], torch_dtype(torch, src["dtype"]), device)
    return derive(built[src["from"]], src["edits"])


def build_models(torch, job: dict, device: str) -> List[Dict[str, Any]]:
    built: List[Dict[str, Any]] = []
    for i, jm in enumerate(job["models"]):
        t0 = time.time()
        built.append(stored_weights(torch, jm, built, device))
        gb = sum(t.numel() * t.element_size() for t in built[-1].values()) / 1e9
        progress(f"model {i} ({jm['label']}): {jm['weights']['source']} weights, {gb:.2f} GB, {time.time() - t0:.1f} s")
    return built


def make_model(torch, jm: dict, tensors: Dict[str, Any], dtype, device: str):
    """The e2e runner's GacModel in `dtype` (weights upcast or kept: the same values), with the
    job's per-layer softmax scales and its float64 RoPE frequencies (src/verify/rope.ts)."""
    from .e2e.gac_model import GacModel

    class AccuracyModel(GacModel):
        def scale(self, layer):
            return jm["attention_scale"][self.layers.index(layer)]

        def tables(self, head_dim, length):
            t = self._tables.get(head_dim)
            if t is None or t[0].shape[0] < length:
                inv = torch.tensor(jm["inv_freq"][str(head_dim)], dtype=torch.float64, device=device)
                pos = torch.arange(max(length, 1), device=device, dtype=torch.float64)
                emb = torch.cat([torch.outer(pos, inv)] * 2, dim=-1)
                t = (emb.cos().to(self.dtype), emb.sin().to(self.dtype))
                self._tables[head_dim] = t
            return t

    cast = {k: v.to(dtype) for k, v in tensors.items()}
    return AccuracyModel(jm["spec"], cast, hf_config=None, attention_scale=None, device=device)


def logits_of(torch, model, ids, dtype):
    """All-position logits; float32/float64 attention through SDPA's MATH backend (no reduced-
    precision kernels), bfloat16 through PyTorch's own kernel choice, as served."""
    if dtype in (torch.float32, torch.float64):
        from torch.nn.attention import SDPBackend, sdpa_kernel

        with sdpa_kernel(SDPBackend.MATH):
            return model.prefill(ids, all_logits=True)
    return model.prefill(ids, all_logits=True)


# ---------------------------------------------------------------- ops


def run_eval(torch, job: dict, device: str) -> None:
    text = job["text"]
    with open(text["path"], "rb") as f:
        f.seek(text["byte_offset"])
        data = f.read(text["byte_length"])
    if len(data) != text["byte_length"]:
        raise ValueError(f"{text['path']} has {len(data)} bytes from {text['byte_offset']}, the job expects {text['byte_length']}")
    tokens = torch.tensor(list(data), dtype=torch.long, device=device)
    batches = window_batches(job["windows"], job["batch_windows"])
    stored = build_models(torch, job, device)
    for mi, jm in enumerate(job["models"]):
        for precision in job["precisions"]:
            dtype = torch_dtype(torch, precision)
            acc = torch.float64 if dtype == torch.float64 else torch.float32
            model = make_model(torch, jm, stored[mi], dtype, device)
            t0 = time.time()
            nll = torch.zeros((), dtype=torch.float64, device=device)
            targets = 0
            with torch.no_grad():
                for batch in batches:
                    length = batch[0][1]
                    ids = torch.stack([tokens[s:s + length] for s, _, _ in batch])
                    nxt = torch.stack([tokens[s + 1:s + 1 + length] for s, _, _ in batch])
                    logp = torch.log_softmax(logits_of(torch, model, ids, dtype).to(acc), dim=-1)
                    picked = logp.gather(-1, nxt.unsqueeze(-1)).squeeze(-1)
                    for b, (_, _, score_from) in enumerate(batch):
                        nll -= picked[b, score_from:].double().sum()
                        targets += length - score_from
            torch.cuda.synchronize()
            del model
            emit({"event": "result", "op": "eval", "model": mi, "label": jm["label"], "precision": precision,
                  "nll": float(nll.item()), "targets": targets, "seconds": time.time() - t0,
                  "gpu": torch.cuda.get_device_name(device), "torch": torch.__version__})
            torch.cuda.empty_cache()


def tensor_diff(torch, a, b) -> dict:
    """Figures of b against a ([rows, vocab] logits), computed in float64."""
    a = a.reshape(-1, a.shape[-1]).double()
    b = b.reshape(-1, b.shape[-1]).double()
    d = (a - b).abs()
    agree = int((a.argmax(-1) == b.argmax(-1)).sum().item())
    max_abs = math.nan if bool(torch.isnan(d).any()) else float(d.max().item())
    return diff_figures(max_abs, float(a.abs().max().item()), float(d.sum().item()), a.numel(), agree, a.shape[0])


def weights_check(torch, original: Dict[str, Any], repaired: Dict[str, Any], edits: List[dict]) -> dict:
    """Are the repaired checkpoint's tensors the original's with gac's edits applied? Bitwise."""
    from .e2e.weights import derive

    want_all = derive(original, edits)
    identical, differing = 0, []
    for name, t in repaired.items():
        want = want_all[name]
        if want.shape == t.shape and want.dtype == t.dtype and torch.equal(want, t):
            identical += 1
        else:
            n = int((want != t).sum().item()) if want.shape == t.shape else -1
            differing.append({"tensor": name, "elements_differing": n})
    return {"tensors": len(repaired), "identical": identical, "differing": differing[:20], "differing_count": len(differing)}


def run_verify(torch, job: dict, device: str) -> None:
    from .e2e.weights import apply_edit

    original, repaired = build_models(torch, job, device)
    jo, jr = job["models"]
    edits = [e for e in job["edits"] if e["tensor"] in original]  # a stored inv_freq is never read
    ids = torch.tensor([job["token_ids"]], dtype=torch.long, device=device)
    serving = torch_dtype(torch, job["serving"])
    params = [sum(t.numel() for t in w.values()) for w in (original, repaired)]
    logits: Dict[str, Any] = {}

    def run(key: str, jm: dict, tensors: Dict[str, Any], dtype) -> None:
        t0 = time.time()
        model = make_model(torch, jm, tensors, dtype, device)
        with torch.no_grad():
            out = logits_of(torch, model, ids, dtype)
        logits[key] = out if dtype == torch.float64 else out.float()
        del model
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        progress(f"{key}: {time.time() - t0:.2f} s")

    small = max(params) < 2_000_000_000
    if small:
        run("original_fp64", jo, original, torch.float64)
        run("repaired_fp64", jr, repaired, torch.float64)
    run("original_fp32", jo, original, torch.float32)
    run("repaired_fp32", jr, repaired, torch.float32)
    folded = [e for e in edits if e.get("scale") is not None]
    if folded:
        # The repaired model with each folded product kept in fp32 instead of rounded to storage.
        unrounded = dict(repaired)
        for e in folded:
            unrounded[e["tensor"]] = apply_edit(original[e["tensor"]].to(torch.float32), e)
        run("repaired_fp32_unrounded_fold", jr, unrounded, torch.float32)
        del unrounded
    run("original_serving", jo, original, serving)
    run("repaired_serving", jr, repaired, serving)

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
              "serving": job["serving"], "gpu": torch.cuda.get_device_name(device), "torch": torch.__version__, "params": params}
    if jo["weights"]["source"] == "checkpoint" and jr["weights"]["source"] == "checkpoint":
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
    device = "cuda:0"
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
