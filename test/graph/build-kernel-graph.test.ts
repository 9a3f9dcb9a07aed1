import assert from "node:assert/strict";
import { test } from "node:test";
import { buildKernelGraph } from "../../src/graph/build-kernel-graph.js";
import type { AttentionCall, GemmCall, KernelCall } from "../../src/graph/types.js";
import { buildModelSpec } from "../../src/model/build-model-spec.js";
import { asAsvd, asPalu, asSvdLlm, denseShapes, llamaConfig, throwsGac } from "../model/helpers.js";

const WORKLOAD = { prefillBatch: 2, prefillLen: 16, decodeBatch: 3, kvLen: 40 };

function gemm(calls: KernelCall[], id: string): GemmCall {
  const c = calls.find((x) => x.id === id);
  assert.ok(c !== undefined && c.kind === "gemm", `no GEMM ${id}`);
  return c;
}

function attention(calls: KernelCall[], id: string): AttentionCall {
  const c = calls.find((x) => x.id === id);
  assert.ok(c !== undefined && c.kind === "attention", `no attention call ${id}`);
  return c;
}

const mnk = (c: GemmCall) => [c.m, c.n, c.k];

test("emits each dense GEMM with m = tokens, n = weight rows, k = weight columns in both phases", () => {
  const spec = buildModelSpec(llamaConfig(), denseShapes());
  const calls = buildKernelGraph(spec, WORKLOAD);
  assert.deepEqual(mnk(gemm(calls, "prefill:layers.1.self_attn.k_proj")), [32, 128, 256]);
  assert.deepEqual(mnk(gemm(calls, "decode:layers.1.self_attn.k_proj")), [3, 128, 256]);
  assert.deepEqual(mnk(gemm(calls, "prefill:layers.0.mlp.down_proj")), [32, 256, 512]);
  const up = gemm(calls, "decode:layers.0.mlp.up_proj");
  assert.deepEqual([up.tensor, up.layer, up.phase, up.dtype], ["model.layers.0.mlp.up_proj.weight", 0, "decode", "BF16"]);
});

test("emits one attention call per layer and phase with prefill and decode shapes", () => {
  const o = { headDim: 52 };
  const calls = buildKernelGraph(buildModelSpec(llamaConfig(o), denseShapes(o)), WORKLOAD);
  const { id: _p, ...prefill } = attention(calls, "prefill:layers.1.self_attn.attention");
  assert.deepEqual(prefill, {
    kind: "attention",
    phase: "prefill",
    layer: 1,
    role: "layers.1.self_attn.attention",
    batch: 2,
    qLen: 16,
    kvLen: 16,
    numHeads: 4,
    numKvHeads: 2,
    headDimQk: 52,
    headDimV: 52,
    causal: true,
    dtype: "BF16",
  });
  const decode = attention(calls, "decode:layers.1.self_attn.attention");
  assert.deepEqual([decode.batch, decode.qLen, decode.kvLen, decode.causal, decode.headDimQk], [3, 1, 40, false, 52]);
});

test("gives a pruned layer's attention its own head counts", () => {
  const o = { layer: (i: number) => (i === 1 ? { heads: 2, kvHeads: 1 } : {}) };
  const calls = buildKernelGraph(buildModelSpec(llamaConfig(), denseShapes(o)), WORKLOAD);
  const a = attention(calls, "decode:layers.1.self_attn.attention");
  assert.deepEqual([a.numHeads, a.numKvHeads], [2, 1]);
  assert.deepEqual(mnk(gemm(calls, "decode:layers.1.self_attn.o_proj")), [3, 256, 128]);
});

test("emits the calls of a layer in forward order and lm_head last, with unique ids", () => {
  const calls = buildKernelGraph(buildModelSpec(llamaConfig({ layers: 1 }), denseShapes({ layers: 1 })), WORKLOAD);
  const prefill = calls.filter((c) => c.phase === "prefill").map((c) => c.role);
  assert.deepEqual(prefill, [
    "layers.0.self_attn.q_proj",
    "layers.0.self_attn.k_proj",
    "layers.0.self_attn.v_proj",
    "layers.0.self_attn.attention",
    "layers.0.self_attn.o_proj",
    "layers.0.mlp.gate_proj",
    "layers.0.mlp.up_proj",
    "layers.0.mlp.down_proj",
    "lm_head",
  ]);
  assert.equal(new Set(calls.map((c) => c.id)).size, calls.length);
  assert.equal(calls.length, 18);
});

