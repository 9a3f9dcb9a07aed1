"""End-to-end runs of whole models (ops `e2e` and `e2e_logits`; docs/e2e-protocol.md).

params.py is pure (validated here without torch); the rest needs torch and a GPU:
  weights.py     the weights of a model description: read from safetensors, or drawn on the GPU
                 (seeded per tensor name) and, for a repaired model, derived from its base by
                 gac's TensorEdits, so both compute the same function
  gac_model.py   the `gac` engine: a compact forward of every family a ModelSpec describes
  hf_engine.py   the `transformers` engine: AutoModelForCausalLM and its caches
  timing.py      CUDA-event timing, SM clocks, the copy bandwidth
  run.py         the two ops
"""
