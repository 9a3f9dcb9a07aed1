import assert from "node:assert/strict";
import { test } from "node:test";
import type { Checkpoint, TensorEntry } from "../../src/checkpoint/types.js";
import { loadModelSpec } from "../../src/model/load-model-spec.js";
import { asPalu, denseShapes, llamaConfig } from "./helpers.js";

test("builds the spec of an opened checkpoint from its tensor entries", () => {
  const shapes = asPalu(denseShapes(), 1, "self_attn.k_proj", [40, 24]);
  const tensors = new Map<string, TensorEntry>();
  let start = 0;
  for (const [name, t] of shapes) {
    const byteLength = t.shape.reduce((a, b) => a * b, 1) * 2;
    tensors.set(name, { name, dtype: t.dtype, shape: t.shape, file: "/ckpt/model.safetensors", start, byteLength });
    start += byteLength;
  }
  const ckpt: Checkpoint = { dir: "/ckpt", config: llamaConfig(), files: [], tensors };
  const spec = loadModelSpec(ckpt);
  const k = spec.layers[1].attn.k;
  assert.equal(k.kind, "grouped");
  assert.deepEqual(k.kind === "grouped" && k.ranks, [40, 24]);
  assert.equal(spec.family, "palu");
});
