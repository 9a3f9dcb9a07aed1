import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { buildModelSpec } from "../../src/model/build-model-spec.js";
import type { LinearSpec } from "../../src/model/types.js";
import { asAsvd, asPalu, asSvdLlm, denseShapes, everyLayer, llamaConfig, throwsGac } from "./helpers.js";

function lowrank(l: LinearSpec): Extract<LinearSpec, { kind: "lowrank" }> {
  assert.equal(l.kind, "lowrank");
  return l;
}

function grouped(l: LinearSpec): Extract<LinearSpec, { kind: "grouped" }> {
  assert.equal(l.kind, "grouped");
  return l;
}

describe("dense Llama, Mistral and Qwen2 checkpoints", () => {
  test("reads GQA geometry, tensor names and sizes of a dense Llama from its shapes", () => {
    const spec = buildModelSpec(llamaConfig(), denseShapes());
    assert.equal(spec.family, "dense");
    assert.equal(spec.modelType, "llama");
    assert.equal(spec.numLayers, 2);
    assert.equal(spec.hiddenSize, 256);
    assert.equal(spec.vocabSize, 1000);
    assert.equal(spec.headDim, 64);
    assert.deepEqual([spec.numHeads, spec.numKvHeads], [4, 2]);
    assert.equal(spec.lmHead, "lm_head.weight");
    assert.equal(spec.tieWordEmbeddings, false);
    assert.equal(spec.finalNorm, "model.norm.weight");
    assert.equal(spec.dtype, "BF16");
    assert.equal(spec.rmsNormEps, 1e-5);
    assert.equal(spec.heterogeneous, false);
    assert.deepEqual(spec.configDisagreements, []);
    const l1 = spec.layers[1];
    assert.deepEqual([l1.attn.numHeads, l1.attn.numKvHeads, l1.attn.headDim, l1.attn.headDimV], [4, 2, 64, 64]);
    assert.deepEqual(l1.attn.k, {
      kind: "dense",
      in: 256,
      out: 128,
      weight: { tensor: "model.layers.1.self_attn.k_proj.weight", out: 128, in: 256, dtype: "BF16" },
    });
    assert.equal(l1.mlp.intermediate, 512);
    assert.equal(l1.mlp.down.in, 512);
    assert.equal(l1.inputNorm, "model.layers.1.input_layernorm.weight");
  });

  test("records Qwen2's q/k/v biases on their weights", () => {
    const spec = buildModelSpec(llamaConfig({}, { model_type: "qwen2" }), denseShapes({ qkvBias: true }));
    const attn = spec.layers[0].attn;
    assert.equal(attn.q.kind === "dense" && attn.q.weight.bias, "model.layers.0.self_attn.q_proj.bias");
    assert.equal(attn.v.kind === "dense" && attn.v.weight.bias, "model.layers.0.self_attn.v_proj.bias");
    assert.equal(attn.o.kind === "dense" && attn.o.weight.bias, undefined);
  });

  test("takes an explicit irregular head_dim of 52 from config and splits q rows by it", () => {
    const o = { headDim: 52 };
    const spec = buildModelSpec(llamaConfig(o), denseShapes(o));
    assert.equal(spec.headDim, 52);
    assert.deepEqual([spec.layers[0].attn.numHeads, spec.layers[0].attn.numKvHeads, spec.layers[0].attn.headDim], [4, 2, 52]);
    assert.equal(spec.layers[0].attn.q.out, 208);
  });

  test("uses the embedding table as lm_head when lm_head.weight is absent and embeddings are tied", () => {
    const spec = buildModelSpec(llamaConfig({ tied: true }), denseShapes({ tied: true }));
    assert.equal(spec.lmHead, "model.embed_tokens.weight");
    assert.equal(spec.tieWordEmbeddings, true);
    assert.deepEqual(spec.configDisagreements, []);
  });

  test("reports an absent lm_head as tied when config says tie_word_embeddings is false", () => {
    const spec = buildModelSpec(llamaConfig({ tied: false }), denseShapes({ tied: true }));
    assert.equal(spec.lmHead, "model.embed_tokens.weight");
    assert.equal(spec.tieWordEmbeddings, true);
    assert.equal(spec.configDisagreements.length, 1);
    assert.match(spec.configDisagreements[0], /'lm_head.weight' is absent.*tie_word_embeddings is false/);
  });

  test("places the rotary inv_freq buffer older Llama checkpoints store", () => {
    const shapes = denseShapes();
    shapes.set("model.layers.1.self_attn.rotary_emb.inv_freq", { dtype: "F32", shape: [32] });
    const spec = buildModelSpec(llamaConfig(), shapes);
    assert.equal(spec.layers[1].rotaryInvFreq, "model.layers.1.self_attn.rotary_emb.inv_freq");
    assert.equal(spec.layers[0].rotaryInvFreq, undefined);
  });

  test("accepts a checkpoint whose tensors lack the 'model.' prefix", () => {
    const shapes = denseShapes();
    const bare = new Map([...shapes].map(([name, t]) => [name.replace(/^model\./, ""), t]));
    const spec = buildModelSpec(llamaConfig(), bare);
    assert.equal(spec.embedTokens, "embed_tokens.weight");
    assert.equal(spec.layers[0].attn.q.kind === "dense" && spec.layers[0].attn.q.weight.tensor, "layers.0.self_attn.q_proj.weight");
  });

  test("names the dtype that holds most bytes as the model dtype", () => {
    const shapes = denseShapes({ dtype: "F16" });
    for (const [name, t] of shapes) if (name.endsWith("norm.weight")) shapes.set(name, { ...t, dtype: "F32" });
    assert.equal(buildModelSpec(llamaConfig(), shapes).dtype, "F16");
  });
});

