/**
 * The exactness matrix: combinations of model features that the fixtures do not cover one by one
 * (q/k/v biases with GQA 4 and 8 and tied embeddings, llama3/linear RoPE and transformers-5
 * rope_parameters, large D/d, PaLU groups of two heads with a head_dim change, ASVD ALinear biases,
 * SVD-LLM o_v_proj growing on both axes, FLAP layers of different widths, a config without
 * head_dim, sharded 16-bit input streamed in 100-byte blocks). Each is written to disk, repaired by
 * src/repair, and checked by the float64 reference forward:
 *   - fold mode in float64 weights, and logical mode in any dtype: max relative logit diff < 1e-9
 *     (float64 noise; a wrong padding gives 1e-2 and more with these unit-scale weights);
 *   - ranks and widths only: exactly 0;
 *   - logical mode: the repaired tensors are the original bytes plus zeros, nothing else; fold mode
 *     likewise except the q output factors, which are the original values times sqrt(D/d).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Dtype } from "../../src/checkpoint/types.js";
import type { LayerShape, LinearForm } from "../../src/fixtures/layouts.js";
import { openCheckpoint } from "../../src/checkpoint/open.js";
import { loadModelSpec } from "../../src/model/load-model-spec.js";
import { repairCheckpoint, type RepairResult } from "../../src/repair/repair-checkpoint.js";
import type { RepairManifest } from "../../src/repair/manifest.js";
import type { ScaleMode } from "../../src/repair/tensor-edits.js";
import type { Strategy } from "../../src/plan/types.js";
import { verifyCheckpoints, type VerifyReport } from "../../src/verify/verify-checkpoints.js";
import { renderVerifyReport } from "../../src/verify/render-report.js";
import { priorRepairFromManifest } from "../../src/repair/manifest.js";
import { assertOnlyZerosAdded, llamaCaseConfig, writeCase, type CaseSpec } from "./case-checkpoint.js";

let root: string;
let serial = 0;
before(async () => {
  root = await mkdtemp(join(tmpdir(), "gac-matrix-"));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const VOCAB = 64;
const TOKENS = 12;

interface RunOptions {
  dtype: Dtype;
  scaleMode: ScaleMode;
  strategy?: Strategy;
  maxShardBytes?: number;
  chunkBytes?: number;
  layerwise?: boolean;
}

interface Run {
  input: string;
  output: string;
  result: RepairResult;
  report: VerifyReport;
  config: Record<string, unknown>;
}

async function repairAndVerify(spec: CaseSpec, o: RunOptions): Promise<Run> {
  const dir = join(root, `case-${serial++}`);
  const input = join(dir, "in");
  const output = join(dir, "out");
  await writeCase(input, spec, { dtype: o.dtype, maxShardBytes: o.maxShardBytes, seed: 5 });
  const result = await repairCheckpoint(input, output, { strategy: o.strategy ?? "OPTIMAL", scaleMode: o.scaleMode, chunkBytes: o.chunkBytes });
  const report = await verifyCheckpoints(input, output, { tokens: TOKENS, seed: 9, layerwise: o.layerwise });
  const config = JSON.parse(await readFile(join(output, "config.json"), "utf8")) as Record<string, unknown>;
  return { input, output, result, report, config };
}

/** The run changed exactly these dims (ids) and skipped nothing. */
function assertChanged(r: Run, ids: string[]): void {
  assert.deepEqual(r.result.skipped, [], "nothing skipped");
  assert.deepEqual(r.result.changes.map((c) => c.id).sort(), [...ids].sort());
}

/** Fold: the q factors carry x sqrt(D/d); everything else is the original bytes plus zeros. */
async function assertBytes(r: Run): Promise<void> {
  const manifest = JSON.parse(await readFile(join(r.output, "gac-repair.json"), "utf8")) as RepairManifest;
  const scaled = manifest.tensors.filter((t) => t.scale !== undefined);
  if (manifest.scaleMode === "logical") assert.equal(scaled.length, 0, "logical mode rescales nothing");
  const factors = new Set(scaled.map((t) => t.scale));
  assert.ok(factors.size <= 1, "one fold factor for the model");
  await assertOnlyZerosAdded(r.input, r.output, { tensors: new Set(scaled.map((t) => t.tensor)), factor: [...factors][0] ?? 1 });
}

