import assert from "node:assert/strict";
import { test } from "node:test";
import { buildModelSpec } from "../../src/model/build-model-spec.js";
import { collectDims } from "../../src/model/dims.js";
import { asPalu, asSvdLlm, denseShapes, llamaConfig } from "./helpers.js";

test("lists head_dim, intermediate, hidden and vocab of an aligned model, all aligned", () => {
  const o = { layers: 1, vocab: 1024 };
  const dims = collectDims(buildModelSpec(llamaConfig(o), denseShapes(o)));
  assert.deepEqual(
    dims.map((d) => [d.id, d.role, d.name, d.value]),
    [
      ["layers.0.self_attn.head_dim", "layers.0.self_attn", "head_dim", 64],
      ["layers.0.mlp.intermediate", "layers.0.mlp", "intermediate", 512],
      ["hidden_size", "model", "hidden", 256],
      ["vocab_size", "model", "vocab", 1024],
    ],
  );
  assert.ok(dims.every((d) => d.aligned8 && d.aligned16));
});

test("finds exactly the planted irregular head_dim, PaLU group ranks and intermediate and nothing else", () => {
  const o = { layers: 3, headDim: 52, vocab: 1024, layer: (i: number) => (i === 2 ? { intermediate: 300 } : {}) };
  const shapes = denseShapes(o);
  asPalu(shapes, 0, "self_attn.k_proj", [40, 46]);
  asPalu(shapes, 0, "self_attn.v_proj", [32, 32]);
  const dims = collectDims(buildModelSpec(llamaConfig(o, { model_type: "palullama" }), shapes));
  // 3 head_dims + 2 + 2 PaLU groups + 3 intermediates + hidden + vocab
  assert.equal(dims.length, 12);
  assert.deepEqual(
    dims.filter((d) => !d.aligned8).map((d) => [d.id, d.value]),
    [
      ["layers.0.self_attn.head_dim", 52],
      ["layers.0.self_attn.k_proj.rank.g1", 46],
      ["layers.1.self_attn.head_dim", 52],
      ["layers.2.self_attn.head_dim", 52],
      ["layers.2.mlp.intermediate", 300],
    ],
  );
  assert.deepEqual(
    dims.filter((d) => d.aligned8 && !d.aligned16).map((d) => [d.id, d.value]),
    [["layers.0.self_attn.k_proj.rank.g0", 40]],
  );
  const g1 = dims.find((d) => d.id === "layers.0.self_attn.k_proj.rank.g1");
  assert.deepEqual(g1?.site, { kind: "rank", layer: 0, linear: "self_attn.k_proj", group: 1 });
  assert.equal(g1?.role, "layers.0.self_attn.k_proj");
  assert.deepEqual(dims.find((d) => d.id === "layers.2.mlp.intermediate")?.site, { kind: "intermediate", layer: 2 });
  assert.deepEqual(dims.find((d) => d.id === "layers.2.self_attn.head_dim")?.site, { kind: "head_dim", layer: 2 });
  assert.equal(dims.find((d) => d.id === "hidden_size")?.site, undefined);
});

test("lists one rank per SVD-LLM factor pair and flags only the irregular one", () => {
  const o = { layers: 2, vocab: 1024 };
  const shapes = denseShapes(o);
  asSvdLlm(shapes, 1, "self_attn.q_proj", 107);
  asSvdLlm(shapes, 1, "mlp.down_proj", 128);
  const dims = collectDims(buildModelSpec(llamaConfig(o), shapes));
  const ranks = dims.filter((d) => d.name === "rank");
  assert.deepEqual(
    ranks.map((d) => [d.id, d.value, d.aligned8]),
    [
      ["layers.1.self_attn.q_proj.rank", 107, false],
      ["layers.1.mlp.down_proj.rank", 128, true],
    ],
  );
  assert.deepEqual(ranks[0].site, { kind: "rank", layer: 1, linear: "self_attn.q_proj" });
  assert.deepEqual(
    dims.filter((d) => !d.aligned16).map((d) => d.id),
    ["layers.1.self_attn.q_proj.rank"],
  );
});
