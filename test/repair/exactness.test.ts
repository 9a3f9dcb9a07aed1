import { test } from "node:test";
import assert from "node:assert/strict";
import { screenChanges } from "../../src/repair/exactness.js";
import { tinyModel, change } from "./tiny-models.js";

const headDim = (from: number, to: number) => change({ kind: "head_dim", layer: 0 }, from, to);

test("a head_dim change under default RoPE is accepted", () => {
  const m = tinyModel({ form: "dense", headDim: 6 });
  const s = screenChanges(m.spec, [headDim(6, 8)], "fold");
  assert.equal(s.accepted.length, 1);
  assert.deepEqual(s.refusals, []);
});

test("llama3 and linear RoPE scaling are accepted because they depend only on each frequency's value", () => {
  for (const rope_scaling of [
    { rope_type: "linear", factor: 2 },
    { rope_type: "llama3", factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
  ]) {
    const m = tinyModel({ form: "dense", headDim: 6, config: { rope_scaling } });
    assert.equal(screenChanges(m.spec, [headDim(6, 8)], "fold").accepted.length, 1, rope_scaling.rope_type);
  }
});

test("yarn RoPE blocks a head_dim change and says why, while other dims still go through", () => {
  const m = tinyModel({ form: "dense", headDim: 6, config: { rope_scaling: { rope_type: "yarn", factor: 4 } } });
  const s = screenChanges(m.spec, [headDim(6, 8), change({ kind: "intermediate", layer: 0 }, 10, 16)], "fold");
  assert.deepEqual(
    s.accepted.map((c) => c.id),
    ["layers.0.mlp.intermediate"],
  );
  assert.equal(s.refusals.length, 1);
  assert.match(s.refusals[0].reason, /rope type 'yarn'/);
});

test("partial_rotary_factor below 1 blocks a head_dim change", () => {
  const m = tinyModel({ form: "dense", headDim: 6, config: { partial_rotary_factor: 0.5 } });
  assert.match(screenChanges(m.spec, [headDim(6, 8)], "fold").refusals[0].reason, /partial_rotary_factor 0.5/);
});

test("an odd head_dim is refused because RoPE cannot pair its dims", () => {
  const m = tinyModel({ form: "dense", headDim: 7 });
  assert.match(screenChanges(m.spec, [headDim(7, 8)], "fold").refusals[0].reason, /odd head_dim 7/);
});

test("a change that would shrink a dim is refused", () => {
  const m = tinyModel({ form: "dense", intermediate: 10 });
  const s = screenChanges(m.spec, [change({ kind: "intermediate", layer: 0 }, 10, 8)], "fold");
  assert.equal(s.accepted.length, 0);
  assert.match(s.refusals[0].reason, /only adds zeros/);
});

test("folding the scale into integer q weights is refused with a pointer to logical mode", () => {
  const m = tinyModel({ form: "dense", headDim: 6, dtype: "I8" });
  assert.match(screenChanges(m.spec, [headDim(6, 8)], "fold").refusals[0].reason, /--scale logical/);
  assert.equal(screenChanges(m.spec, [headDim(6, 8)], "logical").accepted.length, 1);
});