function assertClose(r: Run, bound = 1e-9): void {
  assert.equal(r.report.stats.argmaxAgree, TOKENS);
  assert.ok(r.report.stats.maxRelDiff < bound, `max rel diff ${r.report.stats.maxRelDiff} (bound ${bound})`);
  assert.equal(r.report.pass, true);
}

const perLayer = (layers: number, suffix: string) => Array.from({ length: layers }, (_, i) => `layers.${i}.${suffix}`);

// ---- head_dim with q/k/v biases, GQA 4 and 8, tied embeddings (Qwen2) -------------------------

function qwen2(heads: number, kvHeads: number, headDim: number): CaseSpec {
  const hidden = 64;
  const shape: LayerShape = { hidden, numHeads: heads, numKvHeads: kvHeads, headDim, intermediate: 48, qkvBias: true };
  return {
    config: llamaCaseConfig(
      { hidden, heads, kvHeads, headDim, intermediate: 48, layers: 2, vocab: VOCAB },
      { architectures: ["Qwen2ForCausalLM"], model_type: "qwen2", tie_word_embeddings: true, rope_theta: 1e6 },
    ),
    vocab: VOCAB,
    hidden,
    layers: [shape, shape],
    tied: true,
  };
}

for (const [heads, kvHeads, d, D] of [
  [8, 2, 12, 16],
  [8, 1, 20, 32],
] as const) {
  for (const [dtype, scaleMode] of [
    ["F64", "fold"],
    ["F32", "logical"],
  ] as const) {
    test(`Qwen2 q/k/v biases, GQA ${heads / kvHeads}, tied embeddings: head_dim ${d} -> ${D} in ${dtype} ${scaleMode} mode computes the same logits`, async () => {
      const r = await repairAndVerify(qwen2(heads, kvHeads, d), { dtype, scaleMode });
      assertChanged(r, perLayer(2, "self_attn.head_dim"));
      assert.equal(r.report.repaired.headDim, D);
      assertClose(r);
      await assertBytes(r);
    });
  }
}

// ---- RoPE variants: llama3, linear factor 2, transformers-5 rope_parameters; large D/d ---------

function llama(headDim: number | undefined, hidden: number, heads: number, kvHeads: number, extra: Record<string, unknown>, intermediate = 48): CaseSpec {
  const d = headDim ?? hidden / heads;
  const shape: LayerShape = { hidden, numHeads: heads, numKvHeads: kvHeads, headDim: d, intermediate };
  return { config: llamaCaseConfig({ hidden, heads, kvHeads, headDim, intermediate, layers: 2, vocab: VOCAB }, extra), vocab: VOCAB, hidden, layers: [shape, shape], tied: false };
}

const LLAMA3 = { rope_theta: 500000, rope_scaling: { rope_type: "llama3", factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 } };
const LINEAR2 = { rope_scaling: { type: "linear", factor: 2 } };
const ROPE_PARAMETERS = { rope_theta: undefined, rope_parameters: { rope_type: "linear", factor: 2, rope_theta: 10000 } };

for (const [label, extra, d, D] of [
  ["llama3 rope scaling (wavelengths on both sides of 16 and 64)", LLAMA3, 36, 48],
  ["llama3 rope scaling", LLAMA3, 20, 32],
  ["linear rope scaling, factor 2", LINEAR2, 20, 32],
  ["linear rope scaling, factor 2", LINEAR2, 36, 48],
  ["transformers-5 rope_parameters (linear, factor 2)", ROPE_PARAMETERS, 12, 16],
] as const) {
  for (const [dtype, scaleMode] of [
    ["F64", "fold"],
    ["F32", "logical"],
  ] as const) {
    test(`${label}: head_dim ${d} -> ${D} in ${dtype} ${scaleMode} mode computes the same logits`, async () => {
      const r = await repairAndVerify(llama(d, 64, 4, 2, extra), { dtype, scaleMode });
      assertChanged(r, perLayer(2, "self_attn.head_dim"));
      assert.equal(r.report.repaired.headDim, D);
      assertClose(r);
      await assertBytes(r);
    });
  }
}

