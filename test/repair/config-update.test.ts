import { test } from "node:test";
import assert from "node:assert/strict";
import { updateConfig } from "../../src/repair/config-update.js";
import { tinyModel, change } from "./tiny-models.js";

test("a head_dim change sets head_dim and rope_theta^(D/d) so the original frequencies come back", () => {
  const m = tinyModel({ form: "dense", headDim: 6, config: { rope_theta: 10000, custom_field: "kept" } });
  const { config, changed } = updateConfig(m.config, m.spec, [change({ kind: "head_dim", layer: 0 }, 6, 8)]);
  assert.equal(config.head_dim, 8);
  assert.equal(config.rope_theta, 10000 ** (8 / 6));
  assert.equal(config.custom_field, "kept");
  // the frequency of pair j is theta^(-2j/d) before and theta'^(-2j/D) after
  for (let j = 0; j < 3; j++) assert.ok(Math.abs((config.rope_theta as number) ** ((-2 * j) / 8) - 10000 ** ((-2 * j) / 6)) < 1e-12);
  assert.deepEqual(
    changed.map((c) => c.field),
    ["head_dim", "rope_theta"],
  );
  assert.equal(m.config.head_dim, 6, "the input config object is not modified");
});

test("rope_parameters.rope_theta (transformers 5) is updated in place of a top-level rope_theta", () => {
  const m = tinyModel({ form: "dense", headDim: 6, config: { rope_theta: undefined, rope_parameters: { rope_type: "default", rope_theta: 500000 } } });
  const { config } = updateConfig(m.config, m.spec, [change({ kind: "head_dim", layer: 0 }, 6, 8)]);
  assert.equal((config.rope_parameters as Record<string, unknown>).rope_theta, 500000 ** (8 / 6));
  assert.equal(config.rope_theta, undefined);
});

test("intermediate_size follows a uniform MLP width", () => {
  const m = tinyModel({ form: "dense", intermediate: 10 });
  assert.equal(updateConfig(m.config, m.spec, [change({ kind: "intermediate", layer: 0 }, 10, 16)]).config.intermediate_size, 16);
});

test("PaLU head_wise_ranks and ASVD truncation_ranks get the new ranks", () => {
  const p = tinyModel({ form: "palu", paluRanks: [3, 5] });
  const pc = updateConfig(p.config, p.spec, [change({ kind: "rank", layer: 0, linear: "self_attn.v_proj", group: 1 }, 5, 8)]);
  assert.deepEqual((pc.config.head_wise_ranks as Record<string, unknown>)["model.layers.0.self_attn.v_proj"], [3, 8]);
  assert.deepEqual((pc.config.head_wise_ranks as Record<string, unknown>)["model.layers.0.self_attn.k_proj"], [3, 5]);
  const a = tinyModel({ form: "asvd", rank: 5 });
  const ac = updateConfig(a.config, a.spec, [change({ kind: "rank", layer: 0, linear: "mlp.up_proj" }, 5, 8)]);
  assert.equal((ac.config.truncation_ranks as Record<string, unknown>)["model.layers.0.mlp.up_proj"], 8);
  assert.equal((ac.config.truncation_ranks as Record<string, unknown>)["model.layers.0.mlp.down_proj"], 5);
});
