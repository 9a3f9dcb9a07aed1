import { after, test } from "node:test";
import assert from "node:assert/strict";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describeCheckpoint, isHeaderOnly, type E2eModel } from "../../../src/bench/e2e/models.js";
import { planE2e } from "../../../src/bench/e2e/plan-e2e.js";
import { selectConfigs, transformersRefusal } from "../../../src/bench/e2e/engines.js";
import { repairedShapes } from "../../../src/repair/repaired-shapes.js";
import { GRID_PRESETS } from "../../../src/bench/e2e/grid.js";
import { e2eRecords } from "../../../src/bench/e2e/rows.js";
import { readE2eRows, type E2eRow } from "../../../src/bench/e2e/measurements.js";
import { decodeStepBytes, roofline, rooflineMs, tokensPerSecond, weightBytesReadPerStep } from "../../../src/bench/e2e/roofline.js";
import { openCheckpoint } from "../../../src/checkpoint/open.js";
import { generateFixture } from "../../../src/fixtures/index.js";
import { modelTensors } from "../../../src/plan/model-tensors.js";
import type { ModelSpec } from "../../../src/model/types.js";
import type { TensorEdit } from "../../../src/repair/tensor-edits.js";
import type { CapabilityOk } from "../../../src/bench/protocol.js";
import { scratchDir } from "../helpers.js";

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function fixture(kind: Parameters<typeof generateFixture>[0], opts: Parameters<typeof generateFixture>[2] = {}): Promise<string> {
  const root = await scratchDir("e2e-models");
  dirs.push(root);
  return (await generateFixture(kind, join(root, kind), opts)).dir;
}

/** The shapes a base spec's tensors take after the edits: what the worker's weights will be. */
function editedShapes(base: ModelSpec, edits: readonly TensorEdit[]): Map<string, number[]> {
  const shapes = new Map([...modelTensors(base)].map(([name, t]) => [name, t.shape]));
  for (const e of edits) {
    assert.deepEqual(shapes.get(e.tensor), e.from, `${e.tensor} starts at the base shape`);
    if (e.rows) assert.equal(e.rows.to, e.to[0]);
    if (e.cols) assert.equal(e.cols.to, e.to[1]);
    shapes.set(e.tensor, e.to);
  }
  return shapes;
}

const shapesOf = (spec: ModelSpec) => new Map([...modelTensors(spec)].map(([name, t]) => [name, t.shape]));

test("a repaired model's base.edits applied to the base spec's shapes give exactly the repaired spec's shapes (direct SVD, pruned MLP, PaLU, SVD-LLM)", async () => {
  for (const kind of ["llama-direct-svd", "llama-pruned-mlp", "palu", "svdllm"] as const) {
    const models = await describeCheckpoint(await fixture(kind), { variants: ["none", "MINIMAL", "OPTIMAL"], scale: "fold", weights: "auto", role: "checkpoint" });
    assert.deepEqual(
      models.map((m) => m.variant),
      ["none", "MINIMAL", "OPTIMAL"],
    );
    for (const m of models.slice(1)) {
      const base = m.description.base;
      assert.ok(base, `${kind} ${m.variant} has a base`);
      assert.ok(base.edits.length > 0, `${kind} ${m.variant} changes something`);
      assert.deepEqual(editedShapes(base.spec, base.edits), shapesOf(m.description.spec), `${kind} ${m.variant}`);
    }
  }
});

test("model descriptions carry the repaired config.json, the folded or logical scale, and random weights only when asked for a real tiny checkpoint", async () => {
  const dsvd = await fixture("llama-direct-svd");
  const [none, minimal] = await describeCheckpoint(dsvd, { variants: ["none", "MINIMAL"], scale: "fold", weights: "auto", role: "checkpoint" });
  assert.equal(none.description.label, "llama-direct-svd/none");
  assert.equal(none.description.weights, "checkpoint");
  assert.equal(none.description.hf_config.head_dim, 52);
  assert.equal(minimal.description.hf_config.head_dim, 56);
  assert.equal(minimal.description.spec.headDim, 56);
  assert.equal(minimal.description.attention_scale, null);
  assert.ok(
    minimal.description.base?.edits.some((e) => e.scale !== undefined),
    "fold mode scales q_proj",
  );
  const [, logical] = await describeCheckpoint(dsvd, { variants: ["MINIMAL"], scale: "logical", weights: "random", role: "checkpoint" });
  assert.equal(logical.description.label, "llama-direct-svd/MINIMAL@logical");
  assert.equal(logical.description.weights, "random");
  assert.equal(logical.description.attention_scale, 52 ** -0.5);
  assert.ok(logical.description.base?.edits.every((e) => e.scale === undefined));
  const [, mlp] = await describeCheckpoint(await fixture("llama-pruned-mlp"), { variants: ["MINIMAL"], scale: "fold", weights: "auto", role: "checkpoint" });
  assert.equal(mlp.description.hf_config.intermediate_size, 512);
});