test("rope_parameters: the repaired config moves rope_parameters.rope_theta to theta^(D/d) and adds no top-level rope_theta", async () => {
  const r = await repairAndVerify(llama(12, 64, 4, 2, ROPE_PARAMETERS), { dtype: "F32", scaleMode: "logical" });
  const params = r.config.rope_parameters as Record<string, unknown>;
  assert.equal(params.rope_theta, 10000 ** (16 / 12));
  assert.equal(params.rope_type, "linear");
  assert.equal(params.factor, 2);
  assert.equal("rope_theta" in r.config, false);
});

// ---- a config without head_dim: repair must write the padded one ------------------------------

test("a config without head_dim (hidden/heads = 12) gets an explicit head_dim 16, so stock loaders see the padded heads", async () => {
  const r = await repairAndVerify(llama(undefined, 48, 4, 2, {}), { dtype: "F64", scaleMode: "fold" });
  assertChanged(r, perLayer(2, "self_attn.head_dim"));
  assert.equal(r.config.head_dim, 16);
  assert.equal(r.config.hidden_size, 48);
  assert.equal(r.config.num_attention_heads, 4);
  assert.notEqual((r.config.hidden_size as number) / (r.config.num_attention_heads as number), r.config.head_dim, "hidden/heads no longer is head_dim");
  assert.deepEqual(
    r.result.manifest.config.find((c) => c.field === "head_dim"),
    { field: "head_dim", from: null, to: 16 },
  );
  // The repaired checkpoint read back as a stock loader would: q_proj rows are heads x 16.
  const spec = loadModelSpec(await openCheckpoint(r.output));
  assert.equal(spec.headDim, 16);
  assert.equal(spec.layers[0].attn.numHeads, 4);
  assert.equal(spec.layers[0].attn.numKvHeads, 2);
  assertClose(r);
  await assertBytes(r);
});

test("a config with head_dim null (as transformers writes it) gets head_dim 16 too", async () => {
  const r = await repairAndVerify(llama(undefined, 48, 4, 2, { head_dim: null }), { dtype: "F32", scaleMode: "logical" });
  assert.equal(r.config.head_dim, 16);
  assertClose(r);
});

// ---- PaLU: groups of two heads, head_dim change with ranks ------------------------------------

function palu(hidden: number, heads: number, ranks: { k: number[]; v: number[] }, qkvBias = false): CaseSpec {
  const headDim = hidden / heads;
  const layers: LayerShape[] = [0, 1].map(() => ({
    hidden,
    numHeads: heads,
    numKvHeads: heads,
    headDim,
    intermediate: 48,
    qkvBias,
    forms: { k: { kind: "palu", ranks: ranks.k }, v: { kind: "palu", ranks: ranks.v } } satisfies LayerShape["forms"],
  }));
  const headWiseRanks: Record<string, number[]> = {};
  for (const i of [0, 1]) for (const p of ["k", "v"] as const) headWiseRanks[`model.layers.${i}.self_attn.${p}_proj`] = ranks[p];
  return {
    config: llamaCaseConfig(
      { hidden, heads, kvHeads: heads, intermediate: 48, layers: 2, vocab: VOCAB },
      { architectures: ["PaluLlamaForCausalLM"], model_type: "palullama", head_wise_ranks: headWiseRanks },
    ),
    vocab: VOCAB,
    hidden,
    layers,
    tied: false,
  };
}

