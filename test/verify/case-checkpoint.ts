/**
 * Small on-disk checkpoints for the exactness matrix (repair-matrix.test.ts): any config and any
 * per-layer shapes in the fixture layouts (dense, ASVD, SVD-LLM, PaLU; biases; heterogeneous
 * layers), in any float dtype, optionally sharded. Weights are drawn at "unit output" scale
 * (std 1/sqrt(fan_in)) rather than the fixtures' 0.02, so that attention is far from uniform and a
 * wrong padding moves the logits by far more than rounding does.
 *
 * Also the byte-level check of logical mode: a repair that only adds zeros keeps every original
 * element, in row-major order, and zeros are all it adds.
 */
import assert from "node:assert/strict";
import { encodeFromFloat64, decodeToFloat64 } from "../../src/checkpoint/dtype-codec.js";
import { openCheckpoint } from "../../src/checkpoint/open.js";
import { readTensorBytes } from "../../src/checkpoint/safetensors-read.js";
import { writeCheckpoint } from "../../src/checkpoint/safetensors-write.js";
import type { Dtype } from "../../src/checkpoint/types.js";
import { fixtureValues } from "../../src/fixtures/generate.js";
import { modelTensors, type FixtureTensor, type LayerShape } from "../../src/fixtures/layouts.js";

export interface CaseSpec {
  /** config.json as written (no torch_dtype needed). */
  config: Record<string, unknown>;
  vocab: number;
  hidden: number;
  layers: LayerShape[];
  tied: boolean;
  /** Tensors beyond the layout's (a gate/up bias, a stored rotary inv_freq, a BLinear bias). */
  extra?: FixtureTensor[];
}

export interface WriteOptions {
  dtype: Dtype;
  seed?: number;
  maxShardBytes?: number;
}

/** Unit-scale init: embeddings N(0, 1), matrices N(0, 1/fan_in), biases N(0, 0.3^2), norms near 1. */
function unitScale(t: FixtureTensor): FixtureTensor {
  if (t.init.kind === "norm") return t;
  const std = t.name.endsWith("embed_tokens.weight") ? 1 : t.shape.length === 2 ? 1 / Math.sqrt(t.shape[1]) : 0.3;
  return { ...t, init: { kind: "normal", std } };
}

export async function writeCase(dir: string, c: CaseSpec, o: WriteOptions): Promise<void> {
  const tensors = [...modelTensors(c.vocab, c.hidden, c.layers, c.tied), ...(c.extra ?? [])].map(unitScale);
  const seed = o.seed ?? 1;
  await writeCheckpoint(dir, {
    config: c.config,
    tensors: tensors.map((t) => ({ name: t.name, dtype: o.dtype, shape: t.shape, data: encodeFromFloat64(fixtureValues(t, seed), o.dtype) })),
    maxShardBytes: o.maxShardBytes,
  });
}

/** A Llama config for the matrix; `extra` overrides or adds keys (`head_dim: undefined` drops it). */
export function llamaCaseConfig(
  c: { hidden: number; heads: number; kvHeads: number; headDim?: number; intermediate: number; layers: number; vocab: number },
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const config: Record<string, unknown> = {
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    hidden_size: c.hidden,
    intermediate_size: c.intermediate,
    num_attention_heads: c.heads,
    num_key_value_heads: c.kvHeads,
    ...(c.headDim !== undefined ? { head_dim: c.headDim } : {}),
    num_hidden_layers: c.layers,
    vocab_size: c.vocab,
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    tie_word_embeddings: false,
    ...extra,
  };
  for (const [k, v] of Object.entries(config)) if (v === undefined) delete config[k];
  return config;
}

/** Every tensor's values, by name. */
export async function readAll(dir: string): Promise<Map<string, { dtype: Dtype; shape: readonly number[]; values: Float64Array; bytes: Uint8Array }>> {
  const ckpt = await openCheckpoint(dir);
  const out = new Map<string, { dtype: Dtype; shape: readonly number[]; values: Float64Array; bytes: Uint8Array }>();
  for (const [name, t] of ckpt.tensors) {
    const bytes = await readTensorBytes(t);
    out.set(name, { dtype: t.dtype, shape: t.shape, values: decodeToFloat64(bytes, t.dtype), bytes });
  }
  return out;
}

/**
 * The element bytes of `a` that are not +0.0, in order: padding inserts zeros between whole runs
 * and keeps both axes' order, so a zero-padded tensor gives exactly the original's sequence.
 * (Random normal weights have no zeros, so nothing original is dropped.)
 */
function nonZeroElements(bytes: Uint8Array, elemBytes: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < bytes.length; i += elemBytes) {
    const e = bytes.subarray(i, i + elemBytes);
    if (e.some((b) => b !== 0)) out.push(Buffer.from(e).toString("hex"));
  }
  return out;
}

/**
 * Asserts that `repaired` holds every tensor of `original` with only zeros added: same dtype, the
 * original's element bytes in the same order once the all-zero elements are removed. Tensors in
 * `scaled` (folded q factors) are checked instead as each original element times `factor`,
 * rounded to the dtype once.
 */
export async function assertOnlyZerosAdded(originalDir: string, repairedDir: string, scaled: { tensors: ReadonlySet<string>; factor: number } = { tensors: new Set(), factor: 1 }): Promise<void> {
  const a = await readAll(originalDir);
  const b = await readAll(repairedDir);
  assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort(), "same tensor names");
  for (const [name, t] of a) {
    const r = b.get(name)!;
    assert.equal(r.dtype, t.dtype, `${name} keeps its dtype`);
    const elem = t.bytes.length / t.values.length;
    const expected = scaled.tensors.has(name)
      ? encodeFromFloat64(
          t.values.map((x) => x * scaled.factor),
          t.dtype,
        )
      : t.bytes;
    const got = nonZeroElements(r.bytes, elem);
    const want = nonZeroElements(expected, elem);
    assert.equal(got.length, want.length, `${name}: ${got.length} nonzero elements after repair, ${want.length} before`);
    assert.ok(
      got.every((x, i) => x === want[i]),
      `${name}: the nonzero elements differ from the original's (${scaled.tensors.has(name) ? "scaled " : ""}bytes)`,
    );
  }
}
