import { test } from "node:test";
import assert from "node:assert/strict";
import { buildScanReport } from "../../src/scan/build-scan-report.js";
import { craftSpec, grouped } from "../plan/specs.js";

const opts = { gacVersion: "test" };

test("a direct-SVD head_dim 100 model: attention sees it, every attention call collapses, repair helps attention", () => {
  const r = buildScanReport(craftSpec({ layers: 2, headDim: 100 }), opts);
  assert.equal(r.summary.applicability.verdict, "repair-helps-attention");
  assert.equal(r.summary.applicability.attention_sees_irregular, true);
  const attention = r.calls.filter((c) => c.kind === "attention");
  assert.equal(attention.length, 4);
  assert.ok(attention.every((c) => c.verdict === "slow" && c.kernel === "FA2 (padded 100->104, hdim128 template)"));
  assert.deepEqual(r.summary.unique_irregular_values, [100]);
  assert.equal(r.summary.by_family.head_dim.share_aligned8, 0);
  assert.equal(r.strategies.MINIMAL.dims_changed, 2);
  assert.equal(r.strategies.PREDEFINED.dims_changed, 2);
  assert.match(r.summary.applicability.explanation, /head_dim 100 \(not a multiple of 8 in 2 of 2 layers\)/);
});

test("a PaLU model with ranks 114/121 and head_dim 128: only projection GEMMs see the irregular dims", () => {
  const spec = craftSpec({
    layers: 1, heads: 8, kvHeads: 4, headDim: 128, hidden: 512, family: "palu",
    linears: (i) => ({ k: grouped(`model.layers.${i}.self_attn.k_proj`, 512, 256, [114, 121]) }),
  });
  const r = buildScanReport(spec, opts);
  assert.equal(r.summary.applicability.verdict, "projection-gemms-only");
  assert.equal(r.summary.applicability.attention_sees_irregular, false);
  assert.ok(r.calls.filter((c) => c.kind === "attention").every((c) => c.verdict === "fast"));
  assert.deepEqual(r.summary.by_family.rank, { count: 2, unique_values: [114, 121], share_aligned8: 0, share_aligned16: 0 });
  // VT has 235 output rows (N) and each U.g reads K = r_g: one slow GEMM each, in both phases.
  const slow = r.calls.filter((c) => c.verdict === "slow").map((c) => c.id);
  assert.deepEqual(slow, [
    "prefill:layers.0.self_attn.k_proj.VT",
    "prefill:layers.0.self_attn.k_proj.U.0",
    "prefill:layers.0.self_attn.k_proj.U.1",
    "decode:layers.0.self_attn.k_proj.VT",
    "decode:layers.0.self_attn.k_proj.U.0",
    "decode:layers.0.self_attn.k_proj.U.1",
  ]);
  assert.equal(r.summary.collapsed_calls, 6);
});

test("an aligned model has nothing to repair and no strategy changes anything", () => {
  const r = buildScanReport(craftSpec({ headDim: 128 }), opts);
  assert.equal(r.summary.applicability.verdict, "nothing-to-repair");
  assert.equal(r.summary.irregular_dims, 0);
  assert.equal(r.summary.collapsed_calls, 0);
  assert.equal(r.summary.share_aligned8, 1);
  assert.deepEqual(r.summary.by_family.rank, { count: 0, unique_values: [], share_aligned8: null, share_aligned16: null });
  for (const s of Object.values(r.strategies)) assert.deepEqual([s.dims_changed, s.param_overhead_pct, s.refusals], [0, 0, []]);
});

test("calls carry their shapes in the JSON schema's snake_case form", () => {
  const r = buildScanReport(craftSpec({ layers: 1, headDim: 64 }), { ...opts, workload: { prefillBatch: 2, prefillLen: 512, decodeBatch: 2, kvLen: 1024 } });
  const attn = r.calls.find((c) => c.id === "decode:layers.0.self_attn.attention");
  assert.deepEqual(attn?.shape, { batch: 2, q_len: 1, kv_len: 1024, heads: 4, kv_heads: 2, head_dim_qk: 64, head_dim_v: 64 });
  const down = r.calls.find((c) => c.id === "prefill:layers.0.mlp.down_proj");
  assert.deepEqual(down?.shape, { m: 1024, n: 256, k: 512 });
  assert.deepEqual(r.workload, { prefill_batch: 2, prefill_len: 512, decode_batch: 2, kv_len: 1024 });
});

test("predicted_ms is null without a profile and filled by the predict hook when given", () => {
  const spec = craftSpec({ layers: 1 });
  assert.ok(buildScanReport(spec, opts).calls.every((c) => c.predicted_ms === null));
  const r = buildScanReport(spec, { ...opts, predict: (c) => (c.kind === "attention" ? 1.5 : null) });
  assert.deepEqual([...new Set(r.calls.filter((c) => c.kind === "attention").map((c) => c.predicted_ms))], [1.5]);
  assert.equal(r.strategies.MINIMAL.predicted_ms, null);
});

test("the runtime and GPU reach every verdict: TensorRT-LLM decode refuses head_dim 100", () => {
  const r = buildScanReport(craftSpec({ layers: 1, headDim: 100 }), { ...opts, runtime: "tensorrt-llm", gpu: "sm80" });
  assert.equal(r.runtime, "tensorrt-llm");
  assert.deepEqual(r.gpu, { id: "sm80", name: "a100 (sm80)" });
  assert.equal(r.calls.find((c) => c.id === "decode:layers.0.self_attn.attention")?.verdict, "refused");
  assert.equal(r.strategies.PREDEFINED.dims_changed, 1);
});

test("an odd head_dim is reported as collapsing and its repair refusal is named in the verdict", () => {
  const r = buildScanReport(craftSpec({ layers: 1, headDim: 107, heads: 2, kvHeads: 2, hidden: 256 }), opts);
  assert.equal(r.summary.applicability.verdict, "repair-helps-attention");
  assert.equal(r.strategies.MINIMAL.refusals.length, 1);
  assert.match(r.summary.applicability.explanation, /but repair refuses head_dim in 1 layer \(head_dim 107 is odd/);
});
