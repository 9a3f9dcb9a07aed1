import { test } from "node:test";
import assert from "node:assert/strict";
import { predictCall } from "../../src/profile/predict.js";
import {
  COMPUTE_REFERENCE_M,
  DEFAULT_HOST_US_PER_KERNEL,
  ELEMENTWISE_BYTES,
  ELEMENTWISE_FLOOR_US,
  GRAPH_GAP_US_PER_KERNEL,
  STATIC_CACHE_SLACK,
  configCalls,
  elementwiseBytes,
  pointCalls,
  predictE2ePoint,
  predictGemmRows,
  splitKvAttentionMs,
} from "../../src/profile/predict-e2e.js";
import { SPLIT_KV_CHUNK } from "../../src/profile/engine-steps.js";
import { fixtureSpec } from "../../src/fixtures/kinds.js";
import { buildModelSpec } from "../../src/model/build-model-spec.js";
import { PROFILE_SCHEMA, type GpuProfile, type ProfileSeries } from "../../src/profile/types.js";
import { profileSeries, tinyProfile, tinySpec } from "../helpers/tiny-e2e.js";
import { distinctAttentionShapes, predictionRows, replanPlans } from "../../src/bench/e2e/prediction-table.js";
import type { E2eMeasurement } from "../../src/bench/e2e/measurements.js";

const dims = [32, 48, 52, 56, 64, 128, 256, 512, 1024];
const series = (op: ProfileSeries["op"], shape: Record<string, number>, extra: Partial<ProfileSeries> = {}): ProfileSeries => profileSeries(op, shape, dims, (d) => d / 1000, extra);

function profile(withDecode = true): GpuProfile {
  return tinyProfile({ name: "Test GPU", slug: "test" }, "2026-12-01", [
    series("gemm_k", { m: 1, n: 512 }, { layout: "linear" }),
    series("gemm_k", { m: 128, n: 512 }, { layout: "linear" }),
    series("sdpa_prefill", { batch: 1, heads: 4, kv_heads: 2, q_len: 128, kv_len: 128 }, { causal: true, backend: "AUTO" }),
    ...(withDecode ? [series("sdpa_decode", { batch: 1, heads: 4, kv_heads: 2, q_len: 1, kv_len: 256 }, { causal: false, backend: "AUTO" })] : []),
  ]);
}

test("a whole-model prediction is the per-call predictions summed plus elementwise bytes over bandwidth, and the engine's kernels x its host cost combined per engine", () => {
  const spec = tinySpec();
  const prof = profile();
  const point = { phase: "prefill" as const, batch: 1, length: 128 };
  const calls = pointCalls(spec, point, "F16");
  // 2 layers x (q, k, v, attention, o, gate, up, down) + lm_head
  assert.equal(calls.length, 17);
  const sum = (cs: typeof calls, kind: "gemm" | "attention") =>
    cs.filter((c) => c.kind === kind).reduce((a, c) => a + ((c.kind === "gemm" ? predictGemmRows(prof, c) : predictCall(prof, c)?.ms) ?? NaN), 0);
  const hf = predictE2ePoint(spec, point, prof, { dtype: "F16", config: "transformers/sdpa/dynamic", copyBandwidthGbps: 1000 });
  assert.equal(hf.predicted_calls, 17);
  assert.ok(Math.abs(hf.gemm_ms - sum(calls, "gemm")) < 1e-12 && Math.abs(hf.attention_ms - sum(calls, "attention")) < 1e-12);
  assert.equal(hf.launch_ms, (hf.kernels * DEFAULT_HOST_US_PER_KERNEL.transformers) / 1e3);
  assert.equal(hf.ms, Math.max(hf.gemm_ms + hf.attention_ms + hf.elementwise_ms, hf.launch_ms));
  // the gac engine runs q|k|v and gate|up as one GEMM each: 2 x (qkv, attention, o, gate_up, down) + lm_head
  const gacCalls = configCalls(spec, point, "F16", "gac/eager/static");
  assert.equal(gacCalls.length, 11);
  const eager = predictE2ePoint(spec, point, prof, { dtype: "F16", config: "gac/eager/static", copyBandwidthGbps: 1000, hostUsPerKernel: 10 });
  assert.ok(Math.abs(eager.gemm_ms - sum(gacCalls, "gemm")) < 1e-12);
  assert.equal(eager.launch_ms, (eager.kernels * 10) / 1e3);
  assert.ok(eager.kernels < hf.kernels, "gac's compact loop launches fewer kernels than transformers' modules");
  const graph = predictE2ePoint(spec, { phase: "decode", batch: 1, length: 256 }, prof, { dtype: "F16", config: "gac/graph/static", copyBandwidthGbps: 1000 });
  assert.equal(graph.combine, "gpu + graph gaps");
  assert.ok(Math.abs((graph.ms ?? 0) - (graph.gemm_ms + graph.attention_ms + graph.elementwise_ms + (graph.kernels * GRAPH_GAP_US_PER_KERNEL) / 1e3)) < 1e-12);
});