test("computes lm_head for the last prompt token in prefill and reads a tied lm_head from the embedding", () => {
  const calls = buildKernelGraph(buildModelSpec(llamaConfig({ tied: true }), denseShapes({ tied: true })), WORKLOAD);
  const head = gemm(calls, "prefill:lm_head");
  assert.deepEqual([head.tensor, head.layer, ...mnk(head)], ["model.embed_tokens.weight", -1, 2, 1000, 256]);
  assert.deepEqual(mnk(gemm(calls, "decode:lm_head")), [3, 1000, 256]);
});

test("emits PaLU's VT GEMM and one GEMM per U group with k = that group's rank", () => {
  const shapes = asPalu(denseShapes(), 0, "self_attn.k_proj", [50, 46]);
  const calls = buildKernelGraph(buildModelSpec(llamaConfig({}, { model_type: "palullama" }), shapes), WORKLOAD);
  const roles = calls.filter((c) => c.phase === "decode" && c.layer === 0).map((c) => c.role);
  assert.deepEqual(roles.slice(1, 5), ["layers.0.self_attn.k_proj.VT", "layers.0.self_attn.k_proj.U.0", "layers.0.self_attn.k_proj.U.1", "layers.0.self_attn.v_proj"]);
  assert.deepEqual(mnk(gemm(calls, "prefill:layers.0.self_attn.k_proj.VT")), [32, 96, 256]);
  assert.deepEqual(mnk(gemm(calls, "prefill:layers.0.self_attn.k_proj.U.0")), [32, 64, 50]);
  assert.deepEqual(mnk(gemm(calls, "decode:layers.0.self_attn.k_proj.U.1")), [3, 64, 46]);
  assert.equal(gemm(calls, "decode:layers.0.self_attn.k_proj.U.1").tensor, "model.layers.0.self_attn.k_proj.U.1.weight");
});

test("emits both GEMMs of ASVD and SVD-LLM factor pairs under their stored names", () => {
  const asvd = buildKernelGraph(buildModelSpec(llamaConfig(), asAsvd(denseShapes(), 1, "mlp.gate_proj", 107)), WORKLOAD);
  assert.deepEqual(mnk(gemm(asvd, "prefill:layers.1.mlp.gate_proj.BLinear")), [32, 107, 256]);
  assert.deepEqual(mnk(gemm(asvd, "prefill:layers.1.mlp.gate_proj.ALinear")), [32, 512, 107]);
  const svd = buildKernelGraph(buildModelSpec(llamaConfig(), asSvdLlm(denseShapes(), 0, "self_attn.q_proj", 99)), WORKLOAD);
  assert.deepEqual(mnk(gemm(svd, "decode:layers.0.self_attn.q_v_proj")), [3, 99, 256]);
  assert.deepEqual(mnk(gemm(svd, "decode:layers.0.self_attn.q_u_proj")), [3, 256, 99]);
  assert.equal(
    svd.some((c) => c.role === "layers.0.self_attn.q_proj"),
    false,
  );
});

test("gives each GEMM its own weight's dtype", () => {
  const shapes = denseShapes();
  shapes.set("model.layers.0.mlp.down_proj.weight", { dtype: "F32", shape: [256, 512] });
  const calls = buildKernelGraph(buildModelSpec(llamaConfig(), shapes), WORKLOAD);
  assert.equal(gemm(calls, "prefill:layers.0.mlp.down_proj").dtype, "F32");
  assert.equal(gemm(calls, "prefill:layers.0.mlp.up_proj").dtype, "BF16");
});

test("uses the default workload when none is given and refuses a zero prompt length", () => {
  const spec = buildModelSpec(llamaConfig(), denseShapes());
  assert.equal(attention(buildKernelGraph(spec), "decode:layers.0.self_attn.attention").kvLen, 4096);
  throwsGac(() => buildKernelGraph(spec, { ...WORKLOAD, prefillLen: 0 }), "BAD_ARGS", "workload prefillLen is 0");
});