const paluRankIds = (groups: number) => [0, 1].flatMap((i) => ["k", "v"].flatMap((p) => Array.from({ length: groups }, (_, g) => `layers.${i}.self_attn.${p}_proj.rank.g${g}`)));

for (const [dtype, scaleMode] of [
  ["F64", "fold"],
  ["F32", "logical"],
] as const) {
  test(`PaLU, head_group_size 2 (U.g rows = 2 heads of 12), k/v biases: head_dim 12 -> 16 and group ranks padded per group in ${dtype} ${scaleMode} mode`, async () => {
    // 4 heads of 12 (hidden 48), two groups of two heads: U.g is [24, r_g] -> [32, R_g].
    const r = await repairAndVerify(palu(48, 4, { k: [13, 11], v: [9, 18] }, true), { dtype, scaleMode });
    assertChanged(r, [...perLayer(2, "self_attn.head_dim"), ...paluRankIds(2)]);
    const out = await openCheckpoint(r.output);
    assert.deepEqual(out.tensors.get("model.layers.0.self_attn.k_proj.U.0.weight")?.shape, [32, 16]);
    assert.deepEqual(out.tensors.get("model.layers.0.self_attn.v_proj.U.1.weight")?.shape, [32, 32]);
    assert.deepEqual(out.tensors.get("model.layers.0.self_attn.k_proj.U.1.bias")?.shape, [32]);
    assert.deepEqual(out.tensors.get("model.layers.0.self_attn.v_proj.VT.weight")?.shape, [48, 48]);
    assert.deepEqual((r.config.head_wise_ranks as Record<string, number[]>)["model.layers.1.self_attn.v_proj"], [16, 32]);
    assert.equal(r.config.head_dim, 16);
    assertClose(r);
    await assertBytes(r);
  });
}

test("PaLU, head_group_size 2, ranks only (head_dim 16 aligned): logits bit-identical", async () => {
  const r = await repairAndVerify(palu(64, 4, { k: [13, 11], v: [9, 18] }), { dtype: "F32", scaleMode: "fold" });
  assertChanged(r, paluRankIds(2));
  assert.equal(r.report.stats.maxRelDiff, 0);
  await assertBytes(r);
});

// ---- ASVD with ALinear biases; SVD-LLM with o_v_proj growing on both axes ---------------------

function lowRank(kind: "asvd" | "svdllm", headDim: number, intermediate: number, qkvBias: boolean): CaseSpec {
  const hidden = 64;
  const heads = 4;
  const f = (rank: number): LinearForm => ({ kind, rank });
  const forms = { q: f(13), k: f(11), v: f(7), o: f(9), gate: f(21), up: f(19), down: f(23) };
  const shape: LayerShape = { hidden, numHeads: heads, numKvHeads: heads, headDim, intermediate, qkvBias, forms };
  const truncation: Record<string, number> = {};
  for (const i of [0, 1])
    for (const [p, form] of Object.entries(forms)) truncation[`model.layers.${i}.${["gate", "up", "down"].includes(p) ? "mlp" : "self_attn"}.${p}_proj`] = (form as { rank: number }).rank;
  const extra = kind === "asvd" ? { architectures: ["ASVDLlamaForCausalLM"], truncation_ranks: truncation } : {};
  return { config: llamaCaseConfig({ hidden, heads, kvHeads: heads, headDim, intermediate, layers: 2, vocab: VOCAB }, extra), vocab: VOCAB, hidden, layers: [shape, shape], tied: false };
}

const rankIds = [0, 1].flatMap((i) => [...["q", "k", "v", "o"].map((p) => `layers.${i}.self_attn.${p}_proj.rank`), ...["gate", "up", "down"].map((p) => `layers.${i}.mlp.${p}_proj.rank`)]);