test("a masked fixed-length cache attends over the whole cache, and with a mask transformers' SDPA gets every query head's own K/V (repeat_kv)", () => {
  const spec = tinySpec();
  const point = { phase: "decode" as const, batch: 2, length: 100 };
  const att = (config: string) => configCalls(spec, point, "F16", config).find((c) => c.kind === "attention");
  assert.deepEqual([att("transformers/sdpa/dynamic")?.kvLen, att("transformers/sdpa/dynamic")?.numKvHeads], [100, 2]);
  assert.deepEqual([att("transformers/sdpa/static")?.kvLen, att("transformers/sdpa/static")?.numKvHeads], [100 + STATIC_CACHE_SLACK, 4]);
  assert.deepEqual([att("gac/graph/static")?.kvLen, att("gac/graph/static")?.numKvHeads], [100 + STATIC_CACHE_SLACK, 2], "gac packs a kv head's query heads, no copies");
  assert.deepEqual([att("gac/eager/static")?.kvLen, att("gac/eager/static")?.numKvHeads], [100, 2]);
});

test("eager attention is priced from its materialised scores, and costs more than the fused kernel's table", () => {
  const spec = tinySpec();
  const prof = { ...profile(), series: [...profile().series, series("gemm_k", { m: 2048, n: 512 }, { layout: "linear" })] };
  const point = { phase: "prefill" as const, batch: 1, length: 128 };
  const sdpa = predictE2ePoint(spec, point, prof, { dtype: "F16", config: "transformers/sdpa/dynamic", copyBandwidthGbps: 1000 });
  const eager = predictE2ePoint(spec, point, prof, { dtype: "F16", config: "transformers/eager/dynamic", copyBandwidthGbps: 1000 });
  assert.equal(eager.backend, "eager");
  // 2 layers x 4 heads x 128 x 128 scores x 26 bytes at 1000 GB/s at least
  assert.ok(eager.attention_ms >= (2 * 4 * 128 * 128 * 26) / 1e9, `${eager.attention_ms}`);
  assert.notEqual(eager.attention_ms, sdpa.attention_ms, "not the fused kernel's table");
  assert.ok(eager.kernels > sdpa.kernels, "eager launches repeat_kv, matmul, scale, mask add, softmax, cast, matmul per layer, and builds a mask");
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
  const gacEager = elementwiseBytes(spec, { phase: "decode", batch: 4, length: 1000 }, "gac/eager/static");
  const gacDyn = elementwiseBytes(spec, { phase: "decode", batch: 4, length: 1000 }, "gac/eager/dynamic");
  assert.equal(gacDyn - gacEager, 2 * (4 * 1000 * kvPerTokenPerLayer * 2 - 4 * kvPerTokenPerLayer * 2), "a cat-appended cache re-copies the whole cache");
  // gac's fused F.rms_norm moves 4 bytes per element, not transformers' 38
  const norms = (bytesPerElt: number) => 2 * (4 * 256 * 2 * bytesPerElt) + 4 * 256 * bytesPerElt;
  const hfStatic = elementwiseBytes(spec, { phase: "decode", batch: 4, length: 1000 }, "transformers/sdpa/static");
  const repeatKv = 2 * 4 * (1000 + STATIC_CACHE_SLACK) * (4 + 2) * (64 + 64) * 2;
  const layout = 2 * 4 * 4 * 64 * ELEMENTWISE_BYTES.attnLayout;
  assert.equal(hfStatic - gacEager, norms(ELEMENTWISE_BYTES.rmsnorm) - norms(4) + repeatKv + layout);
  assert.ok(dyn > 0);
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
  assert.equal(row.explained_by, null);
  assert.match(row.explanation ?? "", /no table for 2 of the point's 11 GEMM\/attention calls/);
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
  const withReplan = predictE2ePoint(spec, { phase: "decode", batch: 1, length: 256 }, profile(), { dtype: "F16", config: "transformers/sdpa/dynamic", extraHostMs: 42 });
  assert.equal(withReplan.ms, Math.max(withReplan.gemm_ms + withReplan.attention_ms + withReplan.elementwise_ms, withReplan.launch_ms + 42));
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

test("decode attention is scaled from the measured table nearest the call's KV bytes: batch 32 takes the batch-32 table, not 32 x the latency-bound batch-1 time", () => {
  const b1 = { ...series("sdpa_decode", { batch: 1, heads: 4, kv_heads: 2, q_len: 1, kv_len: 256 }, { causal: false, backend: "AUTO" }), points: [{ dim: 64, median_ms: 0.01 }] };
  const b32 = { ...series("sdpa_decode", { batch: 32, heads: 4, kv_heads: 2, q_len: 1, kv_len: 256 }, { causal: false, backend: "AUTO" }), points: [{ dim: 64, median_ms: 0.05 }] };
  const prof: GpuProfile = { ...profile(), series: [b1, b32] };
  const call = (batch: number, kvLen: number) => ({
    id: "a",
    kind: "attention" as const,
    phase: "decode" as const,
    layer: 0,
    role: "a",
    batch,
    qLen: 1,
    kvLen,
    numHeads: 4,
    numKvHeads: 2,
    headDimQk: 64,
    headDimV: 64,
    causal: false,
    dtype: "F16" as const,
  });
  assert.equal(predictCall(prof, call(32, 128))?.ms, 0.05 / 2);
  assert.equal(predictCall(prof, call(1, 256))?.ms, 0.01);
});

test("the split-KV graph attends over a cache of whole 256-position pieces, and its attention is its bytes at the copy bandwidth, never under its kernels' floors", () => {
  const spec = tinySpec();
  const point = { phase: "decode" as const, batch: 1, length: 100 };
  const att = configCalls(spec, point, "F16", "gac/graph-splitkv/static").find((c) => c.kind === "attention");
  assert.equal(att?.kvLen, SPLIT_KV_CHUNK, "100 + slack rounds up to one piece");
  assert.equal(att?.numKvHeads, 2, "no repeated K/V");
  assert.ok(att && att.kind === "attention");
  // A tiny call: 8 kernels x 2 µs floor.
  assert.equal(splitKvAttentionMs(att, 4000), (8 * ELEMENTWISE_FLOOR_US) / 1e3);
  // A big one is its bytes: K and V read once dominate; more bandwidth, less time.
  const big = { ...att, batch: 32, kvLen: 8192, numHeads: 32, numKvHeads: 8, headDimQk: 128, headDimV: 128 };
  const kvBytes = 32 * 8 * 8192 * 256 * 2;
  const t = splitKvAttentionMs(big, 4000);
  assert.ok(t > (kvBytes / 4e12) * 1e3 && t < ((1.5 * kvBytes) / 4e12) * 1e3, `${t} ms for ${kvBytes} bytes of K/V`);
  assert.ok(splitKvAttentionMs(big, 8000) < t);
});

test("the split-KV graph is priced as split-KV whatever attention kernels the run recorded, and cuDNN off sends the gac engine's eager decode to flash", () => {
  const spec = tinySpec();
  const point = { phase: "decode" as const, batch: 1, length: 200 };
  const split = predictE2ePoint(spec, point, profile(), { dtype: "F16", config: "gac/graph-splitkv/static", decodeBackend: "math" });
  assert.equal(split.backend, "splitkv");
  assert.equal(split.combine, "gpu + graph gaps");
  assert.equal(split.us_per_kernel, GRAPH_GAP_US_PER_KERNEL);
  const nocudnn = predictE2ePoint(spec, point, profile(), { dtype: "F16", config: "gac/eager-nocudnn/static" });
  assert.equal(nocudnn.backend, "flash");
  assert.equal(nocudnn.combine, "max(gpu, host)");
  assert.equal(predictE2ePoint(spec, point, profile(), { dtype: "F16", config: "gac/eager/static" }).backend, "cudnn");
});
