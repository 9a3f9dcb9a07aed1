import { test } from "node:test";
import assert from "node:assert/strict";
import { GacError } from "../../../src/errors.js";
import { GRID_PRESETS, gridPoints, meanDecodeKvLen, parsePairs, pointKey, resolveGrid } from "../../../src/bench/e2e/grid.js";
import { ENGINE_CONFIGS, parseEngines, selectConfigs, transformersRefusal } from "../../../src/bench/e2e/engines.js";
import { fixtureSpec } from "../../../src/fixtures/kinds.js";
import { buildModelSpec } from "../../../src/model/build-model-spec.js";
import type { FixtureKind } from "../../../src/fixtures/index.js";

const badArgs = (re: RegExp) => (e: unknown) => e instanceof GacError && e.code === "BAD_ARGS" && re.test(e.message);

test("the default grid has the research note's points: prefill 1x2048 and 4x2048, decode B1 and B32 after 4096 tokens", () => {
  assert.deepEqual(
    gridPoints(resolveGrid()).map((p) => p.key),
    ["prefill/b1/s2048", "prefill/b4/s2048", "decode/b1/c4096", "decode/b32/c4096"],
  );
  assert.equal(resolveGrid({ grid: "long" }).prefill.at(-1)?.seq, 32768);
  assert.equal(GRID_PRESETS.quick.decode.length, 1);
});

test("explicit --prefill and --decode lists replace the preset's and rename the grid", () => {
  const g = resolveGrid({ grid: "quick", prefill: "1x64, 2x32", decode: "8x100" });
  assert.deepEqual(g.prefill, [
    { batch: 1, seq: 64 },
    { batch: 2, seq: 32 },
  ]);
  assert.deepEqual(g.decode, [{ batch: 8, context: 100 }]);
  assert.equal(g.name, "quick+custom");
  assert.equal(g.decodeSteps, GRID_PRESETS.quick.decodeSteps);
});

test("bad grid input fails with one line naming the flag and the item", () => {
  assert.throws(() => parsePairs("1x2048,4by2048", "--prefill"), badArgs(/--prefill: '4by2048' is not BATCHxLENGTH/));
  assert.throws(() => parsePairs("0x10", "--decode"), badArgs(/'0x10'/));
  assert.throws(() => parsePairs("", "--decode"), badArgs(/--decode is empty/));
  assert.throws(() => resolveGrid({ grid: "huge" }), badArgs(/--grid takes quick, default, long/));
});

test("point keys and the mean KV length of the timed decode steps", () => {
  assert.equal(pointKey("prefill", 4, 2048), "prefill/b4/s2048");
  assert.equal(pointKey("decode", 32, 4096), "decode/b32/c4096");
  // After a 4096-token prefill, warm-up steps 0-1 attend to 4097-4098 keys, timed steps 2-17 to 4099-4114.
  assert.equal(meanDecodeKvLen(4096, 2, 16), (4099 + 4114) / 2);
});

test("configurations: twelve in all, engine and glob selection, and a pattern that matches nothing is an error", () => {
  assert.equal(ENGINE_CONFIGS.length, 12);
  assert.deepEqual(
    selectConfigs(parseEngines("gac")).map((c) => c.id),
    ["gac/eager/static", "gac/eager-nocudnn/static", "gac/graph/static", "gac/graph-splitkv/static"],
  );
  assert.deepEqual(
    selectConfigs(parseEngines("gac"), "gac/graph*/*").map((c) => c.id),
    ["gac/graph/static", "gac/graph-splitkv/static"],
  );
  assert.deepEqual(
    selectConfigs(parseEngines("all"), "transformers/*/static,graph").map((c) => c.id),
    ["transformers/sdpa/static", "transformers/sdpa-nocudnn/static", "transformers/sdpa-avoid-recompile/static", "transformers/eager/static", "gac/graph/static"],
  );
  assert.deepEqual(
    selectConfigs(["transformers"], "sdpa-nocudnn").map((c) => c.id),
    ["transformers/sdpa-nocudnn/dynamic", "transformers/sdpa-nocudnn/static"],
  );
  assert.throws(() => selectConfigs(["gac"], "vllm"), badArgs(/'vllm' matches no configuration/));
  assert.throws(() => selectConfigs(["gac"], "transformers/sdpa/*"), badArgs(/selects nothing of the engine\(s\) gac/));
  assert.throws(() => parseEngines("tensorrt"), badArgs(/--engine takes transformers, gac or all/));
});

function specOf(kind: FixtureKind) {
  const f = fixtureSpec(kind);
  const shapes = new Map(f.tensors.map((t) => [t.name, { dtype: "F32" as const, shape: t.shape }]));
  return { spec: buildModelSpec(f.config, shapes), config: f.config };
}

test("transformers loads dense uniform Llama, Mistral and Qwen2 (irregular head_dim and MLP width included) and refuses the rest with a reason", () => {
  for (const kind of ["llama-aligned", "llama-direct-svd", "llama-pruned-mlp", "qwen2-bias", "mistral-llama3rope"] as const) {
    const { spec, config } = specOf(kind);
    assert.equal(transformersRefusal(spec, config), null, kind);
  }
  const refusal = (kind: FixtureKind) => {
    const { spec, config } = specOf(kind);
    return transformersRefusal(spec, config) ?? "";
  };
  assert.match(refusal("palu"), /^transformers cannot load palu checkpoints: its k\/v projections are VT \+ U\.\{g\}/);
  assert.match(refusal("asvd"), /asvd checkpoints: its projections are BLinear\/ALinear pairs/);
  assert.match(refusal("svdllm"), /svdllm checkpoints/);
  assert.match(refusal("pruned-flap"), /builds every layer from one config, but layers differ \(layer 0: 3 heads, intermediate 403; layer 1: 4 heads, intermediate 517\)/);
});

test("logits differences in words: exact zero, fp32 rounding up to 1e-4 of the largest logit, a folded scale, kernel choice in the serving dtype, and an fp32 gap nothing explains", async () => {
  const { logitsReading } = await import("../../../src/bench/e2e/tables.js");
  const c = (rel: number) => ({ max_abs_diff: rel * 7, max_abs_logit: 7, rel_to_max: rel, mean_abs_diff: rel, argmax_agree: 1 });
  assert.equal(logitsReading("fp32", c(0), true), "exact zero");
  assert.equal(logitsReading("fp32", c(2.5e-5), false), "fp32 rounding", "the committed logical-scale repair over 32 layers");
  assert.equal(logitsReading("fp32", c(1.67e-2), true), "one 16-bit rounding of a folded scale");
  assert.equal(logitsReading("serving", c(5.8e-2), false), "kernel choice");
  assert.equal(logitsReading("fp32", c(1e-3), false), "not explained");
});
