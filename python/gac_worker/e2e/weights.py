"""The weights of a model description (docs/e2e-protocol.md): read from the checkpoint's
safetensors, or drawn on the GPU. Drawn tensors are seeded by (seed, tensor name), so a tensor has
the same values whichever model or engine asks for it; a repaired model drawn from its `base` gets
the base's tensors with gac's TensorEdits applied (scale in float64, rounded once to the dtype;
then zero rows/columns placed by the PadLayouts), which is what `gac repair` writes."""
from __future__ import annotations

import glob
import json
import os
import zlib
from typing import Any, Iterator

import torch

STD = 0.02
TORCH_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}


def linears(layer: dict) -> Iterator[dict]:
    attn, mlp = layer["attn"], layer["mlp"]
    for form in (attn["q"], attn["k"], attn["v"], attn["o"], mlp["gate"], mlp["up"], mlp["down"]):
        yield form


def weight_refs(form: dict) -> list[dict]:
    if form["kind"] == "dense":
        return [form["weight"]]
    if form["kind"] == "lowrank":
        return [form["first"], form["second"]]
    if form["kind"] == "grouped":
        return [form["first"], *form["groups"]]
    raise ValueError(f"unknown linear kind {form['kind']!r}")


def tensor_shapes(spec: dict) -> dict[str, tuple[int, ...]]:
    """Every tensor the forward reads, with its shape (rotary inv_freq buffers are recomputed)."""
    h, v = spec["hiddenSize"], spec["vocabSize"]
    shapes: dict[str, tuple[int, ...]] = {spec["embedTokens"]: (v, h), spec["lmHead"]: (v, h), spec["finalNorm"]: (h,)}
    for layer in spec["layers"]:
        shapes[layer["inputNorm"]] = (h,)
        shapes[layer["postAttentionNorm"]] = (h,)
        for form in linears(layer):
            for ref in weight_refs(form):
                shapes[ref["tensor"]] = (ref["out"], ref["in"])
                if ref.get("bias"):
                    shapes[ref["bias"]] = (ref["out"],)
    return shapes


def is_norm(spec: dict, name: str) -> bool:
    return name == spec["finalNorm"] or any(name in (l["inputNorm"], l["postAttentionNorm"]) for l in spec["layers"])


def draw(name: str, shape: tuple[int, ...], seed: int, dtype: torch.dtype, device: str, norm: bool) -> torch.Tensor:
    gen = torch.Generator(device=device)
    gen.manual_seed((seed * 1_000_003 + zlib.crc32(name.encode())) % (2**63))
    x = torch.randn(shape, generator=gen, device=device, dtype=torch.float32)
    x = 1.0 + 0.1 * x if norm else STD * x
    return x.to(dtype)


def draw_all(spec: dict, seed: int, dtype: torch.dtype, device: str) -> dict[str, torch.Tensor]:
    return {name: draw(name, shape, seed, dtype, device, is_norm(spec, name)) for name, shape in tensor_shapes(spec).items()}


def _indices(layout: dict, device: str) -> torch.Tensor:
    parts = [torch.arange(r["dst"], r["dst"] + r["len"], device=device) for r in layout["runs"]]
    return torch.cat(parts) if parts else torch.empty(0, dtype=torch.long, device=device)


def apply_edit(t: torch.Tensor, edit: dict) -> torch.Tensor:
    """One TensorEdit (src/repair/tensor-edits.ts) on a tensor of shape edit.from."""
    if list(t.shape) != list(edit["from"]):
        raise ValueError(f"edit of {edit['tensor']}: tensor is {list(t.shape)}, the edit expects {edit['from']}")
    if edit.get("scale") is not None:
        t = (t.to(torch.float64) * float(edit["scale"])).to(t.dtype)
    to = list(edit["to"])
    if "rows" in edit and edit["rows"] is not None:
        rows = torch.zeros([to[0], *t.shape[1:]], dtype=t.dtype, device=t.device)
        rows[_indices(edit["rows"], t.device)] = t
        t = rows
    if "cols" in edit and edit["cols"] is not None:
        cols = torch.zeros([t.shape[0], to[1]], dtype=t.dtype, device=t.device)
        cols[:, _indices(edit["cols"], t.device)] = t
        t = cols
    if list(t.shape) != to:
        raise ValueError(f"edit of {edit['tensor']}: result is {list(t.shape)}, the edit says {to}")
    return t


def derive(base: dict[str, torch.Tensor], edits: list[dict]) -> dict[str, torch.Tensor]:
    out = dict(base)
    for e in edits:
        if e["tensor"] not in out:
            if e["tensor"].endswith("inv_freq"):
                continue  # recomputed from the config, never read
            raise ValueError(f"edit names {e['tensor']}, which the base model does not have")
        out[e["tensor"]] = apply_edit(out[e["tensor"]], e)
    return out


def read_checkpoint(directory: str, names: list[str], dtype: torch.dtype, device: str) -> dict[str, torch.Tensor]:
    from safetensors import safe_open

    index = os.path.join(directory, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            where = json.load(f)["weight_map"]
    else:
        where = {}
        for path in sorted(glob.glob(os.path.join(directory, "*.safetensors"))):
            with safe_open(path, framework="pt", device="cpu") as f:
                for k in f.keys():
                    where[k] = os.path.basename(path)
    out: dict[str, torch.Tensor] = {}
    by_file: dict[str, list[str]] = {}
    for n in names:
        if n not in where:
            raise ValueError(f"tensor {n} is not in {directory}")
        by_file.setdefault(where[n], []).append(n)
    for fname, ns in by_file.items():
        with safe_open(os.path.join(directory, fname), framework="pt", device=device) as f:
            for n in ns:
                out[n] = f.get_tensor(n).to(dtype)
    return out


def model_weights(model: dict, seed: int, dtype: torch.dtype, device: str) -> dict[str, torch.Tensor]:
    """The tensors of a validated model description, on the device, in `dtype`."""
    spec = model["spec"]
    if model["base"] is not None:
        # A repaired model: its original's tensors (read from the original checkpoint, or drawn),
        # then gac's edits; no repaired checkpoint needs to exist.
        base_spec = model["base"]["spec"]
        if model["weights"] == "checkpoint":
            base = read_checkpoint(model["checkpoint"], list(tensor_shapes(base_spec)), dtype, device)
        else:
            base = draw_all(base_spec, seed, dtype, device)
        out = derive(base, model["base"]["edits"])
    elif model["weights"] == "checkpoint":
        return read_checkpoint(model["checkpoint"], list(tensor_shapes(spec)), dtype, device)
    else:
        out = draw_all(spec, seed, dtype, device)
    want = tensor_shapes(spec)
    for name, shape in want.items():
        if name not in out:
            raise ValueError(f"{model['label']}: tensor {name} is missing after drawing the weights")
        if tuple(out[name].shape) != shape:
            raise ValueError(f"{model['label']}: tensor {name} is {tuple(out[name].shape)}, the spec says {shape}")
    return {k: out[k] for k in want}


def weight_bytes(tensors: dict[str, Any]) -> int:
    return sum(t.numel() * t.element_size() for t in tensors.values())