for (const kind of ["asvd", "svdllm"] as const) {
  for (const [dtype, scaleMode] of [
    ["F64", "fold"],
    ["F32", "logical"],
  ] as const) {
    test(`${kind}${kind === "asvd" ? " with q/k/v ALinear biases" : ""}: every rank, the intermediate and head_dim 12 -> 16 at once in ${dtype} ${scaleMode} mode`, async () => {
      const r = await repairAndVerify(lowRank(kind, 12, 37, kind === "asvd"), { dtype, scaleMode });
      assertChanged(r, [...rankIds, ...perLayer(2, "self_attn.head_dim"), ...perLayer(2, "mlp.intermediate")]);
      const out = await openCheckpoint(r.output);
      if (kind === "svdllm") {
        // o_v_proj [r, heads * d]: rank rows 9 -> 16 and head_dim columns 4 x 12 -> 4 x 16.
        assert.deepEqual(out.tensors.get("model.layers.0.self_attn.o_v_proj.weight")?.shape, [16, 64]);
        assert.deepEqual(out.tensors.get("model.layers.0.self_attn.q_u_proj.weight")?.shape, [64, 16]);
      } else {
        assert.deepEqual(out.tensors.get("model.layers.0.self_attn.q_proj.ALinear.bias")?.shape, [64]);
        assert.deepEqual(out.tensors.get("model.layers.1.self_attn.o_proj.BLinear.weight")?.shape, [16, 64]);
        assert.equal((r.config.truncation_ranks as Record<string, number>)["model.layers.1.mlp.down_proj"], 32);
      }
      assertClose(r);
      await assertBytes(r);
    });
  }
  test(`${kind}: ranks and intermediate only (head_dim 16): logits bit-identical`, async () => {
    const r = await repairAndVerify(lowRank(kind, 16, 37, kind === "asvd"), { dtype: "F32", scaleMode: "fold" });
    assertChanged(r, [...rankIds, ...perLayer(2, "mlp.intermediate")]);
    assert.equal(r.report.stats.maxRelDiff, 0);
    await assertBytes(r);
  });
}

// ---- FLAP: heterogeneous layers, stale config, o/down biases ----------------------------------

function flap(headDim: number): CaseSpec {
  const hidden = 64;
  const layer = (heads: number, intermediate: number): LayerShape => ({ hidden, numHeads: heads, numKvHeads: heads, headDim, intermediate, outBias: true });
  // The config is the unpruned model's (FLAP keeps it): 4 heads, intermediate 64.
  return {
    config: llamaCaseConfig({ hidden, heads: 4, kvHeads: 4, headDim, intermediate: 64, layers: 2, vocab: VOCAB }),
    vocab: VOCAB,
    hidden,
    layers: [layer(3, 48), layer(4, 37)],
    tied: false,
  };
}

test("FLAP layers of 3 and 4 heads, intermediate 48 (aligned) and 37 with down_proj bias: only layer 1's MLP is padded, logits bit-identical", async () => {
  const r = await repairAndVerify(flap(16), { dtype: "F32", scaleMode: "fold" });
  assertChanged(r, ["layers.1.mlp.intermediate"]);
  const out = await openCheckpoint(r.output);
  assert.deepEqual(out.tensors.get("model.layers.0.mlp.down_proj.weight")?.shape, [64, 48]);
  assert.deepEqual(out.tensors.get("model.layers.1.mlp.down_proj.weight")?.shape, [64, 48]);
  assert.deepEqual(out.tensors.get("model.layers.1.mlp.down_proj.bias")?.shape, [64]);
  assert.equal(r.report.stats.maxRelDiff, 0);
  await assertBytes(r);
});

for (const [dtype, scaleMode] of [
  ["F64", "fold"],
  ["F32", "logical"],
] as const) {
  test(`FLAP layers of 3 and 4 heads with o/down biases: head_dim 12 -> 16 in both and layer 1's intermediate in ${dtype} ${scaleMode} mode`, async () => {
    const r = await repairAndVerify(flap(12), { dtype, scaleMode, strategy: "MINIMAL" });
    assertChanged(r, [...perLayer(2, "self_attn.head_dim"), "layers.1.mlp.intermediate"]);
    const out = await openCheckpoint(r.output);
    assert.deepEqual(out.tensors.get("model.layers.0.self_attn.o_proj.weight")?.shape, [64, 48]);
    assert.deepEqual(out.tensors.get("model.layers.1.mlp.down_proj.weight")?.shape, [64, 40]);
    assertClose(r);
    await assertBytes(r);
  });
}

