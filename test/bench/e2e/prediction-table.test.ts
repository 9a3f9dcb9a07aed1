import { test } from "node:test";
import assert from "node:assert/strict";
import { calibrate, calibrates, DEFAULT_CUDNN_REPLAN_MS_PER_PLAN } from "../../../src/bench/e2e/calibration.js";
import type { E2eMeasurement } from "../../../src/bench/e2e/measurements.js";
import { explainGap, pairedEvidence, predictionTable, replanPlans, summarise, summaryLine } from "../../../src/bench/e2e/prediction-table.js";
import { DEFAULT_HOST_US_PER_KERNEL, predictE2ePoint, type E2ePrediction } from "../../../src/profile/predict-e2e.js";
import type { GpuProfile, ProfileSeries } from "../../../src/profile/types.js";
import { profileSeries, tinyProfile, tinySpec } from "../../helpers/tiny-e2e.js";

const spec = tinySpec();

const series = (op: ProfileSeries["op"], shape: Record<string, number>, extra: Partial<ProfileSeries> = {}): ProfileSeries =>
  profileSeries(op, shape, [32, 64, 128, 256, 512, 1024], (dim) => dim / 1e6, extra);

const profile: GpuProfile = tinyProfile({ name: "NVIDIA H200", slug: "h200" }, "2026-12-02", [
  series("gemm_k", { m: 1, n: 512 }, { layout: "linear" }),
  series("gemm_k", { m: 2048, n: 512 }, { layout: "linear" }),
  series("sdpa_prefill", { batch: 1, heads: 4, kv_heads: 2, q_len: 128, kv_len: 128 }, { causal: true, backend: "AUTO" }),
  series("sdpa_decode", { batch: 1, heads: 4, kv_heads: 2, q_len: 1, kv_len: 256 }, { causal: false, backend: "AUTO" }),
]);

function m(model: string, config: string, median_ms: number, over: Partial<E2eMeasurement> = {}): E2eMeasurement {
  const [name, variant = "none"] = model.split("/");
  return {
    model,
    checkpoint: name,
    variant,
    role: /-dense$/.test(name) ? "parent" : "checkpoint",
    family: "dense",
    config,
    phase: "decode",
    batch: 1,
    length: 256,
    point: "decode/b1/c256",
    gpu: "NVIDIA H200",
    median_ms,
    p10_ms: median_ms,
    p90_ms: median_ms,
    tokens_per_s: null,
    roofline: null,
    kernels: [],
    copy_bandwidth_gbps: 4000,
    weight_bytes: null,
    kv_bytes_per_token: null,
    ...over,
  };
}

const predict = (config: string, usPerKernel?: number) =>
  predictE2ePoint(spec, { phase: "decode", batch: 1, length: 256 }, profile, { dtype: "F16", config, copyBandwidthGbps: 4000, ...(usPerKernel ? { hostUsPerKernel: usPerKernel } : {}) });

test("a paired measurement explains a gap only when the pair's prediction plus the measured difference is within 15% of the measurement", () => {
  const pairPrediction = predict("transformers/sdpa-nocudnn/dynamic");
  const rowPrediction = predict("transformers/eager/dynamic");
  const base = pairPrediction.ms ?? 0;
  const row = (measured: number) => ({ m: m("t-dense", "transformers/eager/dynamic", measured), spec, prediction: rowPrediction });
  const pair = (measured: number) => ({ m: m("t-dense", "transformers/sdpa-nocudnn/dynamic", measured), spec, prediction: pairPrediction });
  // the pair is measured 10% above its prediction; the row a base's worth above the pair
  const good = pairedEvidence(row(base * 2.1), pair(base * 1.1), "eager-attention", "eager");
  assert.ok(good);
  assert.ok(Math.abs(good.measured_delta_ms - base) < 1e-9);
  assert.ok(Math.abs(good.corrected_ms - 2 * base) < 1e-9);
  assert.equal(good.closes, true);
  // the pair itself is 2x off its prediction: the measured difference cannot close the row's gap
  const bad = pairedEvidence(row(base * 3), pair(base * 2), "eager-attention", "eager");
  assert.equal(bad?.closes, false);
});

const predicted = (e: E2ePrediction, over: Partial<E2ePrediction> = {}): E2ePrediction => ({ ...e, ...over });

