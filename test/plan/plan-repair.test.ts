import { test } from "node:test";
import assert from "node:assert/strict";
import { planRepair } from "../../src/plan/plan-repair.js";
import { STRATEGIES } from "../../src/plan/types.js";
import { craftSpec, dense, denseParams, grouped, lowrank } from "./specs.js";

const shapeOf = (plan: ReturnType<typeof planRepair>, tensor: string) => plan.tensors.find((t) => t.tensor === tensor);

test("an aligned model plans no change under any strategy and costs nothing", () => {
  const spec = craftSpec({ headDim: 128, intermediate: 512 });
  for (const s of STRATEGIES) {
    const plan = planRepair(spec, s);
    assert.deepEqual([plan.changes, plan.tensors, plan.refusals], [[], [], []], s);
    assert.equal(plan.paramOverheadPct, 0);
    assert.equal(plan.paramsAfter, plan.paramsBefore);
  }
});

test("padding head_dim 100 -> 104 grows q/k/v rows and their biases per head, and o_proj columns, keeping the head counts", () => {
  const spec = craftSpec({ layers: 1, headDim: 100, heads: 4, kvHeads: 2, hidden: 256, bias: true });
  const plan = planRepair(spec, "MINIMAL");
  assert.deepEqual(plan.changes, [{ site: { kind: "head_dim", layer: 0 }, id: "layers.0.self_attn.head_dim", from: 100, to: 104 }]);
  const p = "model.layers.0.self_attn";
  assert.deepEqual(shapeOf(plan, `${p}.q_proj.weight`)?.to, [416, 256]);
  assert.deepEqual(shapeOf(plan, `${p}.q_proj.bias`)?.to, [416]);
  assert.deepEqual(shapeOf(plan, `${p}.k_proj.weight`)?.to, [208, 256]);
  assert.deepEqual(shapeOf(plan, `${p}.v_proj.bias`)?.to, [208]);
  assert.deepEqual(shapeOf(plan, `${p}.o_proj.weight`)?.from, [256, 400]);
  assert.deepEqual(shapeOf(plan, `${p}.o_proj.weight`)?.to, [256, 416]);
  assert.equal(plan.tensors.length, 7);
});

test("params and bytes are counted over the whole model, embeddings and norms included", () => {
  const shape = { layers: 2, hidden: 256, heads: 4, kvHeads: 2, headDim: 100, intermediate: 512, vocab: 1024, bias: true };
  const plan = planRepair(craftSpec(shape), "MINIMAL");
  const before = denseParams(shape);
  const after = denseParams({ ...shape, headDim: 104 });
  assert.equal(plan.paramsBefore, before);
  assert.equal(plan.paramsAfter, after);
  assert.equal(plan.bytesBefore, 2 * before);
  assert.equal(plan.bytesAfter, 2 * after);
  assert.ok(Math.abs(plan.paramOverheadPct - (100 * (after - before)) / before) < 1e-12);
  assert.equal(
    plan.tensors.reduce((a, t) => a + t.addedBytes, 0),
    2 * (after - before),
  );
});

test("an odd head_dim under RoPE is refused, not padded", () => {
  const plan = planRepair(craftSpec({ layers: 1, headDim: 107 }), "MINIMAL");
  assert.deepEqual(plan.changes, []);
  assert.equal(plan.refusals.length, 1);
  assert.equal(plan.refusals[0]?.id, "layers.0.self_attn.head_dim");
  assert.match(plan.refusals[0]?.reason ?? "", /head_dim 107 is odd/);
});

test("an irregular head_dim under yarn rope scaling is refused", () => {
  const spec = craftSpec({ layers: 1, headDim: 100, rope: { theta: 1e6, scaling: { type: "other", name: "yarn", raw: {} }, partialRotaryFactor: 1 } });
  const plan = planRepair(spec, "MINIMAL");
  assert.deepEqual(plan.changes, []);
  assert.match(plan.refusals[0]?.reason ?? "", /rope scaling 'yarn'/);
});

test("PaLU ranks are padded per group: VT rows grow by the sum, each U.g by its own columns", () => {
  const spec = craftSpec({
    layers: 1,
    heads: 8,
    kvHeads: 4,
    headDim: 64,
    hidden: 512,
    family: "palu",
    linears: (i) => ({ k: grouped(`model.layers.${i}.self_attn.k_proj`, 512, 128, [114, 121]) }),
  });
  const plan = planRepair(spec, "MINIMAL");
  assert.deepEqual(
    plan.changes.map((c) => [c.id, c.from, c.to]),
    [
      ["layers.0.self_attn.k_proj.rank.g0", 114, 120],
      ["layers.0.self_attn.k_proj.rank.g1", 121, 128],
    ],
  );
  const p = "model.layers.0.self_attn.k_proj";
  assert.deepEqual(shapeOf(plan, `${p}.VT.weight`)?.to, [248, 512]);
  assert.deepEqual(shapeOf(plan, `${p}.U.0.weight`)?.to, [128, 120]);
  assert.deepEqual(shapeOf(plan, `${p}.U.1.weight`)?.to, [128, 128]);
});