// ---- sharded 16-bit input streamed in 100-byte blocks -----------------------------------------

for (const dtype of ["BF16", "F16"] as const) {
  for (const scaleMode of ["logical", "fold"] as const) {
    test(`${dtype}, sharded every ~3 kB and streamed in 100-byte blocks (rows of 26 and 74 bytes): ${scaleMode} mode gives the original bytes plus zeros${scaleMode === "fold" ? " (q factors x sqrt(D/d), rounded once)" : ""}`, async () => {
      // q ALinear rows are 13 values (26 bytes), down BLinear rows 37 (74): no row lines up with 100.
      const spec = lowRank("asvd", 12, 37, true);
      const r = await repairAndVerify(spec, { dtype, scaleMode, maxShardBytes: 3000, chunkBytes: 100 });
      const out = await openCheckpoint(r.output);
      assert.ok(out.files.length > 5, `sharded into ${out.files.length} files`);
      assertChanged(r, [...rankIds, ...perLayer(2, "self_attn.head_dim"), ...perLayer(2, "mlp.intermediate")]);
      await assertBytes(r);
      if (scaleMode === "logical") assertClose(r, 1e-12);
      else assert.equal(r.report.pass, true, `within the 16-bit tolerance: ${r.report.stats.maxRelDiff}`);
    });
  }
}

test("layer-by-layer verification of a logical-mode PaLU head_dim repair stays at float64 noise in every layer", async () => {
  const r = await repairAndVerify(palu(48, 4, { k: [13, 11], v: [9, 18] }, true), { dtype: "F32", scaleMode: "logical", layerwise: true });
  assert.equal(r.report.mode, "layerwise");
  // Two decoder layers, plus the embeddings and the logits of the last layer's output.
  assert.deepEqual(
    r.report.layers?.map((l) => l.part ?? l.layer),
    ["embeddings", 0, 1, "logits"],
  );
  for (const l of r.report.layers ?? []) assert.ok(l.stats.maxRelDiff < 1e-12, `layer ${l.layer}: ${l.stats.maxRelDiff}`);
});

// ---- odd RoPE halves, extreme D/d, extra biases, stored inv_freq, PaLU under GQA ---------------

for (const [d, D, strategy, extra] of [
  [10, 16, "OPTIMAL", {}],
  [50, 64, "OPTIMAL", LLAMA3],
  [6, 8, "MINIMAL", LINEAR2],
  [4, 16, "OPTIMAL", LLAMA3],
  [2, 16, "OPTIMAL", {}],
] as const) {
  for (const [dtype, scaleMode] of [
    ["F64", "fold"],
    ["F32", "logical"],
  ] as const) {
    test(`head_dim ${d} -> ${D} (halves of ${d / 2}, rope_theta^${(D / d).toFixed(2)}) in ${dtype} ${scaleMode} mode computes the same logits`, async () => {
      const r = await repairAndVerify(llama(d, 64, 4, 2, extra), { dtype, scaleMode, strategy });
      assertChanged(r, perLayer(2, "self_attn.head_dim"));
      assert.equal(r.report.repaired.headDim, D);
      assertClose(r);
      await assertBytes(r);
    });
  }
}

const ones = (name: string, shape: number[]) => ({ name, shape, init: { kind: "normal" as const, std: 1 } });