const sustained = [{ gpu: "NVIDIA H200", ratios: [1.105, 1.128], source: "results/sustained" }];
const regimes = [{ gpu: "NVIDIA H200", engine: "gac" as const, band: 1.9, label: "t-dense", fastest_ms: 10, slowest_ms: 19, medians: 6, source: "results/probe" }];

test("sustained power scales only the GEMM part of a GPU-bound prefill, by the largest measured ratio, and explains the gap only when that closes it", () => {
  const base = predict("gac/eager/static");
  const prediction = predicted(base, { ms: 40, gemm_ms: 30, attention_ms: 5, elementwise_ms: 5, launch_ms: 10, extra_host_ms: 0, combine: "max(gpu, host)" });
  const row = (ms: number, phase: "prefill" | "decode" = "prefill", gpu = "NVIDIA H200") => ({ m: m("t", "gac/eager/static", ms, { phase, gpu }), spec, prediction });
  const measured = { sustainedGemm: sustained, hostRegime: [] };
  // 30 x 1.128 + 10 = 43.84: 48 is 1.095 of that
  const ok = explainGap(row(48), [], measured);
  assert.equal(ok.by, "sustained-power");
  assert.match(ok.text, /43\.84 ms, measured \/ that = 1\.09/);
  assert.equal(explainGap(row(60), [], measured).by, null, "60 / 43.84 = 1.37: still off");
  assert.equal(explainGap(row(48, "decode"), [], measured).by, null, "decode is not the measured mechanism");
  assert.equal(explainGap(row(48, "prefill", "NVIDIA H100"), [], measured).by, null, "evidence of another GPU says nothing");
  assert.equal(explainGap(row(48), []).by, null, "without the measurement there is no explanation");
});