test("PaLU head_dim padding grows each U.g's rows by its heads' share", () => {
  const spec = craftSpec({
    layers: 1,
    heads: 8,
    kvHeads: 4,
    headDim: 100,
    hidden: 512,
    family: "palu",
    linears: (i) => ({ k: grouped(`model.layers.${i}.self_attn.k_proj`, 512, 200, [128, 128], true) }),
  });
  const plan = planRepair(spec, "MINIMAL");
  const p = "model.layers.0.self_attn.k_proj";
  assert.deepEqual(shapeOf(plan, `${p}.U.0.weight`)?.to, [208, 128]);
  assert.deepEqual(shapeOf(plan, `${p}.U.1.bias`)?.to, [208]);
  assert.equal(shapeOf(plan, `${p}.VT.weight`), undefined);
});

test("an ASVD rank grows BLinear rows and ALinear columns; ALinear's bias stays", () => {
  const spec = craftSpec({
    layers: 1,
    family: "asvd",
    linears: (i) => ({ gate: lowrank(`model.layers.${i}.mlp.gate_proj.BLinear`, `model.layers.${i}.mlp.gate_proj.ALinear`, 512, 256, 83, true) }),
  });
  const plan = planRepair(spec, "OPTIMAL");
  assert.deepEqual(
    plan.changes.map((c) => [c.id, c.to]),
    [["layers.0.mlp.gate_proj.rank", 96]],
  );
  assert.deepEqual(shapeOf(plan, "model.layers.0.mlp.gate_proj.BLinear.weight")?.to, [96, 256]);
  assert.deepEqual(shapeOf(plan, "model.layers.0.mlp.gate_proj.ALinear.weight")?.to, [512, 96]);
  assert.equal(shapeOf(plan, "model.layers.0.mlp.gate_proj.ALinear.bias"), undefined);
});

test("an SVD-LLM o_proj whose rank and head_dim both change shows both on o_v_proj", () => {
  const spec = craftSpec({
    layers: 1,
    headDim: 100,
    heads: 4,
    hidden: 256,
    family: "svdllm",
    linears: (i) => ({ o: lowrank(`model.layers.${i}.self_attn.o_v_proj`, `model.layers.${i}.self_attn.o_u_proj`, 256, 400, 77) }),
  });
  const plan = planRepair(spec, "MINIMAL");
  assert.deepEqual(shapeOf(plan, "model.layers.0.self_attn.o_v_proj.weight")?.to, [80, 416]);
  assert.deepEqual(shapeOf(plan, "model.layers.0.self_attn.o_u_proj.weight")?.to, [256, 80]);
});

test("a pruned intermediate 8806 grows gate/up rows and down columns in its own layer only", () => {
  const spec = craftSpec({
    layers: 2,
    hidden: 256,
    linears: (i) =>
      i === 1 ? { gate: dense("model.layers.1.mlp.gate_proj", 8806, 256), up: dense("model.layers.1.mlp.up_proj", 8806, 256), down: dense("model.layers.1.mlp.down_proj", 256, 8806) } : {},
  });
  const plan = planRepair(spec, "MINIMAL");
  assert.deepEqual(
    plan.changes.map((c) => c.id),
    ["layers.1.mlp.intermediate"],
  );
  assert.deepEqual(
    plan.tensors.map((t) => [t.tensor, t.to]),
    [
      ["model.layers.1.mlp.gate_proj.weight", [8808, 256]],
      ["model.layers.1.mlp.up_proj.weight", [8808, 256]],
      ["model.layers.1.mlp.down_proj.weight", [256, 8808]],
    ],
  );
});

test("an irregular hidden size and vocabulary are refusals, and padVocab false leaves the vocabulary out", () => {
  const spec = craftSpec({ layers: 1, hidden: 260, heads: 4, kvHeads: 2, headDim: 64, vocab: 1001 });
  const plan = planRepair(spec, "MINIMAL");
  assert.deepEqual(
    plan.refusals.map((r) => r.id),
    ["hidden_size", "vocab_size"],
  );
  assert.match(plan.refusals[0]?.reason ?? "", /RMSNorm's mean/);
  assert.deepEqual(
    planRepair(spec, "MINIMAL", { padVocab: false }).refusals.map((r) => r.id),
    ["hidden_size"],
  );
});

test("PREDEFINED pads head_dim to the chosen runtime's compiled sizes", () => {
  const spec = craftSpec({ layers: 1, headDim: 100 });
  assert.equal(planRepair(spec, "PREDEFINED").changes[0]?.to, 128);
  assert.equal(planRepair(spec, "PREDEFINED", { runtime: "tensorrt-llm" }).changes[0]?.to, 104);
  assert.equal(planRepair(spec, "PREDEFINED", { runtime: "llama.cpp" }).changes[0]?.to, 112);
});
