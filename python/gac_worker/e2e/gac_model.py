"""The `gac` engine: a compact PyTorch forward of every family a ModelSpec describes (dense
Llama/Mistral/Qwen2 with GQA and biases, per-layer pruned shapes, PaLU grouped low-rank k/v,
ASVD and SVD-LLM factor pairs), with the semantics of transformers' Llama (RMSNorm in fp32,
rotate-half RoPE with default/linear/llama3 frequencies, SiLU-gated MLP), a preallocated KV cache
and a decode step that can be captured in a CUDA graph, as serving engines run decode.

Attention: prefill is SDPA with is_causal and native GQA. Decode puts a kv head's G query heads
in the query-length axis ([B, kv, G, d] against [B, kv, L, d]): exact for one new token, and it
needs neither repeated K/V copies nor a GQA-aware kernel. Eager decode attends over the cache's
first pos+1 entries (the KV length grows every step, as in a dynamic cache); graph decode attends
over the whole cache with a boolean mask (fixed shapes, as a CUDA graph needs).

Graph decode has two attention paths (the configuration picks one):
- "sdpa": SDPA with the boolean mask; PyTorch picks cuDNN at head_dim % 8 == 0 (its fprop tiles
  the query axis only, so at batch 1 a layer's attention runs on batch x kv_heads blocks, 8 for
  Llama-3-8B, and reads the whole cache through them), else math;
- "splitkv": the attention as two batched GEMMs with the softmax between, the P.V product split
  along the cache into SPLIT_KV_CHUNK-position pieces so its reduction spreads over many blocks
  (flash-decoding's split, written with cuBLAS GEMMs), partial sums added in fp32. The scores
  are rounded once to the serving dtype by the first GEMM, as SDPA's math backend does.
"""
from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F

# Cache positions per P.V piece of the split-KV attention; a cache for it holds a multiple of this.
SPLIT_KV_CHUNK = 256
DECODE_ATTENTION = ("sdpa", "splitkv")


