"""Whether stock transformers can build a model from its config.json, decided before any weight is
drawn or any GPU memory is taken (pure: no torch, so it is tested without a GPU).

transformers' Llama/Mistral/Qwen2 classes build every layer from one config: one intermediate_size,
one head count, one head_dim. A checkpoint whose tensors say otherwise (FLAP and LLM-Pruner keep the
original config after pruning) cannot be loaded as it is; that is a refusal with a reason, typed
`unsupported` by the caller, not an internal error.
"""
from __future__ import annotations

from typing import Optional

# Families transformers' stock classes load as they are (shapes uniform over layers).
LOADABLE = {"dense"}

FAMILY_LAYOUT = {
    "palu": "k/v projections stored as VT + U.{g} (PaLU)",
    "asvd": "BLinear/ALinear factor pairs (ASVD)",
    "svdllm": "*_v_proj/*_u_proj factor pairs (SVD-LLM)",
}


class ShapeMismatch(ValueError):
    """A weight's shape differs from the parameter transformers built from the config."""


def _config_shapes(hf_config: dict) -> dict[str, Optional[int]]:
    heads = hf_config.get("num_attention_heads")
    hidden = hf_config.get("hidden_size")
    head_dim = hf_config.get("head_dim")
    if head_dim is None and isinstance(heads, int) and isinstance(hidden, int) and heads > 0:
        head_dim = hidden // heads  # transformers' default when config.json names no head_dim
    return {
        "intermediate_size": hf_config.get("intermediate_size"),
        "num_attention_heads": heads,
        "num_key_value_heads": hf_config.get("num_key_value_heads", heads),
        "head_dim": head_dim,
    }


def config_mismatch(spec: dict, hf_config: dict) -> Optional[str]:
    """The first layer whose tensor shapes differ from what transformers builds from hf_config, as
    one line, or None."""
    cfg = _config_shapes(hf_config)
    for layer in spec["layers"]:
        attn, mlp = layer["attn"], layer["mlp"]
        have = {
            "intermediate_size": (mlp["intermediate"], "gate_proj rows"),
            "num_attention_heads": (attn["numHeads"], "query heads"),
            "num_key_value_heads": (attn["numKvHeads"], "key/value heads"),
            "head_dim": (attn["headDim"], "head_dim"),
        }
        for field, (value, what) in have.items():
            if cfg[field] is not None and value != cfg[field]:
                return (f"transformers builds every layer from config.json's {field} {cfg[field]}, but layer "
                        f"{layer['index']} has {value} {what} (a pruned checkpoint that keeps the original config)")
    return None


def unsupported_reason(spec: dict, hf_config: Optional[dict]) -> Optional[str]:
    """Why stock transformers cannot load this model, or None when it can."""
    family = spec["family"]
    if family not in LOADABLE:
        layout = FAMILY_LAYOUT.get(family, family)
        return f"transformers' stock classes cannot load a {family} checkpoint: {layout} need the method's own modeling code"
    if spec.get("heterogeneous"):
        return "transformers' stock Llama needs the same shapes in every layer; this checkpoint is pruned per layer (FLAP)"
    if hf_config is None:
        return "no config.json was given for the transformers engine"
    if spec["rope"]["scaling"]["type"] == "other":
        return f"rope type {spec['rope']['scaling'].get('name')} is outside what gac models"
    return config_mismatch(spec, hf_config)
