import { test } from "node:test";
import assert from "node:assert/strict";
import { fixtureSpec } from "../../src/fixtures/kinds.js";
import { buildModelSpec } from "../../src/model/build-model-spec.js";
import { predictCall } from "../../src/profile/predict.js";
import {
  COMPUTE_REFERENCE_M,
  ELEMENTWISE_BYTES,
  EAGER_HOST_US_PER_KERNEL,
  GRAPH_GAP_US_PER_KERNEL,
  elementwiseBytes,
  kernelCount,
  pointCalls,
  predictE2ePoint,
  predictGemmRows,
} from "../../src/profile/predict-e2e.js";
import { PROFILE_SCHEMA, type GpuProfile, type ProfileSeries } from "../../src/profile/types.js";
import { CUDNN_REPLAN_MS_PER_PLAN, distinctAttentionShapes, explainGap, predictionRows, replanPlans } from "../../src/bench/e2e/prediction-table.js";
import type { E2eMeasurement } from "../../src/bench/e2e/measurements.js";

/** The tiny aligned Llama: hidden 256, 2 layers, 4 / 2 heads of 64, intermediate 512, vocab 512. */
function tinySpec(kind: "llama-aligned" | "llama-direct-svd" = "llama-aligned") {
  const f = fixtureSpec(kind);
  return buildModelSpec(f.config, new Map(f.tensors.map((t) => [t.name, { dtype: "F16" as const, shape: t.shape }])));
}

const dims = [32, 48, 52, 56, 64, 128, 256, 512, 1024];
const points = (ms: (d: number) => number) => dims.map((dim) => ({ dim, median_ms: ms(dim) }));
const series = (op: ProfileSeries["op"], shape: Record<string, number>, extra: Partial<ProfileSeries> = {}): ProfileSeries => ({
  op,
  key: `${op}/${JSON.stringify(shape)}`,
  dtype: "fp16",
  shape,
  experiments: ["test"],
  points: points((d) => d / 1000),
  ...extra,
});

function profile(withDecode = true): GpuProfile {
  return {
    schema: PROFILE_SCHEMA,
    gpu: { name: "Test GPU", slug: "test" },
    env: {},
    source: "measured",
    source_runs: [],
    created: "2026-12-01",
    series: [
      series("gemm_k", { m: 1, n: 512 }, { layout: "linear" }),
      series("gemm_k", { m: 128, n: 512 }, { layout: "linear" }),
      series("sdpa_prefill", { batch: 1, heads: 4, kv_heads: 2, q_len: 128, kv_len: 128 }, { causal: true, backend: "AUTO" }),
      ...(withDecode ? [series("sdpa_decode", { batch: 1, heads: 4, kv_heads: 2, q_len: 1, kv_len: 256 }, { causal: false, backend: "AUTO" })] : []),
    ],
  };
}

test("a whole-model prediction is the per-call predictions summed plus elementwise bytes over bandwidth, and launches combined per engine", () => {
  const spec = tinySpec();
  const prof = profile();
  const point = { phase: "prefill" as const, batch: 1, length: 128 };
  const calls = pointCalls(spec, point, "F16");
  // 2 layers x (q, k, v, attention, o, gate, up, down) + lm_head
  assert.equal(calls.length, 17);
  const gemm = calls.filter((c) => c.kind === "gemm").reduce((a, c) => a + (c.kind === "gemm" ? (predictGemmRows(prof, c) ?? NaN) : 0), 0);
  const attention = calls.filter((c) => c.kind === "attention").reduce((a, c) => a + (predictCall(prof, c)?.ms ?? NaN), 0);
  const eager = predictE2ePoint(spec, point, prof, { dtype: "F16", config: "gac/eager/static", copyBandwidthGbps: 1000 });
  assert.equal(eager.predicted_calls, 17);
  assert.ok(Math.abs(eager.gemm_ms - gemm) < 1e-12 && Math.abs(eager.attention_ms - attention) < 1e-12);
  assert.equal(kernelCount(spec), 10 + 2 * (7 + 1 + 30));
  assert.equal(eager.launch_ms, (kernelCount(spec) * EAGER_HOST_US_PER_KERNEL) / 1e3);
  assert.equal(eager.ms, Math.max(gemm + attention + eager.elementwise_ms, eager.launch_ms));
  const graph = predictE2ePoint(spec, point, prof, { dtype: "F16", config: "gac/graph/static", copyBandwidthGbps: 1000 });
  assert.ok(Math.abs((graph.ms ?? 0) - (gemm + attention + graph.elementwise_ms + (kernelCount(spec) * GRAPH_GAP_US_PER_KERNEL) / 1e3)) < 1e-12);
});