def round_up(n: int, k: int) -> int:
    return -(-n // k) * k


def split_kv_attention(qg: torch.Tensor, kk: torch.Tensor, vv: torch.Tensor, bias: torch.Tensor, scale: float) -> torch.Tensor:
    """qg [b, kv, g, d] against the whole cache kk [b, kv, L, d], vv [b, kv, L, dv]; bias [L] fp32,
    0 where a position is attended and -inf where not. L is a multiple of SPLIT_KV_CHUNK."""
    b, kv, g, _ = qg.shape
    length, dv = kk.shape[2], vv.shape[3]
    if length % SPLIT_KV_CHUNK:
        raise ValueError(f"split-KV attention needs a cache length that is a multiple of {SPLIT_KV_CHUNK}, got {length}")
    pieces = length // SPLIT_KV_CHUNK
    s = torch.matmul(qg, kk.transpose(-1, -2))  # [b, kv, g, L], one GEMM per (b, kv)
    p = torch.softmax(torch.add(bias, s, alpha=scale), dim=-1).to(vv.dtype)  # fp32 scores and softmax
    pc = p.view(b, kv, g, pieces, SPLIT_KV_CHUNK).transpose(2, 3)  # [b, kv, pieces, g, chunk]
    part = torch.matmul(pc, vv.view(b, kv, pieces, SPLIT_KV_CHUNK, dv))  # [b, kv, pieces, g, dv]
    return part.sum(2, dtype=torch.float32).to(vv.dtype)


def rope_inv_freq(head_dim: int, rope: dict, device: str) -> torch.Tensor:
    theta = float(rope["theta"])
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64, device=device).float() / head_dim))
    scaling = rope.get("scaling", {"type": "default"})
    kind = scaling.get("type", "default")
    if kind == "default":
        return inv
    if kind == "linear":
        return inv / float(scaling["factor"])
    if kind == "llama3":
        factor = float(scaling["factor"])
        low, high = float(scaling["lowFreqFactor"]), float(scaling["highFreqFactor"])
        old = float(scaling["originalMaxPositionEmbeddings"])
        low_wavelen, high_wavelen = old / low, old / high
        wavelen = 2 * math.pi / inv
        scaled = torch.where(wavelen > low_wavelen, inv / factor, inv)
        smooth = (old / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = ~(wavelen < high_wavelen) & ~(wavelen > low_wavelen)
        return torch.where(medium, smoothed, scaled)
    raise ValueError(f"rope type {scaling.get('name', kind)!r} is not handled by the gac engine")


def rope_from_config(spec: dict, hf_config: Optional[dict]) -> dict:
    """The RoPE the checkpoint really has: a repaired config carries theta^(D/d), which a spec
    built by applyPlanToSpec does not change, so the config's theta wins when there is one."""
    rope = dict(spec["rope"])
    if hf_config:
        params = hf_config.get("rope_parameters") or {}
        theta = params.get("rope_theta", hf_config.get("rope_theta"))
        if theta is not None:
            rope["theta"] = float(theta)
    return rope


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Linear:
    """A LinearSpec over the weights dict: dense, low-rank pair, or PaLU grouped."""

    def __init__(self, form: dict, w: dict[str, torch.Tensor]):
        self.kind = form["kind"]
        get = lambda ref: (w[ref["tensor"]], w[ref["bias"]] if ref.get("bias") else None)
        if self.kind == "dense":
            self.parts = [get(form["weight"])]
        elif self.kind == "lowrank":
            self.parts = [get(form["first"]), get(form["second"])]
        elif self.kind == "grouped":
            self.first = get(form["first"])
            self.groups = [get(g) for g in form["groups"]]
            self.ranks = list(form["ranks"])
        else:
            raise ValueError(f"unknown linear kind {self.kind!r}")

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "grouped":
            latent = F.linear(x, *self.first)
            outs, off = [], 0
            for (weight, bias), r in zip(self.groups, self.ranks):
                outs.append(F.linear(latent[..., off : off + r], weight, bias))
                off += r
            return torch.cat(outs, dim=-1)
        for weight, bias in self.parts:
            x = F.linear(x, weight, bias)
        return x


def fuse_dense(forms: list[dict], w: dict[str, torch.Tensor]) -> Optional[tuple[torch.Tensor, Optional[torch.Tensor]]]:
    """Dense projections of one input concatenated into one GEMM (q|k|v, gate|up), as serving
    engines store them (vLLM's QKVParallelLinear, MergedColumnParallelLinear). None when any of
    them is factored (low-rank, PaLU): those run as the checkpoint stores them."""
    if any(f["kind"] != "dense" for f in forms):
        return None
    refs = [f["weight"] for f in forms]
    weight = torch.cat([w[r["tensor"]] for r in refs], dim=0)
    if not any(r.get("bias") for r in refs):
        return weight, None
    bias = torch.cat([w[r["bias"]] if r.get("bias") else torch.zeros(r["out"], dtype=weight.dtype, device=weight.device) for r in refs])
    return weight, bias


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    """PyTorch's fused RMSNorm (statistics in fp32). transformers rounds the normalised value to
    the dtype before the weight multiply; this rounds once after it, so the engines agree to fp32
    rounding in fp32 and may differ by one bf16 rounding per norm in bf16."""
    return F.rms_norm(x, (x.shape[-1],), weight, eps)


def rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x: [b, s, n, d]; cos/sin: [s, d]."""
    return x * cos[:, None, :] + rotate_half(x) * sin[:, None, :]


class Layer:
    def __init__(self, spec: dict, layer: dict, w: dict[str, torch.Tensor]):
        a = layer["attn"]
        self.heads, self.kv, self.d, self.dv = a["numHeads"], a["numKvHeads"], a["headDim"], a["headDimV"]
        self.q, self.k, self.v, self.o = (Linear(a[n], w) for n in ("q", "k", "v", "o"))
        self.qkv_fused = fuse_dense([a["q"], a["k"], a["v"]], w)
        m = layer["mlp"]
        self.gate, self.up, self.down = (Linear(m[n], w) for n in ("gate", "up", "down"))
        self.gate_up_fused = fuse_dense([m["gate"], m["up"]], w)
        self.intermediate = m["intermediate"]
        self.in_norm, self.post_norm = w[layer["inputNorm"]], w[layer["postAttentionNorm"]]
        self.eps = spec["rmsNormEps"]
        self.k_cache: Optional[torch.Tensor] = None
        self.v_cache: Optional[torch.Tensor] = None

    def mlp(self, x: torch.Tensor) -> torch.Tensor:
        h = rms_norm(x, self.post_norm, self.eps)
        if self.gate_up_fused is not None:
            g, u = F.linear(h, *self.gate_up_fused).split(self.intermediate, dim=-1)
        else:
            g, u = self.gate(h), self.up(h)
        return x + self.down(F.silu(g) * u)

    def qkv(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor):
        """q, k, v as [b, n, s, d] with RoPE applied to q and k (in one pass when fused)."""
        b, s, _ = x.shape
        h = rms_norm(x, self.in_norm, self.eps)
        nq, nk = self.heads * self.d, self.kv * self.d
        if self.qkv_fused is not None:
            out = F.linear(h, *self.qkv_fused)
            qk = rope(out[..., : nq + nk].view(b, s, self.heads + self.kv, self.d), cos, sin)
            q, k = qk.split([self.heads, self.kv], dim=2)
            v = out[..., nq + nk :].view(b, s, self.kv, self.dv)
        else:
            q = rope(self.q(h).view(b, s, self.heads, self.d), cos, sin)
            k = rope(self.k(h).view(b, s, self.kv, self.d), cos, sin)
            v = self.v(h).view(b, s, self.kv, self.dv)
        return q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)

    def prefill(self, x, cos, sin, scale, fill_cache: bool):
        b, s, _ = x.shape
        q, k, v = self.qkv(x, cos, sin)
        if fill_cache:
            self.k_cache[:, :, :s] = k
            self.v_cache[:, :, :s] = v
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=scale, enable_gqa=self.heads != self.kv)
        x = x + self.o(a.transpose(1, 2).reshape(b, s, self.heads * self.dv))
        return self.mlp(x)

    @staticmethod
    def attend(qg, kk, vv, mask: Optional[torch.Tensor], scale: float, attention: str) -> torch.Tensor:
        """A decode step's attention: qg [b, kv, g, d] over kk/vv; split-KV where asked and masked."""
        if attention == "splitkv" and mask is not None:
            return split_kv_attention(qg, kk, vv, mask, scale)
        return F.scaled_dot_product_attention(qg, kk, vv, attn_mask=mask, scale=scale)

    def decode(self, x, cos, sin, scale, pos: int | torch.Tensor, mask: Optional[torch.Tensor], attention: str = "sdpa"):
        """One token per sequence. pos: a Python int (eager: attend over [0, pos]) or a 1-element
        long tensor (graph: write at pos, attend over the masked whole cache; with attention
        "splitkv" the mask is an fp32 0/-inf bias)."""
        b = x.shape[0]
        q, k, v = self.qkv(x, cos, sin)
        g = self.heads // self.kv
        if mask is None:
            self.k_cache[:, :, pos : pos + 1] = k
            self.v_cache[:, :, pos : pos + 1] = v
            kk, vv = self.k_cache[:, :, : pos + 1], self.v_cache[:, :, : pos + 1]
        else:
            self.k_cache.index_copy_(2, pos, k)
            self.v_cache.index_copy_(2, pos, v)
            kk, vv = self.k_cache, self.v_cache
        qg = q.reshape(b, self.kv, g, self.d)  # heads j*g .. j*g+g-1 share kv head j (repeat_kv's order)
        a = self.attend(qg, kk, vv, mask, scale, attention)
        x = x + self.o(a.reshape(b, 1, self.heads * self.dv))
        return self.mlp(x)


class GacModel:
    def __init__(self, spec: dict, w: dict[str, torch.Tensor], *, hf_config: Optional[dict],
                 attention_scale: Optional[float], device: str):
        if float(spec["rope"].get("partialRotaryFactor", 1)) != 1:
            raise ValueError("partial_rotary_factor != 1 is not handled by the gac engine")
        self.spec = spec
        self.device = device
        self.embed, self.lm_head, self.final_norm = w[spec["embedTokens"]], w[spec["lmHead"]], w[spec["finalNorm"]]
        self.eps = spec["rmsNormEps"]
        self.layers = [Layer(spec, layer, w) for layer in spec["layers"]]
        self.rope = rope_from_config(spec, hf_config)
        self.scale_override = attention_scale
        self._tables: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        self.max_len = 0
        self.dtype = self.embed.dtype

    def scale(self, layer: Layer) -> float:
        return self.scale_override if self.scale_override is not None else layer.d ** -0.5

    def tables(self, head_dim: int, length: int) -> tuple[torch.Tensor, torch.Tensor]:
        t = self._tables.get(head_dim)
        if t is None or t[0].shape[0] < length:
            inv = rope_inv_freq(head_dim, self.rope, self.device)
            pos = torch.arange(max(length, 1), device=self.device, dtype=torch.float32)
            freqs = torch.outer(pos, inv)
            emb = torch.cat((freqs, freqs), dim=-1)
            t = (emb.cos().to(self.dtype), emb.sin().to(self.dtype))
            self._tables[head_dim] = t
        return t

    def allocate_cache(self, batch: int, length: int, fill: int = 0, gen: Optional[torch.Generator] = None) -> None:
        """A KV cache of `length` positions; the first `fill` hold random keys and values (a
        context's worth of cache without computing it: a step's cost does not depend on the values)."""
        self.max_len = length
        for layer in self.layers:
            layer.k_cache = torch.zeros(batch, layer.kv, length, layer.d, dtype=self.dtype, device=self.device)
            layer.v_cache = torch.zeros(batch, layer.kv, length, layer.dv, dtype=self.dtype, device=self.device)
            if fill:
                layer.k_cache[:, :, :fill].normal_(generator=gen)
                layer.v_cache[:, :, :fill].normal_(generator=gen)

    def free_cache(self) -> None:
        for layer in self.layers:
            layer.k_cache = layer.v_cache = None

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(rms_norm(x, self.final_norm, self.eps), self.lm_head)

    @torch.no_grad()
    def prefill(self, ids: torch.Tensor, *, fill_cache: bool = False, all_logits: bool = False) -> torch.Tensor:
        s = ids.shape[1]
        x = F.embedding(ids, self.embed)
        for layer in self.layers:
            cos, sin = self.tables(layer.d, s)
            x = layer.prefill(x, cos[:s], sin[:s], self.scale(layer), fill_cache)
        return self.logits(x if all_logits else x[:, -1:])

    @torch.no_grad()
    def decode_eager(self, ids: torch.Tensor, pos: int) -> torch.Tensor:
        x = F.embedding(ids, self.embed)
        for layer in self.layers:
            cos, sin = self.tables(layer.d, self.max_len)
            x = layer.decode(x, cos[pos : pos + 1], sin[pos : pos + 1], self.scale(layer), pos, None)
        return self.logits(x)

    def decode_mask(self, pos: torch.Tensor, attention: str) -> torch.Tensor:
        """The mask of a fixed-shape step at pos (a 1-element long tensor) over the whole cache: a
        boolean one for SDPA, an fp32 0/-inf bias for split-KV."""
        if attention not in DECODE_ATTENTION:
            raise ValueError(f"unknown decode attention '{attention}' (known: {', '.join(DECODE_ATTENTION)})")
        seen = torch.arange(self.max_len, device=self.device) <= pos
        if attention == "splitkv":
            zero = torch.zeros((), dtype=torch.float32, device=self.device)
            return torch.where(seen, zero, torch.full_like(zero, float("-inf")))
        return seen.view(1, 1, 1, self.max_len)

    @torch.no_grad()
    def decode_masked(self, ids: torch.Tensor, pos: torch.Tensor, attention: str = "sdpa") -> torch.Tensor:
        """The fixed-shape step a CUDA graph captures: pos is a 1-element long tensor."""
        mask = self.decode_mask(pos, attention)
        x = F.embedding(ids, self.embed)
        for layer in self.layers:
            cos, sin = self.tables(layer.d, self.max_len)
            x = layer.decode(x, cos.index_select(0, pos), sin.index_select(0, pos), self.scale(layer), pos, mask, attention)
        return self.logits(x)


def capture(fn, reset=None) -> "torch.cuda.CUDAGraph":
    """fn captured once in a CUDA graph, after two warm runs on a side stream (the allocator and
    kernel choice settle outside the capture); reset() runs after each warm run."""
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(2):
            fn()
            if reset is not None:
                reset()
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        fn()
    return graph


@torch.no_grad()
def attention_only_graph(model: "GacModel", batch: int, pos: int, attention: str) -> "torch.cuda.CUDAGraph":
    """Every layer's decode attention alone, as the graph step runs it (the same cache, mask,
    backend and query layout, a fixed random query), captured in one CUDA graph: replaying it
    measures the step's attention part by itself."""
    mask = model.decode_mask(torch.tensor([pos], dtype=torch.long, device=model.device), attention)
    qs = [torch.randn(batch, l.kv, l.heads // l.kv, l.d, dtype=model.dtype, device=model.device) for l in model.layers]

    def run() -> None:
        for layer, qg in zip(model.layers, qs):
            layer.attend(qg, layer.k_cache, layer.v_cache, mask, model.scale(layer), attention)

    return capture(run)


class GraphDecoder:
    """One greedy decode step (embed -> layers -> logits -> argmax into the input buffer, pos += 1)
    captured once in a CUDA graph; replay() runs a whole step."""

    def __init__(self, model: GacModel, batch: int, pos: int, attention: str = "sdpa"):
        self.model = model
        self.attention = attention
        self.ids = torch.zeros(batch, 1, dtype=torch.long, device=model.device)
        self.pos = torch.tensor([pos], dtype=torch.long, device=model.device)
        saved = self.pos.clone()
        self.graph = capture(self._step, reset=lambda: self.pos.copy_(saved))
        self.pos.copy_(saved)

    def _step(self) -> None:
        logits = self.model.decode_masked(self.ids, self.pos, self.attention)
        self.ids.copy_(logits[:, -1].argmax(-1, keepdim=True))
        self.pos.add_(1)

    def replay(self) -> None:
        self.graph.replay()