describe("pruned checkpoints with a stale config", () => {
  const pruned = {
    outBias: true,
    layer: (i: number) => (i === 0 ? { heads: 3, kvHeads: 1, intermediate: 300 } : {}),
  };

  test("takes heads, key/value heads and MLP width per layer from shapes and lists each disagreement", () => {
    const spec = buildModelSpec(llamaConfig(), denseShapes(pruned));
    assert.equal(spec.heterogeneous, true);
    assert.deepEqual([spec.layers[0].attn.numHeads, spec.layers[0].attn.numKvHeads, spec.layers[0].mlp.intermediate], [3, 1, 300]);
    assert.deepEqual([spec.layers[1].attn.numHeads, spec.layers[1].attn.numKvHeads, spec.layers[1].mlp.intermediate], [4, 2, 512]);
    assert.deepEqual([spec.numHeads, spec.numKvHeads, spec.headDim], [4, 2, 64]);
    assert.deepEqual(spec.configDisagreements, [
      "layers.0: 3 attention heads in q_proj (192 rows / head_dim 64) but config num_attention_heads is 4",
      "layers.0: 1 key/value heads in k_proj (64 rows / head_dim 64) but config num_key_value_heads is 2",
      "layers.0: intermediate size 300 in gate_proj rows but config intermediate_size is 512",
    ]);
  });

  test("keeps FLAP's o_proj and down_proj compensation biases", () => {
    const spec = buildModelSpec(llamaConfig(), denseShapes(pruned));
    const { o } = spec.layers[0].attn;
    const { down } = spec.layers[0].mlp;
    assert.equal(o.kind === "dense" && o.weight.bias, "model.layers.0.self_attn.o_proj.bias");
    assert.equal(down.kind === "dense" && down.weight.bias, "model.layers.0.mlp.down_proj.bias");
  });

  test("reports a hidden size that only the config disagrees with and takes the embedding's", () => {
    const o = { hidden: 192, headDim: 48 };
    const spec = buildModelSpec(llamaConfig({ headDim: 48 }, { hidden_size: 256 }), denseShapes(o));
    assert.equal(spec.hiddenSize, 192);
    assert.deepEqual(spec.configDisagreements, ["'model.embed_tokens.weight' has hidden size 192 but config hidden_size is 256"]);
  });
});

