"""Train the bundled small model: a byte-level Llama (transformers' LlamaForCausalLM, so stock
loaders read it) on tinyshakespeare, for perplexity measurements with learned weights.

Splits (bytes of assets/data/tinyshakespeare.txt, N = 1,115,394):
  train      [0, 0.85N)        what the optimiser sees
  validation [0.85N, 0.9N)     picks the checkpoint (early stopping); never reported as the result
  held-out   [0.9N, N)         the last 10%, as nanoGPT holds out; reported, never trained on
Held-out protocol (what `gac eval` reproduces): windows of 257 bytes starting at 0, 256, 512, ...
while the window fits; input = the first 256, targets = the next 256; loss = mean NLL in nats
over every target; also over the first 64 windows only (16,384 targets) for a quick CPU check.

Run on the GPU machine from the repository root:
  python3 python/train/train_byte_llama.py --out "$OUT/shakespeare-byte" --time-budget 150
Several candidate sizes can be trained in one call (--candidates); the smallest whose held-out loss
meets --target is kept (written to --out), the log lists every candidate.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

CONTEXT = 256
CANDIDATES = {
    # name: (layers, hidden, heads, kv_heads, intermediate)
    "l4-h256-i512": (4, 256, 4, 2, 512),
    "l6-h256-i512": (6, 256, 4, 2, 512),
    "l8-h256-i512": (8, 256, 4, 2, 512),
}
SAVE_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def add_dropout(model, p: float) -> None:
    """Dropout on the embeddings and on each residual branch while training (nanoGPT uses 0.2 on
    this corpus; without it a 2.5M-parameter model memorises the 0.95 MB of training bytes within
    ~20 epochs: run 1 reached train 0.18 / validation 5.0). Hooks, not new modules: in eval mode
    the model is a plain LlamaForCausalLM and the saved checkpoint has no trace of them."""
    def drop_output(module, inputs, output):
        if not module.training:
            return output
        if isinstance(output, tuple):
            return (F.dropout(output[0], p, True),) + tuple(output[1:])
        return F.dropout(output, p, True)
    model.model.embed_tokens.register_forward_hook(drop_output)
    for layer in model.model.layers:
        layer.self_attn.register_forward_hook(drop_output)
        layer.mlp.register_forward_hook(drop_output)


def log(fh, msg: str) -> None:
    print(msg, flush=True)
    fh.write(msg + "\n")
    fh.flush()


def splits(path: str) -> dict[str, torch.Tensor]:
    data = open(path, "rb").read()
    n = len(data)
    a, b = int(0.85 * n), int(0.9 * n)
    t = torch.frombuffer(bytearray(data), dtype=torch.uint8).to(torch.long)
    return {"train": t[:a], "validation": t[a:b], "heldout": t[b:], "n": n, "cut": (a, b)}


def windows(tokens: torch.Tensor, limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    starts = list(range(0, len(tokens) - CONTEXT, CONTEXT))  # start + 257 <= len
    starts = [s for s in starts if s + CONTEXT + 1 <= len(tokens)]
    if limit is not None:
        starts = starts[:limit]
    x = torch.stack([tokens[s : s + CONTEXT] for s in starts])
    y = torch.stack([tokens[s + 1 : s + CONTEXT + 1] for s in starts])
    return x, y


@torch.no_grad()
def heldout_loss(model, tokens: torch.Tensor, device, dtype=torch.float32, limit=None, batch=64) -> tuple[float, int]:
    x, y = windows(tokens, limit)
    total, count = 0.0, 0
    model_dtype = next(model.parameters()).dtype
    if model_dtype != dtype:
        model = model.to(dtype)
    for i in range(0, len(x), batch):
        xb, yb = x[i : i + batch].to(device), y[i : i + batch].to(device)
        logits = model(input_ids=xb).logits.to(torch.float64)
        nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), yb.reshape(-1), reduction="sum")
        total += nll.item()
        count += yb.numel()
    if model_dtype != dtype:
        model.to(model_dtype)
    return total / count, count


def build(name: str, seed: int, attention_dropout: float = 0.0):
    from transformers import LlamaConfig, LlamaForCausalLM

    layers, hidden, heads, kv, inter = CANDIDATES[name]
    config = LlamaConfig(
        vocab_size=256,
        hidden_size=hidden,
        intermediate_size=inter,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv,
        head_dim=hidden // heads,
        max_position_embeddings=1024,
        rms_norm_eps=1e-5,
        rope_theta=10000.0,
        tie_word_embeddings=False,
        attention_bias=False,
        attention_dropout=attention_dropout,
        mlp_bias=False,
        bos_token_id=None,
        eos_token_id=None,
        pad_token_id=None,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    return model


def train_one(name: str, data, args, device, fh) -> dict:
    model = build(name, args.seed, args.attention_dropout).to(device)
    add_dropout(model, args.dropout)
    params = sum(p.numel() for p in model.parameters())
    log(fh, f"== candidate {name}: {params:,} parameters ({params * 4 / 1e6:.2f} MB in F32)")
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=args.lr, betas=(0.9, args.beta2), fused=True,
    )
    train = data["train"].to(device)
    gen = torch.Generator(device=device)
    gen.manual_seed(args.seed)
    best = {"val": math.inf, "step": -1, "state": None}
    t0 = time.time()
    step = 0
    est_steps = args.max_steps
    while step < args.max_steps and time.time() - t0 < args.time_budget:
        lr = args.lr * min(1.0, (step + 1) / args.warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, step / est_steps))))
        for g in opt.param_groups:
            g["lr"] = lr
        ix = torch.randint(0, len(train) - CONTEXT - 1, (args.batch,), device=device, generator=gen)
        offs = torch.arange(CONTEXT + 1, device=device)
        chunk = train[ix[:, None] + offs[None, :]]
        xb, yb = chunk[:, :-1], chunk[:, 1:]
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = model(input_ids=xb).logits
        loss = F.cross_entropy(logits.float().reshape(-1, 256), yb.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if step == 200:
            # Calibrate the cosine schedule to the time budget from the measured step rate.
            rate = step / (time.time() - t0)
            est_steps = min(args.max_steps, int(rate * args.time_budget))
            log(fh, f"   {rate:.0f} steps/s: schedule set to {est_steps} steps")
        if step % args.eval_every == 0:
            model.eval()
            val, _ = heldout_loss(model, data["validation"], device)
            model.train()
            marker = ""
            if val < best["val"]:
                best = {"val": val, "step": step, "state": {k: v.detach().clone() for k, v in model.state_dict().items()}}
                marker = " *"
            log(fh, f"   step {step:6d}  train {loss.item():.4f}  validation {val:.4f}  lr {lr:.2e}  {time.time() - t0:6.1f}s{marker}")
    model.load_state_dict(best["state"])
    model.eval()
    full, n_full = heldout_loss(model, data["heldout"], device)
    quick, n_quick = heldout_loss(model, data["heldout"], device, limit=64)
    full64, _ = heldout_loss(model, data["heldout"], device, dtype=torch.float64)
    quick64, _ = heldout_loss(model, data["heldout"], device, dtype=torch.float64, limit=64)
    log(fh, f"   best step {best['step']} (validation {best['val']:.4f}); steps run {step} in {time.time() - t0:.1f}s")
    log(fh, f"   held-out loss fp32 {full:.6f} nats/byte over {n_full} targets (ppl {math.exp(full):.4f}); first 64 windows {quick:.6f} over {n_quick}")
    log(fh, f"   held-out loss fp64 {full64:.6f}; first 64 windows {quick64:.6f}")
    return {"name": name, "model": model, "params": params, "heldout": full, "heldout64": full64,
            "quick": quick, "quick64": quick64, "targets": n_full, "best_step": best["step"], "steps": step,
            "validation": best["val"]}


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--data", default="assets/data/tinyshakespeare.txt")
    p.add_argument("--out", required=True)
    p.add_argument("--candidates", default="l6-h256-i512,l8-h256-i512")
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--attention-dropout", type=float, default=0.0)
    p.add_argument("--save-dtype", default="bfloat16", choices=sorted(SAVE_DTYPES))
    p.add_argument("--target", type=float, default=1.6)
    p.add_argument("--beta2", type=float, default=0.95)
    p.add_argument("--time-budget", type=float, default=150.0, help="seconds of training per candidate")
    p.add_argument("--max-steps", type=int, default=20000)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--eval-every", type=int, default=200)
    p.add_argument("--seed", type=int, default=1337)
    args = p.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    device = torch.device("cuda")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    fh = open(os.path.join(args.out, "train-log.txt"), "w")
    import transformers
    log(fh, f"# train_byte_llama.py {' '.join(argv)}")
    log(fh, f"# torch {torch.__version__}, transformers {transformers.__version__}, GPU {torch.cuda.get_device_name(0)}")
    data = splits(args.data)
    log(fh, f"# data {args.data}: {data['n']} bytes; train [0, {data['cut'][0]}), validation [{data['cut'][0]}, {data['cut'][1]}), held-out [{data['cut'][1]}, {data['n']})")
    results = []
    for name in args.candidates.split(","):
        r = train_one(name, data, args, device, fh)
        results.append(r)
        if r["heldout"] <= args.target:
            break
    chosen = next((r for r in results if r["heldout"] <= args.target), min(results, key=lambda r: r["heldout"]))
    log(fh, f"== kept {chosen['name']}: held-out {chosen['heldout']:.4f} nats/byte (target {args.target})")
    save_dtype = SAVE_DTYPES[args.save_dtype]
    model = chosen["model"].to(save_dtype).to(torch.float32)  # the weights as they will be stored
    stored, _ = heldout_loss(model, data["heldout"], device)
    stored64, _ = heldout_loss(model, data["heldout"], device, dtype=torch.float64)
    stored_quick64, _ = heldout_loss(model, data["heldout"], device, dtype=torch.float64, limit=64)
    log(fh, f"== stored in {args.save_dtype}: held-out loss fp32 math {stored:.6f}, fp64 math {stored64:.6f} (first 64 windows {stored_quick64:.6f}) nats/byte; ppl {math.exp(stored64):.4f}")
    chosen.update({"stored_dtype": args.save_dtype, "stored_heldout": stored, "stored_heldout64": stored64, "stored_quick64": stored_quick64})
    model = model.to(save_dtype)
    model.config.dtype = args.save_dtype
    model.config.attention_dropout = 0.0  # a training setting; inference never uses it
    model.save_pretrained(args.out, safe_serialization=True)
    summary = {k: v for k, v in chosen.items() if k != "model"}
    summary["candidates"] = [{k: v for k, v in r.items() if k != "model"} for r in results]
    summary["args"] = vars(args)
    with open(os.path.join(args.out, "train-summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    # Read back through the stock loader and check the numbers survive the round trip.
    from transformers import AutoModelForCausalLM
    back = AutoModelForCausalLM.from_pretrained(args.out, dtype=torch.float32).to(device).eval()
    again, _ = heldout_loss(back, data["heldout"], device, dtype=torch.float64, limit=64)
    log(fh, f"== reloaded with AutoModelForCausalLM: first 64 windows fp64 {again:.6f} (stored {stored_quick64:.6f})")
    fh.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
