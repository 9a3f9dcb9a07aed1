import { test } from "node:test";
import assert from "node:assert/strict";
import { calibrate, calibrates, DEFAULT_CUDNN_REPLAN_MS_PER_PLAN } from "../../../src/bench/e2e/calibration.js";
import type { E2eMeasurement } from "../../../src/bench/e2e/measurements.js";
import { gemmScaleFor } from "../../../src/bench/e2e/measured-mechanisms.js";
import { attentionPartVerdict, explainGap, pairedEvidence, predictionTable, replanPlans, summarise, summaryLine } from "../../../src/bench/e2e/prediction-table.js";
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

const regimes = [{ gpu: "NVIDIA H200", engine: "gac" as const, band: 1.9, label: "t-dense", fastest_ms: 10, slowest_ms: 19, medians: 6, source: "results/probe" }];
const scales = [
  { gpu: "NVIDIA H200", tokens: 2048, graph: false, ratios: [1.1, 1.12, 1.13], source: "results/sustained" },
  { gpu: "NVIDIA H200", tokens: 1, graph: true, ratios: [0.75, 0.76], source: "results/sustained" },
];

test("the measured GEMM scale of a point's phase multiplies only its GEMM part: prefill at the power cap, graph decode at the same M, never eager decode or another GPU", () => {
  const at = (config: string, phase: "prefill" | "decode", batch = 1, gpu = "NVIDIA H200") => gemmScaleFor({ phase, batch, gpu, config }, scales);
  assert.equal(at("transformers/sdpa/dynamic", "prefill")?.scale, 1.12, "the median of the prefill runs");
  assert.equal(at("gac/eager/static", "prefill")?.scale, 1.12);
  assert.equal(at("gac/graph-splitkv/static", "decode")?.scale, 0.755);
  assert.equal(at("gac/graph/static", "decode", 32), null, "no graph run at M = 32");
  assert.equal(at("gac/eager/static", "decode"), null, "eager decode issues its GEMMs behind the host");
  assert.equal(at("transformers/sdpa/dynamic", "decode"), null);
  assert.equal(at("gac/eager/static", "prefill", 1, "NVIDIA H100"), null);
  const plain = predictE2ePoint(spec, { phase: "prefill", batch: 1, length: 128 }, profile, { dtype: "F16", config: "gac/eager/static", copyBandwidthGbps: 4000 });
  const scaled = predictE2ePoint(spec, { phase: "prefill", batch: 1, length: 128 }, profile, { dtype: "F16", config: "gac/eager/static", copyBandwidthGbps: 4000, gemmScale: 1.12 });
  assert.ok(Math.abs(scaled.gemm_ms - 1.12 * plain.gemm_ms) < 1e-12);
  assert.equal(scaled.attention_ms, plain.attention_ms);
  assert.equal(scaled.elementwise_ms, plain.elementwise_ms);
  assert.equal(scaled.gemm_scale, 1.12);
  const rows = [m("t", "gac/eager/static", 1, { phase: "prefill", length: 128, point: "prefill/b1/s128" })];
  const table = predictionTable(rows, [{ label: "t", spec }], profile, { sustainedGemm: scales, hostRegime: [] });
  assert.equal(table.rows[0].parts.gemm_scale, 1.12);
});