describe("configs that shapes cannot reconcile", () => {
  test("refuses q_proj rows that are not a multiple of head_dim", () => {
    const shapes = denseShapes();
    shapes.set("model.layers.1.self_attn.q_proj.weight", { dtype: "BF16", shape: [200, 256] });
    shapes.set("model.layers.1.self_attn.o_proj.weight", { dtype: "BF16", shape: [256, 200] });
    throwsGac(() => buildModelSpec(llamaConfig(), shapes), "CONFIG_MISMATCH", "layers.1: q_proj has 200 rows, not a multiple of head_dim 64");
  });

  test("refuses a GQA ratio that is not a whole number", () => {
    const shapes = denseShapes({ layer: () => ({ heads: 3, kvHeads: 2 }) });
    throwsGac(() => buildModelSpec(llamaConfig(), shapes), "CONFIG_MISMATCH", "3 query heads", "2 key/value heads", "GQA ratio");
  });

  test("refuses an embedding width that neither config nor q_proj shares", () => {
    const shapes = denseShapes();
    shapes.set("model.embed_tokens.weight", { dtype: "BF16", shape: [1000, 192] });
    throwsGac(() => buildModelSpec(llamaConfig(), shapes), "CONFIG_MISMATCH", "hidden size is 192");
  });

  test("refuses a q_proj whose inputs differ from the hidden size", () => {
    const shapes = denseShapes();
    shapes.set("model.layers.0.self_attn.q_proj.weight", { dtype: "BF16", shape: [256, 200] });
    throwsGac(() => buildModelSpec(llamaConfig(), shapes), "CONFIG_MISMATCH", "'model.layers.0.self_attn.q_proj.weight' takes 200 inputs but the hidden size is 256");
  });

  test("refuses an lm_head whose vocabulary differs from the embedding's", () => {
    const shapes = denseShapes();
    shapes.set("lm_head.weight", { dtype: "BF16", shape: [1008, 256] });
    throwsGac(() => buildModelSpec(llamaConfig(), shapes), "CONFIG_MISMATCH", "'lm_head.weight' has 1008 rows but 'model.embed_tokens.weight' has 1000");
  });

  test("names the first missing layer tensor when config promises more layers than the checkpoint has", () => {
    throwsGac(() => buildModelSpec(llamaConfig({ layers: 4 }), denseShapes({ layers: 3 })), "CONFIG_MISMATCH", "config num_hidden_layers is 4 but 'model.layers.3.input_layernorm.weight' is missing");
  });

  test("names a layer missing from the middle of the stack", () => {
    const shapes = denseShapes({ layers: 3 });
    for (const name of [...shapes.keys()]) if (name.startsWith("model.layers.1.")) shapes.delete(name);
    throwsGac(() => buildModelSpec(llamaConfig({ layers: 3 }), shapes), "CONFIG_MISMATCH", "'model.layers.1.input_layernorm.weight' is missing");
  });

  test("refuses a config with neither head_dim nor num_attention_heads", () => {
    const config = llamaConfig();
    delete config.num_attention_heads;
    throwsGac(() => buildModelSpec(config, denseShapes()), "BAD_CONFIG", "neither head_dim nor num_attention_heads");
  });

  test("refuses a config field with the wrong type", () => {
    throwsGac(() => buildModelSpec(llamaConfig({}, { hidden_size: "256" }), denseShapes()), "BAD_CONFIG", 'config.json hidden_size is "256" but must be a positive integer');
  });
});

