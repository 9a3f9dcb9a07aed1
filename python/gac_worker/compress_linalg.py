"""GPU linear algebra for `gac compress` at real size (python3 -m gac_worker.compress_linalg).

The CPU path of `gac compress` (src/compress/, float64) is for small models: an SVD of a
4096 x 11008 weight in JavaScript takes minutes. At real size the sizes are decided in TypeScript
(`gac compress --sizes-only`, which writes a header-only checkpoint with the policy's ranks) and
this module fills that layout with real factors computed on the GPU from the dense checkpoint:

    gac compress ./llama --out ./llama-svd --method svd-pairs --budget 0.8 --align 16 --sizes-only
    python3 -m gac_worker.compress_linalg --dense ./llama --layout ./llama-svd --out ./llama-svd-real

Every tensor of the layout is either copied from the dense checkpoint (same name and shape) or is a
factor of one dense projection, recognised by its name (the layouts gac reads):
    SVD-LLM  {p}.q_v_proj.weight [r, in]  and {p}.q_u_proj.weight [out, r] (+ q_u_proj.bias)
    ASVD     {p}.q_proj.BLinear.weight [r, in] and {p}.q_proj.ALinear.weight [out, r] (+ ALinear.bias)
The factors are the truncated SVD of W with sqrt(sigma) in each factor, as src/compress/factor-linear.ts
computes them without calibration; `--grams FILE` (a safetensors file of input Gram matrices named
like the projection's weight, e.g. "model.layers.0.self_attn.q_proj.weight") whitens as SVD-LLM does.
The math functions take the array module (`xp`: torch or numpy) so they are unit-tested without a GPU.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys

# SVD-LLM retries Cholesky with a growing diagonal; the same ladder as src/compress/cholesky.ts.
DAMPING_EXPONENTS = [None] + list(range(-10, 1))


def factor_role(name: str) -> tuple[str, str] | None:
    """(dense weight name, role) for a factor tensor name; role is first, second or bias; None if not a factor."""
    m = re.match(r"^(.*)_(v|u)_proj\.(weight|bias)$", name)
    if m:
        base, which, kind = m.groups()
        if kind == "bias":
            return (f"{base}_proj.weight", "bias") if which == "u" else None
        return f"{base}_proj.weight", "first" if which == "v" else "second"
    m = re.match(r"^(.*)\.(BLinear|ALinear)\.(weight|bias)$", name)
    if m:
        base, which, kind = m.groups()
        if kind == "bias":
            return (f"{base}.weight", "bias") if which == "ALinear" else None
        return f"{base}.weight", "first" if which == "BLinear" else "second"
    return None


def damped_cholesky(xp, gram):
    """Lower L with L L^T = G + delta I for the smallest delta on the ladder that factors."""
    n = gram.shape[0]
    scale = float(xp.trace(gram)) / n if float(xp.trace(gram)) > 0 else 1.0
    eye = xp.eye(n, dtype=gram.dtype)
    if hasattr(eye, "to"):  # torch: on the Gram matrix's device
        eye = eye.to(gram.device)
    for exponent in DAMPING_EXPONENTS:
        damping = 0.0 if exponent is None else scale * 10.0**exponent
        try:
            l = xp.linalg.cholesky(gram + damping * eye)
        except Exception:  # numpy LinAlgError, torch linalg error
            continue
        if bool(xp.isfinite(l).all()):
            return l, damping
    raise ValueError(f"Cholesky of a {n}x{n} Gram matrix failed with every damping (NaN in it?)")


def factor_pair(xp, w, rank: int, whitening=None):
    """first [rank, in], second [out, rank] with second @ first ~ w (exact at full rank).

    whitening: lower-triangular L (the input Gram's Cholesky factor) or None for plain SVD.
    """
    target = w if whitening is None else w @ whitening
    u, s, vh = xp.linalg.svd(target, full_matrices=False)
    root = xp.sqrt(s[:rank])
    second = u[:, :rank] * root[None, :]
    first = root[:, None] * vh[:rank, :]
    if whitening is not None:
        # first @ L^-1 without forming the inverse: solve L^T X^T = first^T.
        first = xp.linalg.solve(whitening.T, first.T).T
    return first, second


def read_header(path: str) -> dict:
    """The JSON header of a safetensors file (names, dtypes, shapes), without reading data."""
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    header.pop("__metadata__", None)
    return header


def layout_files(layout_dir: str) -> dict[str, list[str]]:
    """safetensors file name -> tensor names, as the layout checkpoint shards them."""
    index = os.path.join(layout_dir, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            weight_map = json.load(f)["weight_map"]
        files: dict[str, list[str]] = {}
        for name, file in weight_map.items():
            files.setdefault(file, []).append(name)
        return files
    return {"model.safetensors": list(read_header(os.path.join(layout_dir, "model.safetensors")).keys())}


def main(argv: list[str] | None = None) -> int:
    import torch
    from safetensors import safe_open
    from safetensors.torch import save_file

    ap = argparse.ArgumentParser(prog="python3 -m gac_worker.compress_linalg", description=__doc__.split("\n\n")[0])
    ap.add_argument("--dense", required=True, help="the dense checkpoint the layout was made from")
    ap.add_argument("--layout", required=True, help="the output of gac compress --sizes-only (svd-pairs or asvd)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--grams", help="safetensors of input Gram matrices keyed by dense weight name (SVD-LLM whitening)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--precision", choices=["float32", "float64"], default="float64")
    args = ap.parse_args(argv)
    if os.path.exists(args.out):
        print(f"compress_linalg: {args.out} exists; choose a new output directory", file=sys.stderr)
        return 1
    precision = getattr(torch, args.precision)
    dense_files = layout_files(args.dense)
    dense_file_of = {name: os.path.join(args.dense, file) for file, names in dense_files.items() for name in names}
    grams = safe_open(args.grams, "pt", device=args.device) if args.grams else None
    tmp = args.out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    cache: dict[str, tuple] = {}

    def dense_tensor(name: str):
        with safe_open(dense_file_of[name], "pt", device=args.device) as f:
            return f.get_tensor(name)

    for file, names in layout_files(args.layout).items():
        header = read_header(os.path.join(args.layout, file))
        out = {}
        for name in names:
            shape = header[name]["shape"]
            role = factor_role(name)
            if role is None or name in dense_file_of:
                t = dense_tensor(name)
                if list(t.shape) != shape:
                    raise SystemExit(f"compress_linalg: '{name}' is {list(t.shape)} in {args.dense} but {shape} in the layout")
                out[name] = t
                continue
            weight, part = role
            if part == "bias":
                out[name] = dense_tensor(weight.replace(".weight", ".bias"))
                continue
            rank = shape[0] if part == "first" else shape[1]
            if weight not in cache:
                w = dense_tensor(weight)
                l = None
                if grams is not None:
                    l, _ = damped_cholesky(torch, grams.get_tensor(weight).to(precision))
                first, second = factor_pair(torch, w.to(precision), rank, l)
                cache[weight] = (first.to(w.dtype).contiguous(), second.to(w.dtype).contiguous())
                print(f"{weight}: rank {rank} of {min(w.shape)}", file=sys.stderr)
            out[name] = cache[weight][0 if part == "first" else 1]
        save_file({k: v.cpu() for k, v in out.items()}, os.path.join(tmp, file), metadata={"format": "pt"})
    # gac-compress.json stays behind: it describes the header-only layout (sizes_only true).
    for extra in ("config.json", "model.safetensors.index.json"):
        if os.path.exists(os.path.join(args.layout, extra)):
            shutil.copy(os.path.join(args.layout, extra), os.path.join(tmp, extra))
    os.rename(tmp, args.out)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
