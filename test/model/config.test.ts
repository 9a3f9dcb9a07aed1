import assert from "node:assert/strict";
import { test } from "node:test";
import { readModelConfig, readRope } from "../../src/model/config.js";
import { throwsGac } from "./helpers.js";

test("reads no rope_scaling as default RoPE with Llama's theta default of 10000", () => {
  assert.deepEqual(readRope({}), { theta: 10000, scaling: { type: "default" }, partialRotaryFactor: 1 });
  assert.deepEqual(readRope({ rope_scaling: null, rope_theta: 500000 }).theta, 500000);
});

test("reads Llama 3.1's llama3 rope_scaling with all four parameters", () => {
  const rope = readRope({
    rope_theta: 500000,
    rope_scaling: { factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192, rope_type: "llama3" },
  });
  assert.deepEqual(rope.scaling, { type: "llama3", factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 });
});

test("reads linear scaling named by the older 'type' key", () => {
  assert.deepEqual(readRope({ rope_scaling: { type: "linear", factor: 2 } }).scaling, { type: "linear", factor: 2 });
});

test("recognises yarn, dynamic and longrope as other scaling and keeps the raw fields", () => {
  for (const name of ["yarn", "dynamic", "longrope"]) {
    const raw = { rope_type: name, factor: 4 };
    assert.deepEqual(readRope({ rope_scaling: raw }).scaling, { type: "other", name, raw });
  }
});

test("reads transformers 5 rope_parameters with rope_theta inside", () => {
  const rope = readRope({ rope_parameters: { rope_type: "linear", factor: 2, rope_theta: 1e6 } });
  assert.deepEqual(rope, { theta: 1e6, scaling: { type: "linear", factor: 2 }, partialRotaryFactor: 1 });
});

test("refuses llama3 scaling without its low_freq_factor", () => {
  throwsGac(() => readRope({ rope_scaling: { rope_type: "llama3", factor: 8, high_freq_factor: 4, original_max_position_embeddings: 8192 } }), "BAD_CONFIG", "rope_scaling.low_freq_factor is nothing");
});

test("refuses rope_scaling that names no variant", () => {
  throwsGac(() => readRope({ rope_scaling: { factor: 2 } }), "BAD_CONFIG", "rope_scaling has no string rope_type or type");
});

test("reads partial_rotary_factor and refuses one above 1", () => {
  assert.equal(readRope({ partial_rotary_factor: 0.5 }).partialRotaryFactor, 0.5);
  throwsGac(() => readRope({ partial_rotary_factor: 2 }), "BAD_CONFIG", "partial_rotary_factor is 2");
});

test("treats null head_dim as absent and refuses a fractional one", () => {
  assert.equal(readModelConfig({ head_dim: null }).headDim, undefined);
  throwsGac(() => readModelConfig({ head_dim: 52.5 }), "BAD_CONFIG", "head_dim is 52.5 but must be a positive integer");
});