test("a repaired model carries its own config disagreements: a stale MLP width in config.json that the repair's config update fixes is gone, so transformers may load the repair", async () => {
  const dir = await fixture("llama-pruned-mlp");
  const configPath = join(dir, "config.json");
  const config = JSON.parse(await readFile(configPath, "utf8"));
  await writeFile(configPath, JSON.stringify({ ...config, intermediate_size: 600 }));
  const [none, minimal] = await describeCheckpoint(dir, { variants: ["none", "MINIMAL"], scale: "fold", weights: "auto", role: "checkpoint" });
  assert.match(none.description.spec.configDisagreements.join("; "), /intermediate size 509 .* config intermediate_size is 600/);
  assert.match(transformersRefusal(none.description.spec, none.description.hf_config) ?? "", /config.json does not match the tensor shapes/);
  assert.equal(minimal.description.hf_config.intermediate_size, 512);
  assert.deepEqual(minimal.description.spec.configDisagreements, []);
  assert.equal(transformersRefusal(minimal.description.spec, minimal.description.hf_config), null);
});

test("repaired shapes are the original's with each edited tensor at its edit's shape, and an edit of a tensor the checkpoint lacks is refused", () => {
  const original = new Map([
    ["a", { dtype: "BF16" as const, shape: [4, 6] }],
    ["b", { dtype: "F32" as const, shape: [3] }],
  ]);
  const edit = { tensor: "a", dtype: "BF16" as const, from: [4, 6], to: [8, 6], reasons: [] };
  const out = repairedShapes(original, [edit]);
  assert.deepEqual(out.get("a"), { dtype: "BF16", shape: [8, 6] });
  assert.deepEqual(out.get("b"), { dtype: "F32", shape: [3] });
  assert.deepEqual(original.get("a")?.shape, [4, 6], "the input is not touched");
  assert.throws(() => repairedShapes(original, [{ ...edit, tensor: "c" }]), /tensor 'c', which the checkpoint does not have/);
});

test("a strategy that changes nothing, or the same as an earlier one, is marked sameAs and gets no job", async () => {
  const models = await describeCheckpoint(await fixture("llama-aligned"), { variants: ["none", "MINIMAL", "OPTIMAL"], scale: "fold", weights: "auto", role: "parent" });
  assert.deepEqual(
    models.map((m) => m.sameAs),
    [undefined, "none", "none"],
  );
  const plan = planE2e(models, selectConfigs(["gac"]), GRID_PRESETS.quick, { present: new Set() });
  assert.deepEqual(
    plan.jobs.map((j) => j.case),
    ["e2e/llama-aligned/none/gac/eager/static", "e2e/llama-aligned/none/gac/eager-nocudnn/static", "e2e/llama-aligned/none/gac/graph/static", "e2e/llama-aligned/none/gac/graph-splitkv/static"],
  );
  assert.deepEqual(plan.aliases, [
    { model: "llama-aligned/MINIMAL", sameAs: "llama-aligned/none" },
    { model: "llama-aligned/OPTIMAL", sameAs: "llama-aligned/none" },
  ]);
});