test("where the host subset recorded the host probe and it narrows the subset's spread, host µs per kernel is fitted at the median reading and each point is charged it x its own reading / that", () => {
  const flash = ["void pytorch_flash::flash_fwd_splitkv_kernel<Flash_fwd_kernel_traits<64"];
  const kernels = predict("transformers/sdpa-nocudnn/dynamic").kernels;
  const probe = (module: number) => ({ host_probe_us: { module, launch: 7, python: 30 } });
  // three calibration points: 20 µs/kernel at probe 3, 40 at probe 6, 20 at probe 3: at the reference 3 each is 20
  const cal3 = [3, 6, 3].map((p, i) =>
    m("t-dense", "transformers/sdpa-nocudnn/dynamic", (kernels * 20 * (p / 3)) / 1e3, { kernels: flash, ...probe(p), length: 256 + i, point: `decode/b1/c${256 + i}` }),
  );
  const slow = m("t-other", "transformers/sdpa-nocudnn/dynamic", (kernels * 40) / 1e3, { kernels: flash, ...probe(6) });
  const specs = [
    { label: "t-dense", spec },
    { label: "t-other", spec },
  ];
  const table = predictionTable([...cal3, slow], specs, profile);
  assert.equal(table.calibration.host_probe_ref_us.transformers, 3);
  assert.ok(Math.abs(table.calibration.host_us_per_kernel.transformers.value - 20) < 1e-9, `${table.calibration.host_us_per_kernel.transformers.value}`);
  const row = table.rows.find((r) => r.model === "t-other");
  assert.equal(row?.host_factor, 2);
  assert.ok(row?.ratio !== null && Math.abs((row?.ratio ?? 0) - 1) < 1e-9, "a slow-regime point is predicted at its own host speed");
  assert.equal(row?.off, false);
  // without the probe on every calibration point, no reference: the constant is the plain median and no point is scaled
  const mixed = predictionTable(
    [...cal3.slice(0, 2), m("t-dense", "transformers/sdpa-nocudnn/dynamic", (kernels * 20) / 1e3, { kernels: flash, length: 300, point: "decode/b1/c300" }), slow],
    specs,
    profile,
  );
  assert.equal(mixed.calibration.host_probe_ref_us.transformers, null);
  assert.equal(mixed.calibration.host_subset_spread.transformers, null);
  assert.deepEqual(table.calibration.host_subset_spread.transformers, { measured: 2, at_reference: 1 });
  // readings that do not follow the steps (the slow step read fast) widen the spread: not used
  const [a, b, c] = cal3;
  const unrelated = predictionTable([a, { ...b, host_probe_us: { module: 3 } }, { ...c, host_probe_us: { module: 6 } }, slow], specs, profile);
  assert.equal(unrelated.calibration.host_probe_ref_us.transformers, null);
  assert.deepEqual(unrelated.calibration.host_subset_spread.transformers, { measured: 2, at_reference: 4 });
  assert.equal(unrelated.rows.find((r) => r.model === "t-other")?.host_factor, 1);
  assert.equal(mixed.rows.find((r) => r.model === "t-other")?.host_factor, 1);
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

test("a graph decode point whose attention was measured alone is explained by attention-part only when the prediction with that part in place of the modelled one is within 15%", () => {
  const base = predict("gac/graph-splitkv/static");
  const prediction = predicted(base, { ms: 10, gemm_ms: 6, attention_ms: 1, elementwise_ms: 1, launch_ms: 2, extra_host_ms: 0, combine: "gpu + graph gaps" });
  const row = (measured: number, part?: number, p = prediction) => ({ m: m("t", "gac/graph-splitkv/static", measured, part === undefined ? {} : { attention_part_ms: part }), spec, prediction: p });
  // 10 - 1 + 2.5 = 11.5; 12.5 / 11.5 = 1.087
  const v = attentionPartVerdict(row(12.5, 2.5));
  assert.equal(v?.closes, true);
  assert.match(v?.text ?? "", /took 2\.500 ms where the model gives 1\.000 ms.*= 11\.50 ms, measured \/ that = 1\.09: within 15%/);
  assert.equal(explainGap(row(12.5, 2.5), []).by, "attention-part");
  assert.equal(explainGap(row(16, 2.5), []).by, null, "16 / 11.5 = 1.39: still off");
  assert.equal(attentionPartVerdict(row(12.5)), null, "not measured");
  assert.equal(attentionPartVerdict(row(12.5, 2.5, predicted(prediction, { combine: "max(gpu, host)" }))), null, "eager steps are not measured alone");
});