test("elementwise bytes per token follow the per-op table, and a dynamic cache re-copies the whole KV cache every decode step", () => {
  const spec = tinySpec();
  const tokens = 128;
  const perLayer =
    tokens * 256 * (2 * ELEMENTWISE_BYTES.rmsnorm + 2 * ELEMENTWISE_BYTES.residual) +
    tokens * 6 * 64 * ELEMENTWISE_BYTES.rope +
    tokens * 512 * ELEMENTWISE_BYTES.act +
    tokens * 4 * 64 * ELEMENTWISE_BYTES.attnLayout +
    tokens * (2 * 128 * 2) * 2;
  const model = tokens * 256 * 2 * 2 + 1 * 256 * ELEMENTWISE_BYTES.rmsnorm;
  assert.equal(elementwiseBytes(spec, { phase: "prefill", batch: 1, length: 128 }, "transformers/sdpa/dynamic"), 2 * perLayer + model);
  const kvPerTokenPerLayer = 2 * 128 * 2;
  const dyn = elementwiseBytes(spec, { phase: "decode", batch: 4, length: 1000 }, "transformers/sdpa/dynamic");
  const stat = elementwiseBytes(spec, { phase: "decode", batch: 4, length: 1000 }, "transformers/sdpa/static");
  assert.equal(dyn - stat, 2 * (4 * 1000 * kvPerTokenPerLayer * 2 - 4 * kvPerTokenPerLayer * 2));
});

