import { test } from "node:test";
import assert from "node:assert/strict";
import { applyPlanToSpec } from "../../src/plan/apply-plan.js";
import { planRepair } from "../../src/plan/plan-repair.js";
import { STRATEGIES, type RepairPlan } from "../../src/plan/types.js";
import { collectDims } from "../../src/model/dims.js";
import { layerLinears, linearFactors } from "../../src/model/layer-linears.js";
import type { ModelSpec } from "../../src/model/types.js";
import { GacError } from "../../src/errors.js";
import { craftSpec, dense, grouped, lowrank } from "./specs.js";

/** [out, in] of every stored weight matrix, by tensor name. */
function weightShapes(spec: ModelSpec): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  for (const layer of spec.layers) for (const { linear } of layerLinears(layer)) for (const w of linearFactors(linear)) shapes.set(w.tensor, [w.out, w.in]);
  return shapes;
}

/** The repaired spec's weight shapes are the plan's tensor shapes, and every other weight keeps its shape. */
function assertAgreesWithPlan(spec: ModelSpec, plan: RepairPlan, label: string): ModelSpec {
  const after = applyPlanToSpec(spec, plan);
  const expected = weightShapes(spec);
  for (const t of plan.tensors) if (expected.has(t.tensor)) expected.set(t.tensor, t.to);
  assert.deepEqual(weightShapes(after), expected, label);
  const targets = new Map(plan.changes.map((c) => [c.id, c.to]));
  for (const d of collectDims(after)) if (targets.has(d.id)) assert.equal(d.value, targets.get(d.id), `${label} ${d.id}`);
  return after;
}

const paluSpec = () =>
  craftSpec({
    layers: 2,
    heads: 8,
    kvHeads: 4,
    headDim: 100,
    hidden: 512,
    family: "palu",
    linears: (i) => ({
      k: grouped(`model.layers.${i}.self_attn.k_proj`, 512, 200, [114, 121], true),
      v: grouped(`model.layers.${i}.self_attn.v_proj`, 512, 200, [117, 125]),
    }),
  });

const asvdSpec = () =>
  craftSpec({
    layers: 1,
    family: "asvd",
    linears: (i) => ({ gate: lowrank(`model.layers.${i}.mlp.gate_proj.BLinear`, `model.layers.${i}.mlp.gate_proj.ALinear`, 512, 256, 83, true) }),
  });

const svdllmSpec = () =>
  craftSpec({
    layers: 1,
    headDim: 100,
    heads: 4,
    kvHeads: 2,
    hidden: 256,
    intermediate: 700,
    family: "svdllm",
    linears: (i) => {
      const p = `model.layers.${i}`;
      return {
        q: lowrank(`${p}.self_attn.q_v_proj`, `${p}.self_attn.q_u_proj`, 400, 256, 102),
        o: lowrank(`${p}.self_attn.o_v_proj`, `${p}.self_attn.o_u_proj`, 256, 400, 77),
        down: lowrank(`${p}.mlp.down_v_proj`, `${p}.mlp.down_u_proj`, 256, 700, 150),
      };
    },
  });

test("a dense head_dim 100 -> 104 gives q 416 and k/v 208 outputs, o_proj 416 inputs, and head_dim 104 in every layer", () => {
  const spec = craftSpec({ layers: 2, headDim: 100, heads: 4, kvHeads: 2, hidden: 256, bias: true });
  const after = assertAgreesWithPlan(spec, planRepair(spec, "MINIMAL"), "dense");
  const attn = after.layers[1]?.attn;
  assert.deepEqual([attn?.headDim, attn?.headDimV, attn?.numHeads, attn?.numKvHeads], [104, 104, 4, 2]);
  assert.deepEqual([attn?.q.out, attn?.k.out, attn?.v.out, attn?.o.in, attn?.o.out], [416, 208, 208, 416, 256]);
  assert.equal(after.headDim, 104);
  assert.equal(spec.headDim, 100, "the input spec is not touched");
  assert.equal(spec.layers[1]?.attn.q.out, 400, "the input spec is not touched");
});

test("a pruned intermediate 8806 -> 8808 grows gate/up outputs and down inputs in its own layer only", () => {
  const spec = craftSpec({
    layers: 2,
    hidden: 256,
    linears: (i) =>
      i === 1 ? { gate: dense("model.layers.1.mlp.gate_proj", 8806, 256), up: dense("model.layers.1.mlp.up_proj", 8806, 256), down: dense("model.layers.1.mlp.down_proj", 256, 8806) } : {},
  });
  const after = assertAgreesWithPlan(spec, planRepair(spec, "MINIMAL"), "pruned");
  assert.deepEqual([after.layers[1]?.mlp.intermediate, after.layers[1]?.mlp.gate.out, after.layers[1]?.mlp.down.in], [8808, 8808, 8808]);
  assert.deepEqual([after.layers[0]?.mlp.intermediate, after.layers[0]?.mlp.down.in], [512, 512]);
});

test("PaLU ranks are padded per group (VT rows are their sum) and head_dim grows each group's width by its heads' share", () => {
  const spec = paluSpec();
  const after = assertAgreesWithPlan(spec, planRepair(spec, "MINIMAL"), "palu");
  const k = after.layers[0]?.attn.k;
  assert.equal(k?.kind, "grouped");
  if (k?.kind !== "grouped") return;
  assert.deepEqual(k.ranks, [120, 128]);
  assert.equal(k.first.out, 248);
  assert.deepEqual(
    k.groups.map((g) => [g.out, g.in]),
    [
      [208, 120],
      [208, 128],
    ],
  );
  assert.deepEqual([k.groupDim, k.out], [208, 416]);
  for (const s of STRATEGIES) assertAgreesWithPlan(spec, planRepair(spec, s), `palu ${s}`);
});

test("an ASVD rank 83 -> 96 grows BLinear outputs and ALinear inputs", () => {
  const spec = asvdSpec();
  const after = assertAgreesWithPlan(spec, planRepair(spec, "OPTIMAL"), "asvd");
  const gate = after.layers[0]?.mlp.gate;
  assert.equal(gate?.kind, "lowrank");
  if (gate?.kind !== "lowrank") return;
  assert.deepEqual([gate.rank, gate.first.out, gate.first.in, gate.second.out, gate.second.in], [96, 96, 256, 512, 96]);
});

test("SVD-LLM: o_v_proj takes both its rank and the head_dim padding, and every strategy agrees with the plan's tensor shapes", () => {
  const spec = svdllmSpec();
  const after = assertAgreesWithPlan(spec, planRepair(spec, "MINIMAL"), "svdllm");
  const o = after.layers[0]?.attn.o;
  assert.equal(o?.kind, "lowrank");
  if (o?.kind !== "lowrank") return;
  assert.deepEqual([o.first.out, o.first.in, o.second.out, o.second.in], [80, 416, 256, 80]);
  for (const s of STRATEGIES) assertAgreesWithPlan(spec, planRepair(spec, s), `svdllm ${s}`);
});

test("a plan with no changes gives an equal spec, and a plan for another model is refused", () => {
  const aligned = craftSpec({ headDim: 128 });
  assert.deepEqual(applyPlanToSpec(aligned, planRepair(aligned, "MINIMAL")), aligned);
  const plan = planRepair(craftSpec({ layers: 1, headDim: 100 }), "MINIMAL");
  assert.throws(
    () => applyPlanToSpec(craftSpec({ layers: 1, headDim: 96 }), plan),
    (e: unknown) => e instanceof GacError && e.code === "UNSUPPORTED" && /pads 100 -> 104, but the model has 96/.test(e.message),
  );
});