test("Llama mlp_bias (gate/up/down biases): gate/up bias rows are padded with zeros, logits bit-identical", async () => {
  const spec = llama(16, 64, 4, 2, { mlp_bias: true }, 37);
  spec.extra = [0, 1].flatMap((i) => [ones(`model.layers.${i}.mlp.gate_proj.bias`, [37]), ones(`model.layers.${i}.mlp.up_proj.bias`, [37]), ones(`model.layers.${i}.mlp.down_proj.bias`, [64])]);
  const r = await repairAndVerify(spec, { dtype: "F32", scaleMode: "fold" });
  assertChanged(r, perLayer(2, "mlp.intermediate"));
  assert.deepEqual((await openCheckpoint(r.output)).tensors.get("model.layers.1.mlp.up_proj.bias")?.shape, [48]);
  assert.equal(r.report.stats.maxRelDiff, 0);
  await assertBytes(r);
});

test("ASVD with a BLinear bias on the padded rank: its rows are padded with zeros, logits bit-identical", async () => {
  const spec = lowRank("asvd", 16, 48, true);
  spec.extra = [0, 1].map((i) => ones(`model.layers.${i}.self_attn.q_proj.BLinear.bias`, [13]));
  const r = await repairAndVerify(spec, { dtype: "F32", scaleMode: "fold" });
  assertChanged(r, rankIds);
  assert.deepEqual((await openCheckpoint(r.output)).tensors.get("model.layers.0.self_attn.q_proj.BLinear.bias")?.shape, [16]);
  assert.equal(r.report.stats.maxRelDiff, 0);
  await assertBytes(r);
});

for (const scaleMode of ["fold", "logical"] as const) {
  test(`a stored rotary_emb.inv_freq [d/2] grows to [D/2] with zeros and the head_dim repair still matches (${scaleMode})`, async () => {
    const spec = llama(12, 64, 4, 2, {});
    spec.extra = [0, 1].map((i) => ones(`model.layers.${i}.self_attn.rotary_emb.inv_freq`, [6]));
    const r = await repairAndVerify(spec, { dtype: scaleMode === "fold" ? "F64" : "F32", scaleMode });
    assertChanged(r, perLayer(2, "self_attn.head_dim"));
    assert.deepEqual((await openCheckpoint(r.output)).tensors.get("model.layers.1.self_attn.rotary_emb.inv_freq")?.shape, [8]);
    assertClose(r);
    await assertBytes(r);
  });
}

for (const [dtype, scaleMode] of [
  ["F64", "fold"],
  ["F32", "logical"],
] as const) {
  test(`PaLU under GQA 2 (8 heads, 4 kv heads of 12, groups of 2 kv heads): head_dim and group ranks in ${dtype} ${scaleMode} mode`, async () => {
    const base = palu(96, 8, { k: [13, 27], v: [5, 21] }, true);
    const spec: CaseSpec = { ...base, layers: base.layers.map((l) => ({ ...l, numKvHeads: 4 })), config: { ...base.config, num_key_value_heads: 4 } };
    const r = await repairAndVerify(spec, { dtype, scaleMode });
    assertChanged(r, [...perLayer(2, "self_attn.head_dim"), ...paluRankIds(2)]);
    assert.deepEqual((await openCheckpoint(r.output)).tensors.get("model.layers.0.self_attn.k_proj.U.1.weight")?.shape, [32, 32]);
    assert.equal(r.report.repaired.headDim, 16);
    assertClose(r);
    await assertBytes(r);
  });
}

// ---- repairing a repaired checkpoint again --------------------------------------------------

test("a logical-mode output repaired again (MINIMAL, then OPTIMAL in logical mode) keeps the original softmax scale d^-0.5", async () => {
  const dir = join(root, `case-${serial++}`);
  await writeCase(join(dir, "in"), llama(12, 64, 4, 2, {}, 37), { dtype: "F32", seed: 5 });
  await repairCheckpoint(join(dir, "in"), join(dir, "once"), { strategy: "MINIMAL", scaleMode: "logical" });
  const twice = await repairCheckpoint(join(dir, "once"), join(dir, "twice"), { strategy: "OPTIMAL", scaleMode: "logical" });
  // The second pass pads the intermediate 40 -> 48 only; head_dim is 16 already.
  assert.deepEqual(
    twice.changes.map((c) => c.id),
    perLayer(2, "mlp.intermediate"),
  );
  assert.equal(twice.manifest.scaleMode, "logical");
  assert.equal(twice.manifest.logical.attention_scale, 12 ** -0.5);
  assert.equal(twice.manifest.logical.head_dim, 12);
  const report = await verifyCheckpoints(join(dir, "in"), join(dir, "twice"), { tokens: TOKENS, seed: 9 });
  assert.ok(report.stats.maxRelDiff < 1e-12, `max rel diff ${report.stats.maxRelDiff}`);
});