test("a point with a call the profile cannot predict has no whole-model prediction, and the check says why", () => {
  const spec = tinySpec();
  const p = predictE2ePoint(spec, { phase: "decode", batch: 1, length: 256 }, profile(false), { dtype: "F16", config: "gac/graph/static" });
  assert.equal(p.ms, null);
  assert.equal(p.calls - p.predicted_calls, 2);
  const m: E2eMeasurement = {
    model: "m/none",
    checkpoint: "m",
    variant: "none",
    role: "checkpoint",
    family: "dense",
    config: "gac/graph/static",
    phase: "decode",
    batch: 1,
    length: 256,
    point: "decode/b1/c256",
    gpu: "NVIDIA H200",
    median_ms: 1,
    p10_ms: 1,
    p90_ms: 1,
    tokens_per_s: null,
    roofline: null,
    kernels: [],
    copy_bandwidth_gbps: 4000,
    weight_bytes: null,
    kv_bytes_per_token: null,
  };
  const [row] = predictionRows([m], [{ label: "m/none", spec }], profile(false));
  assert.equal(row.off, true);
  assert.match(row.explanation ?? "", /no table for 2 of the point's 17 GEMM\/attention calls/);
});

test("decode off by more than 15% with a growing KV length at a cuDNN-eligible head_dim is explained by the re-plan rule (transformers dynamic, gac eager), not with a fixed one or at head_dim 52; an unfused softmax is the math backend", () => {
  const prediction = { ms: 1, gemm_ms: 0, attention_ms: 0, elementwise_ms: 0, launch_ms: 0, extra_host_ms: 0, predicted_calls: 1, calls: 1, kernels: 1, combine: "max(gpu, host)" as const };
  const m = (config: string, kernels: string[]): E2eMeasurement => ({
    model: "m",
    checkpoint: "m",
    variant: "none",
    role: "checkpoint",
    family: "dense",
    config,
    phase: "decode",
    batch: 1,
    length: 4096,
    point: "decode/b1/c4096",
    gpu: "NVIDIA H200",
    median_ms: 40,
    p10_ms: 40,
    p90_ms: 40,
    tokens_per_s: null,
    roofline: null,
    kernels,
    copy_bandwidth_gbps: null,
    weight_bytes: null,
    kv_bytes_per_token: null,
  });
  assert.match(explainGap(m("transformers/sdpa/dynamic", ["cudnn_generated_fort_native_sdpa_sm90"]), tinySpec(), prediction) ?? "", /^cudnn-sdpa-replan-per-kv-length/);
  assert.equal(explainGap(m("transformers/sdpa-nocudnn/dynamic", []), tinySpec(), prediction), null);
  assert.equal(explainGap(m("transformers/sdpa/dynamic", []), tinySpec("llama-direct-svd"), prediction), null);
  assert.match(explainGap(m("gac/eager/static", ["cudnn_generated_fort_native_sdpa_sm90"]), tinySpec(), prediction) ?? "", /^cudnn-sdpa-replan-per-kv-length.*1 plan build\(s\) of 32 ms/);
  assert.equal(explainGap(m("gac/graph/static", ["cudnn_generated_fort_native_sdpa_sm90"]), tinySpec(), prediction), null, "a CUDA graph attends over the whole masked cache");
  assert.equal(explainGap(m("transformers/sdpa/static", ["cudnn_generated_fort_native_sdpa_sm80"]), tinySpec(), prediction), null);
  assert.match(explainGap(m("transformers/sdpa/static", ["void at::native::(anonymous namespace)::cunn_SoftMaxForwardReg<float>"]), tinySpec("llama-direct-svd"), prediction) ?? "", /math backend/);
});

test("the re-plan rule charges one plan build per distinct attention shape per decode step in the prediction", () => {
  const spec = tinySpec();
  const m = { phase: "decode" as const, batch: 1, length: 256, gpu: "NVIDIA H200" };
  assert.equal(replanPlans({ ...m, config: "transformers/sdpa/dynamic" }, spec), 1);
  assert.equal(replanPlans({ ...m, config: "transformers/sdpa-nocudnn/dynamic" }, spec), 0);
  assert.equal(replanPlans({ ...m, config: "gac/graph/static" }, spec), 0);
  const flap = fixtureSpec("pruned-flap");
  const flapSpec = buildModelSpec(flap.config, new Map(flap.tensors.map((t) => [t.name, { dtype: "F16" as const, shape: t.shape }])));
  assert.equal(distinctAttentionShapes(flapSpec), 2, "FLAP's two layers keep 3 and 4 heads");
  const withReplan = predictE2ePoint(spec, { phase: "decode", batch: 1, length: 256 }, profile(), { dtype: "F16", config: "transformers/sdpa/dynamic", extraHostMs: CUDNN_REPLAN_MS_PER_PLAN });
  assert.equal(withReplan.ms, Math.max(withReplan.gemm_ms + withReplan.attention_ms + withReplan.elementwise_ms, withReplan.launch_ms + CUDNN_REPLAN_MS_PER_PLAN));
});

test("a GEMM with few rows takes the larger of its weight-read time (M=1 table) and its compute time (M=2048 table scaled by M), not M x the M=1 time", () => {
  const prof: GpuProfile = {
    schema: PROFILE_SCHEMA,
    gpu: { name: "Test GPU", slug: "test" },
    env: {},
    source: "measured",
    source_runs: [],
    created: "2026-12-01",
    series: [
      { ...series("gemm_k", { m: 1, n: 4096 }, { layout: "linear" }), points: [{ dim: 4096, median_ms: 0.01 }] },
      { ...series("gemm_k", { m: 2048, n: 4096 }, { layout: "linear" }), points: [{ dim: 4096, median_ms: 0.1 }] },
    ],
  };
  const call = (m: number) => ({ id: "g", kind: "gemm" as const, phase: "decode" as const, layer: 0, role: "q", tensor: "q", m, n: 4096, k: 4096, dtype: "F16" as const });
  assert.equal(predictGemmRows(prof, call(32)), 0.01, "32 rows: still the weight read");
  assert.equal(predictGemmRows(prof, call(1024)), (0.1 * 1024) / COMPUTE_REFERENCE_M, "1024 rows: compute-bound");
  assert.equal(predictCall(prof, call(32))?.ms, 0.01 * 32, "predictCall alone would scale the M=1 time by 32");
  assert.equal(predictGemmRows(prof, call(8192)), predictCall(prof, call(8192))?.ms);
});
