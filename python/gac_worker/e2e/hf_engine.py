"""The `transformers` engine: AutoModelForCausalLM as users run it. Configurations (docs/e2e-protocol.md):
sdpa (PyTorch's default SDPA backend order), sdpa-nocudnn (cuDNN SDPA disabled), sdpa-avoid-recompile
(TORCH_CUDNN_SDPA_AVOID_RECOMPILE=1: the caller runs the job in a fresh process with it set), eager;
caches: dynamic (DynamicCache, what generate() uses) or static (StaticCache). Decode is the loop
generate() runs: one token per sequence per step, greedy, the cache growing by one."""
from __future__ import annotations

import contextlib
from typing import Optional

import torch

from .hf_loadable import ShapeMismatch, unsupported_reason  # noqa: F401 - run.py asks here


def config_from_dict(hf_config: dict):
    from transformers import AutoConfig

    cfg = dict(hf_config)
    model_type = cfg.pop("model_type")
    for k in ("transformers_version", "architectures", "_name_or_path"):
        cfg.pop(k, None)
    return AutoConfig.for_model(model_type, **cfg)


def build(model: dict, tensors: Optional[dict], attn: str, dtype: torch.dtype, device: str):
    """The HF model built from its config with `tensors` (the same values the gac engine gets,
    read from the checkpoint or drawn, a repaired model's derived by gac's edits) copied in; or
    from_pretrained on the checkpoint directory when tensors is None."""
    from transformers import AutoModelForCausalLM

    impl = "eager" if attn == "eager" else "sdpa"
    if tensors is None:
        m = AutoModelForCausalLM.from_pretrained(model["checkpoint"], dtype=dtype, attn_implementation=impl, device_map=device)
    else:
        cfg = config_from_dict(model["hf_config"])
        with torch.device(device):
            m = AutoModelForCausalLM.from_config(cfg, attn_implementation=impl, dtype=dtype)
        params = dict(m.named_parameters())
        missing = [n for n in params if n not in tensors]
        if missing:
            raise ValueError(f"transformers' model has parameters the spec does not name: {', '.join(missing[:3])}")
        with torch.no_grad():
            for name, p in params.items():
                t = tensors[name]
                if tuple(t.shape) != tuple(p.shape):
                    raise ShapeMismatch(f"{name}: transformers expects {tuple(p.shape)} from config.json, the weights are {tuple(t.shape)}")
                p.copy_(t)
    m.eval()
    if model.get("attention_scale") is not None:
        for layer in m.model.layers:
            layer.self_attn.scaling = float(model["attention_scale"])
    return m


@contextlib.contextmanager
def sdpa_config(config: str):
    if config == "sdpa-nocudnn":
        before = torch.backends.cuda.cudnn_sdp_enabled()
        torch.backends.cuda.enable_cudnn_sdp(False)
        try:
            yield
        finally:
            torch.backends.cuda.enable_cudnn_sdp(before)
    else:
        yield


class HfRunner:
    def __init__(self, m, cache: str):
        self.m = m
        self.cache_kind = cache

    @torch.no_grad()
    def prefill(self, ids: torch.Tensor) -> torch.Tensor:
        return self.m(input_ids=ids, use_cache=False, logits_to_keep=1).logits

    @torch.no_grad()
    def logits_all(self, ids: torch.Tensor) -> torch.Tensor:
        return self.m(input_ids=ids, use_cache=False).logits

    @torch.no_grad()
    def start_decode(self, ids: torch.Tensor, max_len: int):
        """Fill a cache with the context; returns (state, next token)."""
        from transformers import DynamicCache, StaticCache

        s = ids.shape[1]
        if self.cache_kind == "static":
            cache = StaticCache(config=self.m.config, max_cache_len=max_len)
            out = self.m(input_ids=ids, past_key_values=cache, use_cache=True, logits_to_keep=1,
                         cache_position=torch.arange(s, device=ids.device))
        else:
            cache = DynamicCache(config=self.m.config)
            out = self.m(input_ids=ids, past_key_values=cache, use_cache=True, logits_to_keep=1)
        state = {"cache": out.past_key_values, "pos": s}
        return state, out.logits[:, -1].argmax(-1, keepdim=True)

    @torch.no_grad()
    def start_decode_random(self, batch: int, context: int, max_len: int, gen: torch.Generator):
        """A cache holding `context` positions of random keys and values, built through the
        cache's own update() (a step's cost does not depend on the values; filling it this way
        saves the context's prefill). Returns (state, a random next token)."""
        from transformers import DynamicCache, StaticCache

        cfg = self.m.config
        p = next(self.m.parameters())
        if self.cache_kind == "static":
            cache = StaticCache(config=cfg, max_cache_len=max_len)
            kwargs = {"cache_position": torch.arange(context, device=p.device)}
        else:
            cache = DynamicCache(config=cfg)
            kwargs = None
        for i, layer in enumerate(self.m.model.layers):
            d = layer.self_attn.head_dim
            shape = (batch, cfg.num_key_value_heads, context, d)
            k = torch.randn(shape, generator=gen, device=p.device, dtype=p.dtype)
            v = torch.randn(shape, generator=gen, device=p.device, dtype=p.dtype)
            cache.update(k, v, i, kwargs)
            del k, v
        tok = torch.randint(0, cfg.vocab_size, (batch, 1), generator=gen, device=p.device)
        return {"cache": cache, "pos": context}, tok

    @torch.no_grad()
    def step(self, state: dict, tok: torch.Tensor) -> torch.Tensor:
        if self.cache_kind == "static":
            out = self.m(input_ids=tok, past_key_values=state["cache"], use_cache=True,
                         cache_position=torch.tensor([state["pos"]], device=tok.device))
        else:
            out = self.m(input_ids=tok, past_key_values=state["cache"], use_cache=True)
        state["pos"] += 1
        return out.logits[:, -1].argmax(-1, keepdim=True)
