/** Writes an in-memory tiny model as a real HF checkpoint directory (config.json + model.safetensors). */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { writeCheckpoint } from "../../src/checkpoint/safetensors-write.js";
import { encodeFromFloat64 } from "../../src/checkpoint/dtype-codec.js";
import type { Dtype } from "../../src/checkpoint/types.js";
import type { LinearSpec, WeightRef } from "../../src/model/types.js";
import type { TinyModel } from "./tiny-model.js";

function refShapes(r: WeightRef): [string, number[]][] {
  const s: [string, number[]][] = [[r.tensor, [r.out, r.in]]];
  if (r.bias) s.push([r.bias, [r.out]]);
  return s;
}

function linearShapes(l: LinearSpec): [string, number[]][] {
  if (l.kind === "dense") return refShapes(l.weight);
  if (l.kind === "lowrank") return [...refShapes(l.first), ...refShapes(l.second)];
  return [...refShapes(l.first), ...l.groups.flatMap(refShapes)];
}

/** Dense tiny models only: the config fields a stock LlamaForCausalLM reads. */
export async function writeTinyCheckpoint(m: TinyModel, dir: string, dtype: Dtype, manifest?: unknown, maxShardBytes?: number): Promise<void> {
  const s = m.spec;
  const shapes = new Map<string, number[]>([
    [s.embedTokens, [s.vocabSize, s.hiddenSize]],
    [s.finalNorm, [s.hiddenSize]],
    [s.lmHead, [s.vocabSize, s.hiddenSize]],
  ]);
  for (const l of s.layers) {
    shapes.set(l.inputNorm, [s.hiddenSize]);
    shapes.set(l.postAttentionNorm, [s.hiddenSize]);
    for (const lin of [l.attn.q, l.attn.k, l.attn.v, l.attn.o, l.mlp.gate, l.mlp.up, l.mlp.down]) for (const [n, sh] of linearShapes(lin)) shapes.set(n, sh);
  }
  const l0 = s.layers[0];
  const config = {
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    hidden_size: s.hiddenSize,
    intermediate_size: l0.mlp.intermediate,
    num_attention_heads: s.numHeads,
    num_key_value_heads: s.numKvHeads,
    head_dim: s.headDim,
    num_hidden_layers: s.numLayers,
    vocab_size: s.vocabSize,
    rms_norm_eps: s.rmsNormEps,
    rope_theta: s.rope.theta,
    attention_bias: l0.attn.q.kind === "dense" && l0.attn.q.weight.bias !== undefined,
    tie_word_embeddings: s.tieWordEmbeddings,
    torch_dtype: dtype === "F32" ? "float32" : dtype === "F16" ? "float16" : "bfloat16",
  };
  const tensors = [...shapes].map(([name, shape]) => ({ name, dtype, shape, data: encodeFromFloat64(m.weights.get(name)!, dtype) }));
  await writeCheckpoint(dir, { config, tensors, ...(maxShardBytes !== undefined ? { maxShardBytes } : {}) });
  if (manifest !== undefined) await writeFile(join(dir, "gac-repair.json"), JSON.stringify(manifest));
}
