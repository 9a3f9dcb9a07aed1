"""Stock transformers on the bundled byte-level model, on the GPU: does it load, does its tokenizer
give token id = byte value, and what loss does transformers itself compute on the held-out windows?

Run as ``python3 -m gac_worker.hf_check <model-dir> <text-file> [--windows N] [--granite ORIGINAL REPAIRED]``.
Prints one JSON line ({"event": "result", ...} or {"event": "error", ...}).

The held-out protocol is gac eval's (src/eval/windows.ts): bytes from floor(0.9 * N), windows of 257
bytes at 0, 256, 512, ..., input the first 256, targets the next 256; loss = mean NLL in nats.

``--granite ORIGINAL REPAIRED``: REPAIRED is a logical-mode gac repair of the dense Llama ORIGINAL (weights only zero-padded,
gac-repair.json records attention_scale = d^-0.5). Loaded as GraniteForCausalLM with
attention_multiplier = that scale and the other Granite multipliers 1.0, it runs in stock
transformers with the exact softmax scale and no folded weights; its logits are compared with the
original loaded as Llama. This checks whether Granite's attention_multiplier is an exact stock-loader
option (Llama/Mistral/Qwen2 configs have no scale field) and whether Granite honours head_dim.
"""
from __future__ import annotations

import json
import math
import os
import sys
import traceback


def held_out(path: str) -> bytes:
    with open(path, "rb") as f:
        data = f.read()
    return data[int(math.floor(0.9 * len(data))):]


def load(cls, directory: str, torch, dtype, **kw):
    try:
        return cls.from_pretrained(directory, dtype=dtype, **kw)
    except TypeError:  # transformers 4.x spells it torch_dtype
        return cls.from_pretrained(directory, torch_dtype=dtype, **kw)


def window_loss(torch, model, data: bytes, windows: int, context: int = 256) -> tuple[float, int]:
    tokens = torch.tensor(list(data), dtype=torch.long, device="cuda")
    count = min(windows, (len(data) - 1) // context)
    nll, targets = 0.0, 0
    with torch.no_grad():
        for start in range(0, count * context, 16 * context):
            starts = list(range(start, min(start + 16 * context, count * context), context))
            ids = torch.stack([tokens[s:s + context] for s in starts])
            nxt = torch.stack([tokens[s + 1:s + 1 + context] for s in starts])
            logits = model(input_ids=ids).logits.float()
            logp = torch.log_softmax(logits, dim=-1).gather(-1, nxt.unsqueeze(-1)).squeeze(-1)
            nll -= float(logp.double().sum().item())
            targets += nxt.numel()
    return nll / targets, targets


def granite_check(torch, transformers, original_dir: str, repaired_dir: str) -> dict:
    with open(os.path.join(repaired_dir, "config.json")) as f:
        cfg = json.load(f)
    with open(os.path.join(repaired_dir, "gac-repair.json")) as f:
        manifest = json.load(f)
    scale = manifest.get("logical", {}).get("attention_scale")
    if manifest.get("scaleMode") != "logical" or not isinstance(scale, (int, float)):
        return {"ok": False, "reason": f"{repaired_dir} is not a logical-mode repair with one attention_scale"}
    granite = {**cfg, "model_type": "granite", "architectures": ["GraniteForCausalLM"], "attention_multiplier": scale,
               "embedding_multiplier": 1.0, "residual_multiplier": 1.0, "logits_scaling": 1.0}
    config = transformers.GraniteConfig(**{k: v for k, v in granite.items() if k not in ("model_type", "architectures")})
    g = transformers.GraniteForCausalLM.from_pretrained(repaired_dir, config=config, dtype=torch.float32).cuda().eval()
    o = load(transformers.AutoModelForCausalLM, original_dir, torch, torch.float32).cuda().eval()
    gen = torch.Generator(device="cuda").manual_seed(0)
    ids = torch.randint(0, cfg["vocab_size"], (1, 128), generator=gen, device="cuda")
    with torch.no_grad():
        a, b = o(input_ids=ids).logits.double(), g(input_ids=ids).logits.double()
    d = (a - b).abs()
    return {"ok": True, "attention_multiplier": scale, "granite_head_dim": getattr(g.model.layers[0].self_attn, "head_dim", None),
            "config_head_dim": cfg.get("head_dim"), "max_abs_diff": float(d.max()), "max_abs_logit": float(a.abs().max()),
            "max_rel_diff": float(d.max() / a.abs().max()), "argmax_agree": int((a.argmax(-1) == b.argmax(-1)).sum())}


def main(argv: list[str]) -> int:
    args = list(argv)
    windows = 64
    granite = None
    if "--windows" in args:
        i = args.index("--windows")
        windows = int(args[i + 1])
        del args[i:i + 2]
    if "--granite" in args:
        i = args.index("--granite")
        granite = (args[i + 1], args[i + 2])
        del args[i:i + 3]
    if len(args) != 2:
        print(json.dumps({"event": "error", "kind": "failed", "message": "usage: python3 -m gac_worker.hf_check <model-dir> <text-file> [--windows N] [--granite ORIGINAL REPAIRED]"}))
        return 2
    model_dir, text_file = args
    try:
        import torch
        import transformers
    except Exception as e:
        print(json.dumps({"event": "error", "kind": "no_torch", "message": f"{type(e).__name__}: {e}"}))
        return 1
    try:
        try:
            torch.backends.cuda.matmul.fp32_precision = "ieee"
            torch.backends.cudnn.fp32_precision = "ieee"
        except AttributeError:
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
        data = held_out(text_file)
        tok = transformers.AutoTokenizer.from_pretrained(model_dir)
        sample = data[:4096].decode("utf8", errors="strict")
        ids = tok(sample, add_special_tokens=False)["input_ids"]
        roundtrip = tok.decode(ids) == sample
        result = {"event": "result", "transformers": transformers.__version__, "torch": torch.__version__,
                  "tokenizer_class": type(tok).__name__, "vocab_size": len(tok),
                  "ids_are_bytes": ids == list(data[:4096]), "decode_roundtrip": roundtrip,
                  "utf8_ids_are_bytes": tok("é", add_special_tokens=False)["input_ids"] == [0xC3, 0xA9]}
        for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
            model = load(transformers.AutoModelForCausalLM, model_dir, torch, dtype).cuda().eval()
            loss, targets = window_loss(torch, model, data, windows)
            result[f"loss_{name}"] = loss
            result["targets"] = targets
            result["model_class"] = type(model).__name__
            del model
        if granite:
            try:
                result["granite"] = granite_check(torch, transformers, *granite)
            except Exception as e:  # the finding is that it does not load: say so, keep the rest
                result["granite"] = {"ok": False, "reason": f"{type(e).__name__}: {e}"}
        print(json.dumps(result), flush=True)
        return 0
    except Exception as e:
        traceback.print_exc(file=sys.stderr)
        print(json.dumps({"event": "error", "kind": "failed", "message": f"{type(e).__name__}: {e}"}), flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