test("a logical-mode output repaired again with a head_dim change in logical mode still records the first pass's d^-0.5", async () => {
  const dir = join(root, `case-${serial++}`);
  await writeCase(join(dir, "in"), llama(12, 64, 4, 2, {}), { dtype: "F32", seed: 5 });
  await repairCheckpoint(join(dir, "in"), join(dir, "once"), { strategy: "MINIMAL", scaleMode: "logical" });
  // 12 -> 16 first; a second pass to the next compiled size would be 16 -> 32 only with PREDEFINED.
  const twice = await repairCheckpoint(join(dir, "once"), join(dir, "twice"), { strategy: "PREDEFINED", scaleMode: "logical" });
  assert.deepEqual(
    twice.changes.map((c) => `${c.id} ${c.from}->${c.to}`),
    perLayer(2, "self_attn.head_dim 16->32"),
  );
  assert.equal(twice.manifest.logical.attention_scale, 12 ** -0.5);
  const report = await verifyCheckpoints(join(dir, "in"), join(dir, "twice"), { tokens: TOKENS, seed: 9 });
  assert.ok(report.stats.maxRelDiff < 1e-12, `max rel diff ${report.stats.maxRelDiff}`);
  // Against its own input, itself a logical-mode output: both sides run with their manifests' scale.
  const step = await verifyCheckpoints(join(dir, "once"), join(dir, "twice"), { tokens: TOKENS, seed: 9 });
  assert.ok(step.stats.maxRelDiff < 1e-12, `second pass alone: max rel diff ${step.stats.maxRelDiff}`);
  assert.equal(step.originalScale?.attentionScale, 12 ** -0.5);
  assert.match(renderVerifyReport(step), /original is a logical repair \(.*gac-repair\.json\): it uses attention scale 2\.887e-1/);
  assert.equal(report.originalScale, undefined, "a plain original has no recorded scale");
});

test("fold mode on a logical-mode output is refused: folding cannot reach the scale its runtime must pass", async () => {
  const dir = join(root, `case-${serial++}`);
  await writeCase(join(dir, "in"), llama(12, 64, 4, 2, {}, 37), { dtype: "F32", seed: 5 });
  await repairCheckpoint(join(dir, "in"), join(dir, "once"), { strategy: "MINIMAL", scaleMode: "logical" });
  await assert.rejects(
    repairCheckpoint(join(dir, "once"), join(dir, "twice"), { strategy: "OPTIMAL", scaleMode: "fold" }),
    (e: unknown) => e instanceof Error && "code" in e && e.code === "UNSUPPORTED" && /logical/.test(e.message) && /0\.288/.test(e.message),
  );
});

test("a prior manifest's logical record is read with its original head_dim and dims, and a malformed head_dim is BAD_MANIFEST", () => {
  const prior = priorRepairFromManifest({ scaleMode: "logical", logical: { head_dim: 12, attention_scale: 12 ** -0.5, dims: { "layers.0.self_attn.head_dim": 12 } } }, "m.json");
  assert.deepEqual(prior, { manifest: "m.json", mode: "logical", attentionScale: 12 ** -0.5, headDim: 12, dims: { "layers.0.self_attn.head_dim": 12 } });
  assert.throws(
    () => priorRepairFromManifest({ scaleMode: "fold", logical: { head_dim: "12", dims: {} } }, "m.json"),
    (e: unknown) => e instanceof Error && "code" in e && e.code === "BAD_MANIFEST",
  );
});
