import assert from "node:assert/strict";
import { test } from "node:test";
import { planStudyJobs, repairedOptimal, type StudyVariant } from "../../bench/compress-study-plan.js";
import { fixtureSpec } from "../../src/fixtures/kinds.js";

interface Job {
  id: string;
  params: { engine: string; model: { label: string; hf_config: Record<string, unknown>; spec: { configDisagreements: string[]; layers: { mlp: { intermediate: number } }[] } } };
}

/** The tiny aligned Llama (intermediate 512) with every layer's MLP cut to `width` and, as FLAP leaves it, config.json unchanged. */
function prunedTiny(name: string, width: number): StudyVariant {
  const f = fixtureSpec("llama-aligned");
  const shape = (tensor: string, s: readonly number[]) => {
    if (/mlp\.(gate|up)_proj\.weight$/.test(tensor)) return [width, s[1]!];
    if (/mlp\.down_proj\.weight$/.test(tensor)) return [s[0]!, width];
    return s;
  };
  return { name, config: f.config, shapes: new Map(f.tensors.map((t) => [t.name, { dtype: "F16" as const, shape: shape(t.name, t.shape) }])) };
}

const ids = (jobs: object[]) => (jobs as Job[]).map((j) => j.id);

test("a pruned MLP under its original config is timed in gac's engine only, with the reason transformers is not planned", () => {
  const plan = planStudyJobs([prunedTiny("prune-mlp-tiny-b60-a", 300)]);
  assert.ok(ids(plan.jobs).includes("e2e/prune-mlp-tiny-b60-a/gac/eager/static"));
  assert.ok(!ids(plan.jobs).includes("e2e/prune-mlp-tiny-b60-a/transformers/sdpa/dynamic"));
  const refusal = plan.refusals.find((r) => r.label === "prune-mlp-tiny-b60-a");
  assert.equal(refusal?.config, "transformers/sdpa/dynamic");
  assert.match(refusal?.reason ?? "", /intermediate size 300 in gate_proj rows but config intermediate_size is 512/);
});

test("variant a's OPTIMAL repair reads back with the updated config, so stock transformers is planned for it", () => {
  const plan = planStudyJobs([prunedTiny("prune-mlp-tiny-b60-a", 300)]);
  const b = (plan.jobs as Job[]).filter((j) => j.params.model.label === "prune-mlp-tiny-b60-b");
  assert.deepEqual(
    b.map((j) => j.params.engine),
    ["gac", "transformers"],
  );
  const m = b[0]!.params.model;
  const width = m.spec.layers[0]!.mlp.intermediate;
  assert.ok(width > 300 && width % 16 === 0, `repaired width ${width}`);
  assert.equal(m.hf_config.intermediate_size, width);
  assert.deepEqual(m.spec.configDisagreements, []);
});

test("a variant with the same shapes and config as one already planned is aliased to it, not timed again", () => {
  const plan = planStudyJobs([prunedTiny("prune-mlp-tiny-b60-c", 288), prunedTiny("prune-mlp-tiny-b60-e", 288)]);
  assert.deepEqual(plan.aliases, { "prune-mlp-tiny-b60-e": "prune-mlp-tiny-b60-c" });
  assert.deepEqual(ids(plan.jobs), ["e2e/prune-mlp-tiny-b60-c/gac/eager/static"]);
});

test("a dense model whose config matches its shapes is timed in both engines and needs no repair", () => {
  const dense = prunedTiny("dense-tiny-b100-a", 512);
  const plan = planStudyJobs([dense]);
  assert.deepEqual(ids(plan.jobs), ["e2e/dense-tiny-b100-a/gac/eager/static", "e2e/dense-tiny-b100-a/transformers/sdpa/dynamic"]);
  assert.deepEqual(plan.refusals, []);
  assert.equal(repairedOptimal("dense-tiny-b100-b", dense), null);
});