describe("unknown layouts and families", () => {
  test("names a tensor that fits no part of the layout", () => {
    const shapes = denseShapes();
    shapes.set("model.layers.0.self_attn.q_norm.weight", { dtype: "BF16", shape: [64] });
    throwsGac(() => buildModelSpec(llamaConfig(), shapes), "UNKNOWN_LAYOUT", "tensor 'model.layers.0.self_attn.q_norm.weight' fits no part");
  });

  test("names the first leftover in natural order, layer 2 before layer 10", () => {
    const shapes = denseShapes({ layers: 11 });
    shapes.set("model.layers.10.extra.weight", { dtype: "BF16", shape: [4] });
    shapes.set("model.layers.2.extra.weight", { dtype: "BF16", shape: [4] });
    throwsGac(() => buildModelSpec(llamaConfig({ layers: 11 }), shapes), "UNKNOWN_LAYOUT", "'model.layers.2.extra.weight'", "2 tensors left unplaced");
  });

  test("names the unplaced tensor of a projection stored in a form gac does not know", () => {
    const shapes = denseShapes();
    shapes.delete("model.layers.1.self_attn.q_proj.weight");
    shapes.set("model.layers.1.self_attn.q_proj.lora_A.weight", { dtype: "BF16", shape: [8, 256] });
    throwsGac(
      () => buildModelSpec(llamaConfig(), shapes),
      "UNKNOWN_LAYOUT",
      "no weight for 'model.layers.1.self_attn.q_proj'",
      "the first tensor gac could not place is 'model.layers.1.self_attn.q_proj.lora_A.weight'",
    );
  });

  test("calls a non-Llama layout under an unknown model_type an unknown family", () => {
    const shapes = new Map([
      ["transformer.wte.weight", { dtype: "F32" as const, shape: [1000, 256] }],
      ["transformer.h.0.attn.c_attn.weight", { dtype: "F32" as const, shape: [256, 768] }],
    ]);
    throwsGac(() => buildModelSpec({ model_type: "gpt2" }, shapes), "UNKNOWN_FAMILY", "model_type 'gpt2'", "'transformer.h.0.attn.c_attn.weight'");
  });

  test("accepts a Llama layout under a model_type it does not know", () => {
    const spec = buildModelSpec(llamaConfig({}, { model_type: "my_llama" }), denseShapes());
    assert.equal(spec.family, "dense");
    assert.equal(spec.modelType, "my_llama");
  });

  test("keeps UNKNOWN_LAYOUT for a known model_type", () => {
    const shapes = denseShapes();
    shapes.delete("model.norm.weight");
    throwsGac(() => buildModelSpec(llamaConfig(), shapes), "UNKNOWN_LAYOUT", "no 'model.norm.weight'");
  });

  test("refuses one checkpoint that mixes PaLU groups and ASVD factors", () => {
    const shapes = asAsvd(asPalu(denseShapes(), 0, "self_attn.k_proj", [32, 32]), 1, "self_attn.q_proj", 100);
    throwsGac(() => buildModelSpec(llamaConfig(), shapes), "UNKNOWN_FAMILY", "'model.layers.0.self_attn.k_proj' is stored as palu", "'model.layers.1.self_attn.q_proj' as asvd");
  });
});