test("a host-bound eager step off its prediction is only consistent with the host's regime when its ratio lies inside the measured band, and a GPU-bound one never is", () => {
  const base = predict("gac/eager/static");
  const hostBound = predicted(base, { ms: 20, gemm_ms: 4, attention_ms: 0.5, elementwise_ms: 0.5, launch_ms: 20, extra_host_ms: 0, combine: "max(gpu, host)" });
  const row = (ms: number, prediction = hostBound) => ({ m: m("t", "gac/eager-nocudnn/static", ms), spec, prediction });
  const measured = { sustainedGemm: [], hostRegime: regimes };
  const inside = explainGap(row(36), [], measured);
  assert.equal(inside.by, "host-regime");
  assert.match(inside.text, /consistent with the host's regime \(not recorded per point, so not sized\)/);
  assert.equal(explainGap(row(12), [], measured).by, "host-regime", "0.6 is inside 1/1.9");
  assert.equal(explainGap(row(40), [], measured).by, null, "2.0 is outside 1.9");
  assert.equal(explainGap(row(9), [], measured).by, null, "0.45 is outside 1/1.9");
  const gpuBound = predicted(base, { ms: 20, gemm_ms: 18, attention_ms: 1, elementwise_ms: 1, launch_ms: 5, extra_host_ms: 0, combine: "max(gpu, host)" });
  assert.equal(explainGap(row(30, gpuBound), [], measured).by, null);
  const graph = predicted(hostBound, { combine: "gpu + graph gaps" });
  assert.equal(explainGap(row(30, graph), [], measured).by, null, "a graph replay has no host loop");
});

test("host µs per kernel is fitted on the sdpa-nocudnn decode points and the cuDNN plan cost on sdpa/dynamic points against their twins; those points are calibration, not checks", () => {
  const cudnn = ["cudnn_generated_fort_native_sdpa_sm90_flash_fprop"];
  const flash = ["void pytorch_flash::flash_fwd_splitkv_kernel<Flash_fwd_kernel_traits<64"];
  const kernelsNoCudnn = predict("transformers/sdpa-nocudnn/dynamic").kernels;
  const rows = [
    m("t-dense", "transformers/sdpa-nocudnn/dynamic", (kernelsNoCudnn * 20) / 1e3, { kernels: flash }),
    m("t-dense", "transformers/sdpa/dynamic", (kernelsNoCudnn * 20) / 1e3 + 30, { kernels: cudnn }),
    m("t-dense", "transformers/eager/dynamic", 5),
  ];
  const specs = new Map([["t-dense", spec]]);
  const cal = calibrate(rows, specs, profile, replanPlans);
  assert.ok(Math.abs(cal.host_us_per_kernel.transformers.value - 20) < 1e-9);
  assert.deepEqual(cal.host_us_per_kernel.transformers.fitted_on, ["t-dense transformers/sdpa-nocudnn/dynamic decode/b1/c256"]);
  assert.ok(Math.abs(cal.replan_ms_per_plan.value - 30) < 1e-9, "one attention shape: one plan per step");
  assert.equal(cal.host_us_per_kernel.gac.value, DEFAULT_HOST_US_PER_KERNEL.gac, "no gac point: the default");
  assert.equal(calibrates(rows[0], cal), "host µs per kernel, transformers");
  assert.equal(calibrates(rows[1], cal), "cuDNN plan build ms");
  assert.equal(calibrates(rows[2], cal), null);
  const table = predictionTable(rows, [{ label: "t-dense", spec }], profile);
  const s = summarise(table.rows);
  assert.equal(s.calibration, 2);
  assert.equal(s.checks, 1);
  assert.equal(table.rows[0].off, false, "a calibration point is never counted off");
  assert.match(summaryLine(s), /of 1 checks; 2 calibration points not counted/);
  assert.equal(calibrate([], specs, profile, replanPlans).replan_ms_per_plan.value, DEFAULT_CUDNN_REPLAN_MS_PER_PLAN);
});

test("an off eager point is explained by eager-attention when its sdpa twin is predicted well, and stays not explained when nothing in the run sizes the gap", () => {
  const pairPrediction = predict("transformers/sdpa-nocudnn/dynamic", 20);
  const pairMs = pairPrediction.ms ?? 0;
  const rows = [
    m("t-dense", "transformers/sdpa-nocudnn/dynamic", pairMs, { kernels: ["flash_fwd_splitkv_kernel"] }),
    m("t-dense", "transformers/eager/dynamic", pairMs * 3),
    m("t-other", "gac/graph/static", 100),
  ];
  const table = predictionTable(
    rows,
    [
      { label: "t-dense", spec },
      { label: "t-other", spec },
    ],
    profile,
  );
  const eager = table.rows.find((r) => r.config === "transformers/eager/dynamic");
  assert.equal(eager?.off, true);
  assert.equal(eager?.explained_by, "eager-attention");
  assert.match(eager?.explanation ?? "", /measured as this point - transformers\/sdpa-nocudnn\/dynamic at the same point/);
  const graph = table.rows.find((r) => r.config === "gac/graph/static");
  assert.equal(graph?.off, true);
  assert.equal(graph?.explained_by, null);
  assert.match(graph?.explanation ?? "", /no paired measurement/);
  const s = summarise(table.rows);
  assert.deepEqual([s.within, s.explained, s.not_explained, s.by_mechanism], [0, 1, 1, { "eager-attention": 1 }]);
});

test("the gac engine's cuDNN eager decode is sized by its eager-nocudnn twin (cudnn-replan), and its SDPA graph by the split-KV graph (masked-sdpa); the twin's points calibrate the gac host cost", () => {
  const cudnn = ["cudnn_generated_fort_native_sdpa_sm90_flash_fprop"];
  const flash = ["void pytorch_flash::flash_fwd_splitkv_kernel<Flash_fwd_kernel_traits<64"];
  const splitMs = predict("gac/graph-splitkv/static").ms ?? 0;
  const rows = [
    m("t-other", "gac/eager-nocudnn/static", 3, { kernels: flash }),
    m("t-other", "gac/eager/static", 3 + 40, { kernels: cudnn }),
    m("t-other", "gac/graph-splitkv/static", splitMs, { kernels: ["cunn_SoftMaxForward"] }),
    m("t-other", "gac/graph/static", splitMs + 5, { kernels: cudnn }),
  ];
  const table = predictionTable(rows, [{ label: "t-other", spec }], profile);
  const row = (config: string) => table.rows.find((r) => r.config === config);
  assert.equal(row("gac/eager-nocudnn/static")?.calibration, "host µs per kernel, gac");
  assert.equal(row("gac/eager/static")?.explained_by, "cudnn-replan");
  assert.match(row("gac/eager/static")?.explanation ?? "", /gac\/eager-nocudnn\/static at the same point/);
  assert.equal(row("gac/graph-splitkv/static")?.off, false, "split-KV priced as split-KV although its softmax reads as math");
  assert.equal(row("gac/graph/static")?.explained_by, "masked-sdpa");
  assert.match(row("gac/graph/static")?.explanation ?? "", /split-KV attention/);
});
