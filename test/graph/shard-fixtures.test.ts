/**
 * Every tiny fixture family read from disk, sharded at TP 1/2/4/8 after the TP-aware MINIMAL plan:
 * where the runtime can split the heads, every GPU's GEMMs are aligned to 8; where it cannot, the
 * shard says so with the heads rule, and the plan lists it as a refusal.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openCheckpoint } from "../../src/checkpoint/open.js";
import { VLLM_TP } from "../../src/contract/rules/tensor-parallel.js";
import { FIXTURE_KINDS, generateFixture } from "../../src/fixtures/index.js";
import { buildKernelGraph } from "../../src/graph/build-kernel-graph.js";
import { shardModelSpecs } from "../../src/graph/shard-spec.js";
import { loadModelSpec } from "../../src/model/load-model-spec.js";
import type { ModelSpec } from "../../src/model/types.js";
import { applyPlanToSpec } from "../../src/plan/apply-plan.js";
import { planRepair } from "../../src/plan/plan-repair.js";

let root = "";
const specs = new Map<string, ModelSpec>();
before(async () => {
  root = await mkdtemp(join(tmpdir(), "gac-shard-fixtures-"));
  for (const { kind } of FIXTURE_KINDS) {
    const info = await generateFixture(kind, join(root, kind));
    specs.set(kind, loadModelSpec(await openCheckpoint(info.dir)));
  }
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Whether vLLM splits every layer's heads and kv heads over tp GPUs. */
const headsSplit = (spec: ModelSpec, tp: number) => spec.layers.every((l) => l.attn.numHeads % tp === 0 && (l.attn.numKvHeads >= tp ? l.attn.numKvHeads % tp === 0 : tp % l.attn.numKvHeads === 0));

for (const { kind } of FIXTURE_KINDS) {
  test(`${kind}: after the TP-aware MINIMAL plan every GPU's GEMMs are aligned at TP 1/2/4/8 where the heads split, and refused where they do not`, () => {
    const spec = specs.get(kind);
    assert.ok(spec);
    for (const tp of [1, 2, 4, 8]) {
      const plan = planRepair(spec, "MINIMAL", { runtime: "vllm", tp });
      const shards = shardModelSpecs(applyPlanToSpec(spec, plan), tp, VLLM_TP);
      if (!headsSplit(spec, tp)) {
        assert.ok(
          shards[0].refusals.some((r) => /heads$/.test(r.id)),
          `${kind} TP ${tp}: the heads rule refuses`,
        );
        assert.ok(plan.refusals.some((r) => /heads$/.test(r.id) && /padding whole heads is not implemented/.test(r.reason)));
        continue;
      }
      for (const shard of shards) {
        assert.deepEqual(shard.refusals, [], `${kind} TP ${tp} rank ${shard.rank}`);
        const bad = buildKernelGraph(shard.spec).filter((c) => c.kind === "gemm" && (c.n % 8 !== 0 || c.k % 8 !== 0));
        assert.deepEqual(
          bad.map((c) => c.id),
          [],
          `${kind} TP ${tp} rank ${shard.rank}`,
        );
      }
    }
  });
}

test("the tiny fixtures' 4 heads split over 2 and 4 GPUs but not 8, and FLAP's 3-head layer over none", () => {
  const aligned = specs.get("llama-aligned");
  const flap = specs.get("pruned-flap");
  assert.ok(aligned && flap);
  assert.deepEqual(
    [1, 2, 4, 8].map((tp) => headsSplit(aligned, tp)),
    [true, true, true, false],
  );
  assert.deepEqual(
    [1, 2, 4, 8].map((tp) => headsSplit(flap, tp)),
    [true, false, false, false],
  );
});