describe("PaLU", () => {
  const palu = (ranks: number[][], extra: Record<string, unknown> = {}, qkvBias = false) => {
    const shapes = everyLayer(denseShapes({ qkvBias }), 2, (s, i) => {
      asPalu(s, i, "self_attn.k_proj", ranks[i]);
      asPalu(s, i, "self_attn.v_proj", ranks[i]);
    });
    const config = llamaConfig({}, { model_type: "palullama", ...extra });
    return { shapes, config };
  };
  const headWiseRanks = (ranks: number[][]) =>
    Object.fromEntries(
      ranks.flatMap((r, i) => [
        [`model.layers.${i}.self_attn.k_proj`, r],
        [`model.layers.${i}.self_attn.v_proj`, r],
      ]),
    );

  test("reads each group's rank from its own U.{g} in-dim, not one size for the module", () => {
    const ranks = [
      [50, 46],
      [32, 64],
    ];
    const { shapes, config } = palu(ranks, { head_wise_ranks: headWiseRanks(ranks) });
    const spec = buildModelSpec(config, shapes);
    assert.equal(spec.family, "palu");
    const k0 = grouped(spec.layers[0].attn.k);
    assert.deepEqual(k0.ranks, [50, 46]);
    assert.equal(k0.groupDim, 64);
    assert.equal(k0.out, 128);
    assert.deepEqual(k0.first, { tensor: "model.layers.0.self_attn.k_proj.VT.weight", out: 96, in: 256, dtype: "BF16" });
    assert.deepEqual(
      k0.groups.map((u) => [u.tensor, u.out, u.in]),
      [
        ["model.layers.0.self_attn.k_proj.U.0.weight", 64, 50],
        ["model.layers.0.self_attn.k_proj.U.1.weight", 64, 46],
      ],
    );
    assert.deepEqual(grouped(spec.layers[1].attn.v).ranks, [32, 64]);
    assert.equal(spec.layers[0].attn.q.kind, "dense");
    assert.deepEqual(spec.configDisagreements, []);
  });

  test("keeps U.{g} biases of a PaLU Qwen2", () => {
    const ranks = [
      [32, 32],
      [32, 32],
    ];
    const { shapes, config } = palu(ranks, { head_wise_ranks: headWiseRanks(ranks), model_type: "paluqwen2" }, true);
    const v = grouped(buildModelSpec(config, shapes).layers[0].attn.v);
    assert.deepEqual(
      v.groups.map((u) => u.bias),
      ["model.layers.0.self_attn.v_proj.U.0.bias", "model.layers.0.self_attn.v_proj.U.1.bias"],
    );
  });

  test("reports head_wise_ranks that disagree with the U.{g} shapes and keeps the shapes", () => {
    const ranks = [
      [50, 46],
      [32, 64],
    ];
    const stale = headWiseRanks([
      [32, 32],
      [32, 64],
    ]);
    const { shapes, config } = palu(ranks, { head_wise_ranks: stale });
    const spec = buildModelSpec(config, shapes);
    assert.deepEqual(grouped(spec.layers[0].attn.k).ranks, [50, 46]);
    assert.deepEqual(spec.configDisagreements, [
      "layers.0.self_attn.k_proj: ranks [50, 46] in U.{g} in-dims but config head_wise_ranks says [32, 32]",
      "layers.0.self_attn.v_proj: ranks [50, 46] in U.{g} in-dims but config head_wise_ranks says [32, 32]",
    ]);
  });

  test("refuses a VT whose rows differ from the sum of the group ranks", () => {
    const { shapes, config } = palu([
      [50, 46],
      [32, 64],
    ]);
    shapes.set("model.layers.1.self_attn.k_proj.VT.weight", { dtype: "BF16", shape: [100, 256] });
    throwsGac(() => buildModelSpec(config, shapes), "CONFIG_MISMATCH", "'model.layers.1.self_attn.k_proj.VT.weight' has 100 latent rows", "sum to 96 (32 + 64)");
  });

  test("refuses PaLU groups narrower than one head", () => {
    const shapes = asPalu(denseShapes(), 0, "self_attn.k_proj", [16, 16, 16, 16]);
    throwsGac(() => buildModelSpec(llamaConfig({}, { model_type: "palullama" }), shapes), "CONFIG_MISMATCH", "layers.0: k_proj PaLU groups are 32 wide, not a whole number of heads of head_dim 64");
  });

  test("refuses a VT with no U groups", () => {
    const { shapes, config } = palu([
      [32, 32],
      [32, 32],
    ]);
    shapes.delete("model.layers.0.self_attn.v_proj.U.0.weight");
    shapes.delete("model.layers.0.self_attn.v_proj.U.1.weight");
    throwsGac(() => buildModelSpec(config, shapes), "UNKNOWN_LAYOUT", "'model.layers.0.self_attn.v_proj.U.0.weight'");
  });
});

