import { test } from "node:test";
import assert from "node:assert/strict";
import { buildScanReport } from "../../src/scan/build-scan-report.js";
import type { LoadedProfile } from "../../src/scan/scan-profile.js";
import { PROFILE_SCHEMA, type GpuProfile, type ProfileSeries } from "../../src/profile/types.js";
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
    layers: 1,
    heads: 8,
    kvHeads: 4,
    headDim: 128,
    hidden: 512,
    family: "palu",
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

test("without a profile every predicted time is null and no strategy claims a speedup", () => {
  const r = buildScanReport(craftSpec({ layers: 1, headDim: 100 }), opts);
  assert.ok(r.calls.every((c) => c.predicted_ms === null));
  assert.deepEqual([r.summary.predicted_ms, r.summary.predicted_calls, r.profile], [null, 0, null]);
  for (const s of Object.values(r.strategies)) assert.deepEqual([s.predicted_ms, s.predicted_calls, s.predicted_speedup_pct], [null, 0, null]);
});

/** Attention tables at exactly craftSpec's shapes (4 heads / 2 kv heads, the default workload), so each prediction is the point itself. */
function attentionProfile(prefill: Record<number, number>, decode: Record<number, number>): LoadedProfile {
  const series = (op: "sdpa_prefill" | "sdpa_decode", causal: boolean, qLen: number, kvLen: number, points: Record<number, number>): ProfileSeries => ({
    op,
    key: `${op}/crafted`,
    dtype: "bf16",
    causal,
    backend: "AUTO",
    shape: { batch: 1, heads: 4, kv_heads: 2, q_len: qLen, kv_len: kvLen },
    experiments: ["crafted"],
    points: Object.entries(points).map(([dim, ms]) => ({ dim: Number(dim), median_ms: ms })),
  });
  const profile: GpuProfile = {
    schema: PROFILE_SCHEMA,
    gpu: { name: "Crafted GPU", slug: "crafted-gpu" },
    env: {},
    source: "measured",
    source_runs: ["run-1"],
    created: "2026-01-01T00:00:00.000Z",
    series: [series("sdpa_prefill", true, 2048, 2048, prefill), series("sdpa_decode", false, 1, 4096, decode)],
  };
  return { profile, path: "/profiles/crafted.json" };
}

const close = (actual: number | null, expected: number, what: string) => assert.ok(actual !== null && Math.abs(actual - expected) < 1e-9, `${what}: ${actual} != ${expected}`);

test("each strategy's predicted time is the repaired model's calls through the same profile, with its speedup over the same calls", () => {
  // head_dim 100 in 2 layers; prefill 2.0 ms at 100, 1.5 at 104, 1.6 at 112, 1.8 at 128; decode 0.05, 0.04, 0.045, 0.06.
  const profile = attentionProfile({ 100: 2.0, 104: 1.5, 112: 1.6, 128: 1.8 }, { 100: 0.05, 104: 0.04, 112: 0.045, 128: 0.06 });
  const r = buildScanReport(craftSpec({ layers: 2, headDim: 100 }), { ...opts, profile });
  // No GEMM table: only the 4 attention calls have a prediction, and every sum is over them.
  assert.equal(r.calls.filter((c) => c.predicted_ms !== null).length, 4);
  assert.equal(r.calls.find((c) => c.id === "prefill:layers.1.self_attn.attention")?.predicted_ms, 2.0);
  assert.equal(r.summary.predicted_calls, 4);
  close(r.summary.predicted_ms, 2 * (2.0 + 0.05), "unrepaired");
  // MINIMAL and TRADEOFF pad to 104, OPTIMAL to 112, PREDEFINED to pytorch-sdpa's compiled 128.
  const expected = { MINIMAL: 2 * (1.5 + 0.04), OPTIMAL: 2 * (1.6 + 0.045), PREDEFINED: 2 * (1.8 + 0.06), TRADEOFF: 2 * (1.5 + 0.04) };
  for (const [k, ms] of Object.entries(expected)) {
    const s = r.strategies[k as keyof typeof expected];
    close(s.predicted_ms, ms, k);
    assert.equal(s.predicted_calls, 4, k);
    close(s.predicted_speedup_pct, 100 * (4.1 / ms - 1), k);
  }
  assert.ok((r.strategies.MINIMAL.predicted_speedup_pct ?? 0) > 33 && (r.strategies.PREDEFINED.predicted_speedup_pct ?? 0) < 11);
  assert.deepEqual(r.profile, {
    path: "/profiles/crafted.json",
    gpu: "Crafted GPU",
    source: "measured",
    runs: ["run-1"],
    created: "2026-01-01T00:00:00.000Z",
    notes: ["the profile has no table for GEMM: those calls have no prediction"],
  });
});

test("an aligned model predicts the same time after every strategy: a speedup of exactly 0", () => {
  const profile = attentionProfile({ 64: 1.0 }, { 64: 0.02 });
  const r = buildScanReport(craftSpec({ layers: 2, headDim: 64 }), { ...opts, profile });
  close(r.summary.predicted_ms, 2.04, "unrepaired");
  for (const s of Object.values(r.strategies)) assert.deepEqual([s.predicted_ms, s.predicted_speedup_pct], [r.summary.predicted_ms, 0]);
});

test("an F32 checkpoint is judged and predicted as F16 serving, and a BF16 one at BF16", () => {
  const f32 = { ...craftSpec({ layers: 1, headDim: 100 }), dtype: "F32" as const };
  const r = buildScanReport(f32, opts);
  assert.equal(r.model.serving_dtype, "F16");
  assert.ok(
    r.calls.every((c) => c.dtype === "F32"),
    "calls keep the stored dtype",
  );
  // At F32 mem-efficient takes head_dim 100 (it needs % 4); at F16 it needs % 8, so flash pads.
  assert.equal(r.calls.find((c) => c.id === "prefill:layers.0.self_attn.attention")?.kernel, "FA2 (padded 100->104, hdim128 template)");
  assert.equal(buildScanReport(craftSpec({ layers: 1 }), opts).model.serving_dtype, "BF16");
});

test("the GPU name the user gave is the one reports show", () => {
  const r = buildScanReport(craftSpec({ layers: 1, headDim: 100 }), { ...opts, gpu: "sm90", gpuName: "H200" });
  assert.deepEqual(r.gpu, { id: "sm90", name: "h200 (sm90)" });
  assert.match(r.summary.applicability.explanation, /on pytorch-sdpa on h200 \(sm90\)/);
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
