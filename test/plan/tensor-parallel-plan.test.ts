import { test } from "node:test";
import assert from "node:assert/strict";
import { VLLM_TP } from "../../src/contract/rules/tensor-parallel.js";
import { buildKernelGraph } from "../../src/graph/build-kernel-graph.js";
import { shardModelSpecs } from "../../src/graph/shard-spec.js";
import type { ModelSpec } from "../../src/model/types.js";
import { applyPlanToSpec } from "../../src/plan/apply-plan.js";
import { overheadByTp } from "../../src/plan/overhead-by-tp.js";
import { planRepair } from "../../src/plan/plan-repair.js";
import { craftSpec, grouped, lowrank } from "./specs.js";

const TP_DEGREES = [1, 2, 4, 8] as const;

/** One crafted spec per family, 16 heads / 8 kv heads of 64 so that every TP degree up to 8 splits the heads. */
const FAMILIES: Record<string, ModelSpec> = {
  dense: craftSpec({ heads: 16, kvHeads: 8, headDim: 64, hidden: 1024, intermediate: 2868 }),
  asvd: craftSpec({
    heads: 16,
    kvHeads: 8,
    headDim: 64,
    hidden: 1024,
    intermediate: 2868,
    family: "asvd",
    linears: (i) => ({
      q: lowrank(`model.layers.${i}.self_attn.q_proj.BLinear`, `model.layers.${i}.self_attn.q_proj.ALinear`, 1024, 1024, 153),
      gate: lowrank(`model.layers.${i}.mlp.gate_proj.BLinear`, `model.layers.${i}.mlp.gate_proj.ALinear`, 2868, 1024, 102),
    }),
  }),
  svdllm: craftSpec({
    heads: 16,
    kvHeads: 8,
    headDim: 64,
    hidden: 1024,
    intermediate: 2868,
    family: "svdllm",
    linears: (i) => ({
      o: lowrank(`model.layers.${i}.self_attn.o_v_proj`, `model.layers.${i}.self_attn.o_u_proj`, 1024, 1024, 102),
      down: lowrank(`model.layers.${i}.mlp.down_v_proj`, `model.layers.${i}.mlp.down_u_proj`, 1024, 2868, 150),
    }),
  }),
  palu: craftSpec({
    heads: 16,
    kvHeads: 8,
    headDim: 64,
    hidden: 1024,
    intermediate: 2868,
    family: "palu",
    linears: (i) => ({
      k: grouped(`model.layers.${i}.self_attn.k_proj`, 1024, 128, [114, 121, 117, 125]),
      v: grouped(`model.layers.${i}.self_attn.v_proj`, 1024, 128, [118, 123, 116, 124]),
    }),
  }),
};

/** GEMM dims that are not multiples of 8 on any GPU's shard. */
function misalignedOnAnyGpu(spec: ModelSpec, tp: number): string[] {
  const bad = new Set<string>();
  for (const shard of shardModelSpecs(spec, tp, VLLM_TP)) {
    assert.deepEqual(shard.refusals, [], `TP ${tp} rank ${shard.rank} refused`);
    for (const c of buildKernelGraph(shard.spec)) {
      if (c.kind !== "gemm") continue;
      if (c.n % 8 !== 0 || c.k % 8 !== 0) bad.add(`${c.role} n=${c.n} k=${c.k}`);
    }
  }
  return [...bad];
}

for (const [family, spec] of Object.entries(FAMILIES)) {
  for (const tp of TP_DEGREES) {
    test(`${family}: MINIMAL planned for TP ${tp} leaves every GPU's GEMMs aligned to 8`, () => {
      const plan = planRepair(spec, "MINIMAL", { runtime: "vllm", tp });
      assert.deepEqual(plan.refusals, []);
      assert.deepEqual(misalignedOnAnyGpu(applyPlanToSpec(spec, plan), tp), []);
    });
  }
}

test("an intermediate of 2868 is 717 per GPU at TP 4: the TP 1 plan (2872) leaves 718 per GPU, the TP 4 plan pads to 2880", () => {
  const spec = FAMILIES.dense;
  const atTp1 = planRepair(spec, "MINIMAL", { runtime: "vllm" });
  assert.deepEqual(
    atTp1.changes.map((c) => [c.id, c.to]),
    [
      ["layers.0.mlp.intermediate", 2872],
      ["layers.1.mlp.intermediate", 2872],
    ],
  );
  assert.ok(
    misalignedOnAnyGpu(applyPlanToSpec(spec, atTp1), 4).some((d) => /gate_proj n=718/.test(d)),
    "the whole-model plan collapses per GPU",
  );
  const atTp4 = planRepair(spec, "MINIMAL", { runtime: "vllm", tp: 4 });
  assert.deepEqual(
    atTp4.changes.map((c) => c.to),
    [2880, 2880],
    "the smallest multiple of 8 x 4 at or above 2868",
  );
});

test("a pruned MLP of 11472 needs no padding at TP 1 or 2 but pads to 11520 (1440 per GPU) at TP 8", () => {
  const spec = craftSpec({ heads: 32, kvHeads: 8, headDim: 128, hidden: 4096, intermediate: 11472, vocab: 128256 });
  assert.deepEqual(planRepair(spec, "MINIMAL", { runtime: "vllm" }).changes, []);
  assert.deepEqual(planRepair(spec, "MINIMAL", { runtime: "vllm", tp: 2 }).changes, [], "5736 per GPU is a multiple of 8");
  for (const strategy of ["MINIMAL", "OPTIMAL"] as const) {
    const plan = planRepair(spec, strategy, { runtime: "vllm", tp: 8 });
    assert.deepEqual(
      plan.changes.map((c) => [c.from, c.to]),
      [
        [11472, 11520],
        [11472, 11520],
      ],
      strategy,
    );
  }
  const rows = overheadByTp(spec, "OPTIMAL", "vllm");
  assert.deepEqual(
    rows.map((r) => [r.tp, r.intermediatePerGpu, r.dimsChanged]),
    [
      [1, [11472], 0],
      [2, [5744], 2],
      [4, [2880], 2],
      [8, [1440], 2],
    ],
  );
  // 48 extra channels in gate, up and down of 2 layers: 2 x 3 x 48 x 4096 parameters.
  assert.equal(rows[3].paramsAdded, 2 * 3 * 48 * 4096);
  assert.ok(rows[3].paramOverheadPct > 0 && rows.every((r, i) => i === 0 || r.paramOverheadPct >= rows[i - 1].paramOverheadPct));
});

test("heads that TP cannot split are refusals of the TP plan, never silent, and do not appear at TP 1", () => {
  const spec = craftSpec({ heads: 12, kvHeads: 12, headDim: 64, hidden: 768, intermediate: 2048 });
  assert.deepEqual(planRepair(spec, "MINIMAL", { runtime: "vllm" }).refusals, []);
  const plan = planRepair(spec, "MINIMAL", { runtime: "tensorrt-llm", tp: 8 });
  assert.deepEqual(
    plan.refusals.map((r) => r.id),
    ["layers.0.self_attn.heads", "layers.0.self_attn.kv_heads", "layers.1.self_attn.heads", "layers.1.self_attn.kv_heads"],
  );
  assert.match(plan.refusals[0].reason, /12 attention heads do not split over TP 8 .*padding whole heads is not implemented/);
  assert.equal(overheadByTp(spec, "MINIMAL", "vllm").find((r) => r.tp === 8)?.shardingRefusals, 4);
});