describe("ASVD and SVD-LLM factor pairs", () => {
  test("reads ASVD BLinear/ALinear pairs and leaves the other projections dense", () => {
    const shapes = denseShapes({ outBias: true });
    asAsvd(shapes, 0, "self_attn.q_proj", 107);
    asAsvd(shapes, 1, "mlp.down_proj", 200);
    const config = llamaConfig({}, { truncation_ranks: { "model.layers.0.self_attn.q_proj": 107, "model.layers.1.mlp.down_proj": 200 } });
    const spec = buildModelSpec(config, shapes);
    assert.equal(spec.family, "asvd");
    const q = lowrank(spec.layers[0].attn.q);
    assert.deepEqual([q.in, q.rank, q.out], [256, 107, 256]);
    assert.equal(q.first.tensor, "model.layers.0.self_attn.q_proj.BLinear.weight");
    assert.equal(q.second.tensor, "model.layers.0.self_attn.q_proj.ALinear.weight");
    const down = lowrank(spec.layers[1].mlp.down);
    assert.deepEqual([down.in, down.rank, down.out], [512, 200, 256]);
    assert.equal(down.second.bias, "model.layers.1.mlp.down_proj.ALinear.bias");
    assert.equal(spec.layers[1].attn.q.kind, "dense");
    assert.deepEqual(spec.configDisagreements, []);
  });

  test("reports ASVD truncation_ranks that disagree with BLinear rows", () => {
    const shapes = asAsvd(denseShapes(), 0, "self_attn.q_proj", 107);
    const config = llamaConfig({}, { truncation_ranks: { "model.layers.0.self_attn.q_proj": 128 } });
    assert.deepEqual(buildModelSpec(config, shapes).configDisagreements, ["layers.0.self_attn.q_proj: rank 107 in BLinear rows but config truncation_ranks says 128"]);
  });

  test("reads every SVD-LLM v_proj/u_proj pair with its own rank", () => {
    const modules = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"];
    const shapes = everyLayer(denseShapes(), 2, (s, i) => modules.forEach((m, j) => asSvdLlm(s, i, m, 100 + 10 * i + j)));
    const spec = buildModelSpec(llamaConfig(), shapes);
    assert.equal(spec.family, "svdllm");
    assert.equal(spec.heterogeneous, false, "ranks differ per layer but the geometry does not");
    const q = lowrank(spec.layers[1].attn.q);
    assert.deepEqual([q.first.tensor, q.first.out, q.first.in], ["model.layers.1.self_attn.q_v_proj.weight", 110, 256]);
    assert.deepEqual([q.second.tensor, q.second.out, q.second.in], ["model.layers.1.self_attn.q_u_proj.weight", 256, 110]);
    const gate = lowrank(spec.layers[1].mlp.gate);
    assert.deepEqual([gate.first.tensor, gate.rank, gate.out], ["model.layers.1.mlp.gate_v_proj.weight", 114, 512]);
    assert.equal(lowrank(spec.layers[0].mlp.down).rank, 106);
    assert.equal(spec.layers[1].mlp.intermediate, 512);
  });

  test("refuses a factor pair whose rank does not chain", () => {
    const shapes = asAsvd(denseShapes(), 1, "mlp.up_proj", 100);
    shapes.set("model.layers.1.mlp.up_proj.ALinear.weight", { dtype: "BF16", shape: [512, 90] });
    throwsGac(
      () => buildModelSpec(llamaConfig(), shapes),
      "CONFIG_MISMATCH",
      "'model.layers.1.mlp.up_proj.BLinear.weight' has rank 100 rows but 'model.layers.1.mlp.up_proj.ALinear.weight' takes 90 inputs",
    );
  });

  test("refuses a BLinear without its ALinear", () => {
    const shapes = asAsvd(denseShapes(), 0, "self_attn.o_proj", 100);
    shapes.delete("model.layers.0.self_attn.o_proj.ALinear.weight");
    throwsGac(() => buildModelSpec(llamaConfig(), shapes), "UNKNOWN_LAYOUT", "no partner 'model.layers.0.self_attn.o_proj.ALinear.weight'");
  });

  test("refuses a projection stored both dense and as a factor pair", () => {
    const shapes = asSvdLlm(denseShapes(), 0, "mlp.gate_proj", 64);
    shapes.set("model.layers.0.mlp.gate_proj.weight", { dtype: "BF16", shape: [512, 256] });
    throwsGac(() => buildModelSpec(llamaConfig(), shapes), "UNKNOWN_LAYOUT", "'model.layers.0.mlp.gate_proj' is stored in two forms");
  });
});