test("header-only detection: a sparse real-size fixture is header-only (weights auto -> random), a written tiny one is not; --weights checkpoint on a sparse one is refused", async () => {
  const sparse = await fixture("llama-pruned-mlp", { scale: "llama3-8b", sparse: true });
  assert.equal(await isHeaderOnly(await openCheckpoint(sparse)), true);
  assert.equal(await isHeaderOnly(await openCheckpoint(await fixture("llama-pruned-mlp"))), false);
  const [m] = await describeCheckpoint(sparse, { variants: ["none"], scale: "fold", weights: "auto", role: "checkpoint" });
  assert.equal(m.description.weights, "random");
  assert.match(m.weightsNote, /header-only/);
  await assert.rejects(describeCheckpoint(sparse, { variants: ["none"], scale: "fold", weights: "checkpoint", role: "checkpoint" }), /header-only \(sparse/);
});

test("roofline arithmetic: weights read (untied embeddings left out) plus the KV cache, over the copy bandwidth", () => {
  const spec = { tieWordEmbeddings: false, vocabSize: 128256, hiddenSize: 4096, dtype: "BF16" as const };
  assert.equal(weightBytesReadPerStep(16_060_522_496, spec), 16_060_522_496 - 128256 * 4096 * 2);
  assert.equal(weightBytesReadPerStep(1000, { ...spec, tieWordEmbeddings: true }), 1000);
  assert.equal(decodeStepBytes(1e9, 32, 4096, 131072), 1e9 + 32 * 4096 * 131072);
  assert.equal(rooflineMs(4.3e9, 4300), 1);
  const r = roofline(8.6e9, 4300, 4);
  assert.equal(r.ms, 2);
  assert.equal(r.fraction, 0.5);
  assert.equal(tokensPerSecond("prefill", 4, 2048, 50), 163840);
  assert.equal(tokensPerSecond("decode", 32, 4096, 8), 4000);
});

const capability: CapabilityOk = { type: "capability", ok: true, gpu: { name: "NVIDIA H200", index: 0 }, torch: "2.11.0", cudnn: 91900, cuda: "13.0", transformers: "5.17.0" };

function oneModel(spec: ModelSpec): E2eModel {
  return {
    description: { label: "m/none", spec, hf_config: {}, checkpoint: null, weights: "random", attention_scale: null, base: null },
    name: "m",
    variant: "none",
    role: "checkpoint",
    scale: "fold",
    changes: 0,
    skipped: [],
    paramOverheadPct: 0,
    weightsNote: "random",
  };
}

test("a job's answer becomes one row per point (stats, roofline, versions, commit), skipped points become oom rows, and a broken body one bad_result row", async () => {
  const [m] = await describeCheckpoint(await fixture("llama-aligned"), { variants: ["none"], scale: "fold", weights: "auto", role: "checkpoint" });
  const model = { ...oneModel(m.description.spec), description: { ...m.description, label: "m/none" } };
  const grid = {
    ...GRID_PRESETS.quick,
    decode: [
      { batch: 1, context: 256 },
      { batch: 64, context: 65536 },
    ],
  };
  const plan = planE2e([model], selectConfigs(["gac"], "graph"), grid, { present: new Set(), noLogits: true });
  const [job] = plan.jobs;
  const stats = { median_ms: 2, p10_ms: 1.9, p90_ms: 2.2, n: 16 };
  const body = {
    engine: "gac",
    config: "graph",
    cache: "static",
    dtype: "fp16",
    weights: "checkpoint",
    copy_bandwidth_gbps: 4000,
    model: { label: "m/none", params: 1e6, weight_bytes: 4e6, kv_bytes_per_token: 1024 },
    points: [
      { phase: "prefill", batch: 1, seq: 128, stats, samples_ms: [2] },
      {
        phase: "decode",
        batch: 1,
        context: 256,
        stats,
        samples_ms: [2],
        host_probe_us: { launch: { median: 7, min: 6.5, max: 9, samples: [7, 6.5, 9] }, module: { median: 9, min: 8, max: 12, samples: [9, 8, 12] }, python: { median: "slow" } },
        attention_part_ms: 0.4,
      },
    ],
    skipped: [{ phase: "decode", batch: 64, context: 65536, reason: "oom: CUDA out of memory. Tried to allocate 8 GiB" }],
    kernels: { decode_attention: ["flash_fwd_splitkv_kernel"] },
  };
  const base = { capability, gpu: "NVIDIA H200", gpu_index: 0, time: "2026-12-01T00:00:00Z", wall_ms: 1500 };
  const ctx = { models: new Map([["m/none", model]]), gitCommit: "abc123", grid };
  const rows = e2eRecords(job, { type: "result", id: "x", op: "e2e", body }, base, ctx);
  assert.deepEqual(
    rows.map((r) => r.case),
    ["e2e/m/none/gac/graph/static/prefill/b1/s128", "e2e/m/none/gac/graph/static/decode/b1/c256", "e2e/m/none/gac/graph/static/decode/b64/c65536"],
  );
  assert.equal(rows[0].params.seq, 128);
  assert.equal(rows[1].params.context, 256);
  assert.equal(rows[1].kernels?.[0], "flash_fwd_splitkv_kernel");
  assert.deepEqual(rows[0].extra?.env, { git_commit: "abc123", torch: "2.11.0", cuda: "13.0", cudnn: "91900", transformers: "5.17.0", driver: null, compute_capability: null });
  const roof = rows[1].extra?.roofline as { bytes: number; ms: number; fraction: number; kv_len: number };
  const spec = model.description.spec;
  const expectedBytes = 4e6 - spec.vocabSize * spec.hiddenSize * 4 + 1 * (256 + 1 + 2.5) * 1024;
  assert.equal(roof.kv_len, 259.5);
  assert.ok(Math.abs(roof.bytes - expectedBytes) < 1e-6);
  assert.ok(Math.abs(roof.fraction - ((expectedBytes / 4e12) * 1e3) / 2) < 1e-12);
  assert.deepEqual(rows[2].error, { type: "oom", message: "oom: CUDA out of memory. Tried to allocate 8 GiB" });
  // the host probe of a decode point travels to the row and reads back as its medians; a malformed kind is dropped
  assert.deepEqual(Object.keys(rows[1].extra?.host_probe_us as object), ["launch", "module"]);
  const read = readE2eRows(rows.map((r) => ({ ...r, gpu: "NVIDIA H200" }) as E2eRow));
  assert.deepEqual(read.measurements.find((x) => x.phase === "decode")?.host_probe_us, { launch: 7, module: 9 });
  assert.equal(read.measurements.find((x) => x.phase === "decode")?.attention_part_ms, 0.4);
  assert.equal(read.measurements.find((x) => x.phase === "prefill")?.host_probe_us, undefined);
  const broken = e2eRecords(job, { type: "result", id: "x", op: "e2e", body: { ...body, copy_bandwidth_gbps: "fast" } }, base, ctx);
  assert.equal(broken.length, 1);
  assert.equal(broken[0].case, job.case);
  assert.match(broken[0].error?.message ?? "", /e2e\.copy_bandwidth_gbps is "fast", not a number/);
  const refused = e2eRecords(job, { type: "error", id: "x", error: { type: "unsupported", message: "cannot" } }, base, ctx);
  assert.deepEqual(
    refused.map((r) => [r.case, r.error?.type]),
    [[job.case, "unsupported"]],
  );
});

test("raw worker output and the job lines it answered become the same rows gac bench e2e writes, with the models' specs", async () => {
  const { rowsFromWorkerLines } = await import("../../../src/bench/e2e/worker-lines.js");
  const [none, minimal] = await describeCheckpoint(await fixture("llama-direct-svd"), { variants: ["none", "MINIMAL"], scale: "fold", weights: "random", role: "checkpoint" });
  const job = {
    type: "job",
    id: "e2e/x/gac/graph/static",
    op: "e2e",
    params: { model: none.description, engine: "gac", config: "graph", cache: "static", decode: [{ batch: 1, context: 256 }], decode_steps: 4, warmup: 1 },
  };
  const logitsJob = { type: "job", id: "e2e_logits/x/MINIMAL", op: "e2e_logits", params: { original: none.description, repaired: minimal.description, engines: ["gac"], batch: 1, seq: 64 } };
  const stats = { median_ms: 3, p10_ms: 2.9, p90_ms: 3.2, n: 4 };
  const cmp = { max_abs_diff: 0, max_abs_logit: 10, rel_to_max: 0, mean_abs_diff: 0, argmax_agree: 1 };
  const lines = [
    JSON.stringify({ type: "capability", ok: true, gpu: { name: "NVIDIA H200", index: 0 }, torch: "2.11.0", cudnn: "9.19.0" }),
    JSON.stringify({
      type: "result",
      id: job.id,
      op: "e2e",
      e2e: {
        engine: "gac",
        config: "graph",
        cache: "static",
        dtype: "fp16",
        weights: "random",
        copy_bandwidth_gbps: 4192,
        model: { label: none.description.label, params: 1, weight_bytes: 2e6, kv_bytes_per_token: 512 },
        points: [{ phase: "decode", batch: 1, context: 256, stats, samples_ms: [3] }],
        skipped: [],
        kernels: {},
      },
    }),
    JSON.stringify({ type: "result", id: logitsJob.id, op: "e2e_logits", e2e_logits: { repair_fp32: { gac: cmp }, repair_serving: { gac: cmp }, noise_floor: { gac: cmp }, unsupported: {} } }),
    JSON.stringify({ type: "result", id: "e2e/unknown/gac/graph/static", op: "e2e", e2e: {} }),
  ];
  const imported = rowsFromWorkerLines(lines, [JSON.stringify(job), JSON.stringify(logitsJob)]);
  assert.deepEqual(
    imported.rows.map((r) => [r.suite, r.case]),
    [
      ["e2e", "e2e/x/gac/graph/static/decode/b1/c256"],
      ["e2e_logits", "e2e_logits/x/MINIMAL"],
    ],
  );
  assert.equal(imported.rows[0].params.variant, "none");
  assert.equal(imported.rows[0].params.context, 256);
  assert.equal((imported.rows[0].extra?.env as Record<string, unknown>).cudnn, "9.19.0");
  assert.deepEqual(imported.unmatched, ["e2e/unknown/gac/graph/static"]);
  assert.deepEqual(imported.models.map((m) => m.label).sort(), [none.description.label, minimal.description.label].sort());
});
