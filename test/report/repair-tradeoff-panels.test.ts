/**
 * The repair trade-off with several models measured by `gac bench model`: one panel per model,
 * predicted and measured joined per strategy, coinciding strategies as one labelled point, labels
 * apart, and the model-bench table with the measured speedup per phase. Crafted data, exact numbers.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildReport, renderSvg, type BenchRecord, type ReportInputs, type ScanDoc } from "../../src/report/index.js";
import { placeLabels } from "../../src/report/label-layout.js";

type Json = Record<string, unknown>;
const GPU = "Fake H200";

/** One model-suite record: a GEMM of width n, `count` calls, in one phase of one variant. */
function call(model: string, variant: string, phase: string, n: number, count: number, ms: number): BenchRecord {
  const params = { op: "linear", m: phase === "prefill" ? 2048 : 1, n, k: 4096, dtype: "bf16", model, variant, phase, count, variant_calls: 3 };
  return { suite: "model", case: `model/${JSON.stringify(params)}`, params, gpu: GPU, stats: { median_ms: ms } };
}

/** Unrepaired: 2 prefill calls of 2 ms + 1 decode call of 1 ms = 5 ms; MINIMAL 2.5 ms; OPTIMAL 2 ms. */
function benchRecords(model: string): BenchRecord[] {
  return [
    call(model, "unrepaired", "prefill", 117, 2, 2),
    call(model, "unrepaired", "decode", 117, 1, 1),
    call(model, "MINIMAL", "prefill", 120, 2, 1),
    call(model, "MINIMAL", "decode", 120, 1, 0.5),
    call(model, "OPTIMAL", "prefill", 128, 2, 0.75),
    call(model, "OPTIMAL", "decode", 128, 1, 0.5),
  ];
}

function scan(name: string, predicted: Record<string, [number, number]>): ScanDoc {
  const strategies = Object.fromEntries(Object.entries(predicted).map(([s, [overhead, ms]]) => [s, { param_overhead_pct: overhead, predicted_ms: ms }]));
  return { file: `/r/scan-${name}.json`, model: { name }, dims: [], calls: [], strategies, baselineMs: 10, profile: { gpu: GPU, source: "measured", runs: ["run-1"] } };
}

function inputs(): ReportInputs {
  // PREDEFINED pads like OPTIMAL (same overhead, same predicted time): the bench ran it once, as OPTIMAL.
  const a = scan("model-a", { MINIMAL: [0.1, 8], OPTIMAL: [0.3, 5], PREDEFINED: [0.3, 5], TRADEOFF: [0.2, 6] });
  const b = scan("model-b", { MINIMAL: [1, 9], OPTIMAL: [1, 9] });
  const records = [...benchRecords("model-a")];
  return { runs: [{ runId: "r", dir: "/r", env: { gpu: GPU }, records }], scans: [a, b], repairs: [], notes: [] };
}

const values = (spec: unknown): Json[] => (spec as { data: { values: Json[] } }).data.values;

test("the trade-off draws one panel per model, each with its own scales", () => {
  const fig = buildReport(inputs()).figures.find((f) => f.name === "repair-tradeoff")!;
  const spec = fig.spec as unknown as { concat: { title: { text: string } }[]; columns: number; resolve: { scale: Json } };
  assert.deepEqual(
    spec.concat.map((p) => p.title.text),
    ["model-a", "model-b"],
  );
  assert.equal(spec.columns, 2);
  assert.equal(spec.resolve.scale.y, "independent");
  assert.equal(spec.resolve.scale.x, "independent");
});

test("a strategy's predicted and measured points are joined by a line from one to the other", () => {
  const rows = values(buildReport(inputs()).figures.find((f) => f.name === "repair-tradeoff")!.spec).filter((r) => r.panel === "model-a");
  const minimal = rows.filter((r) => r.label === "MINIMAL");
  assert.deepEqual(
    minimal.filter((r) => r.kind !== "label").map((r) => [r.kind, r.speedup_pct]),
    [
      ["predicted", 25],
      ["measured", 100],
      ["link", 25],
    ],
  );
  assert.equal(minimal.find((r) => r.kind === "link")?.speedup2_pct, 100);
  // TRADEOFF was not measured: a diamond alone, no line.
  assert.deepEqual(
    rows.filter((r) => r.label === "TRADEOFF" && r.kind !== "label").map((r) => r.kind),
    ["predicted"],
  );
});

test("strategies that coincide are one point with one label, and the measurement stands for both", () => {
  const rows = values(buildReport(inputs()).figures.find((f) => f.name === "repair-tradeoff")!.spec);
  const labels = rows.filter((r) => r.kind === "label");
  assert.deepEqual(labels.map((r) => `${r.panel}: ${r.label}`).sort(), ["model-a: MINIMAL", "model-a: OPTIMAL = PREDEFINED", "model-a: TRADEOFF", "model-b: MINIMAL = OPTIMAL"]);
  const optimal = rows.filter((r) => r.label === "OPTIMAL = PREDEFINED" && r.kind === "measured");
  assert.deepEqual(
    optimal.map((r) => r.speedup_pct),
    [100 * (5 / 2 - 1)],
  );
});

test("the subtitle says what measured and predicted mean and where they come from", () => {
  const spec = buildReport(inputs()).figures.find((f) => f.name === "repair-tradeoff")!.spec as unknown as { title: { subtitle: string[] } };
  // Lines are wrapped to the column; read as one text they say it all.
  const text = spec.title.subtitle.join(" ");
  assert.ok(text.includes("circle measured = sum over the model's kernel calls of median x count on Fake H200 (per-call microbenchmarks, not an end-to-end run)"), text);
  assert.ok(text.includes("diamond predicted = gac scan from the Fake H200 profile (measured, run run-1)"), text);
  assert.match(text, /diamond alone: not measured/);
  assert.ok(
    spec.title.subtitle.every((l) => l.length <= 90),
    "no subtitle line widens the figure",
  );
});

test("labels at one point are stacked a line apart and stay inside the frame", () => {
  const frame = { xDomain: [0, 1] as [number, number], yDomain: [0, 100] as [number, number], width: 300, height: 200, fontSize: 11 };
  const placed = placeLabels(
    [
      { x: 0.5, y: 50, text: "MINIMAL" },
      { x: 0.5, y: 50, text: "OPTIMAL" },
      { x: 0.5, y: 50, text: "TRADEOFF" },
    ],
    [],
    frame,
  );
  const ys = placed.map((l) => l.y).sort((a, b) => a - b);
  const linePx = 14;
  for (let i = 1; i < ys.length; i++) assert.ok(((ys[i] - ys[i - 1]) / 100) * 200 >= linePx - 1e-9, `labels ${ys.join(", ")} overlap`);
  // A label that would run past the right edge is put left of its point.
  const [edge] = placeLabels([{ x: 0.98, y: 50, text: "OPTIMAL = PREDEFINED" }], [], frame);
  assert.ok(edge.x < 0.98 && edge.x > 0, `label starts at ${edge.x}`);
});

test("the model-bench table gives per strategy the overhead, predicted and measured speedups per phase and the calls", () => {
  const table = buildReport(inputs()).tables.find((t) => t.name === "model-bench")!;
  assert.deepEqual(table.columns, [
    "Model",
    "Strategy",
    "Param overhead",
    "Predicted (ms)",
    "Predicted speedup",
    "Measured (ms)",
    "Measured speedup",
    "Measured prefill",
    "Measured decode",
    "Calls measured",
    "GPU",
  ]);
  assert.deepEqual(table.rows, [
    ["model-a", "unrepaired", "-", "10.00", "-", "5.000", "-", "-", "-", "3 of 3", GPU],
    ["model-a", "MINIMAL", "0.10%", "8.000", "+25.0%", "2.500", "+100.0%", "+100.0%", "+100.0%", "3 of 3", GPU],
    ["model-a", "OPTIMAL", "0.30%", "5.000", "+100.0%", "2.000", "+150.0%", "+166.7%", "+100.0%", "3 of 3", GPU],
    ["model-a", "PREDEFINED", "0.30%", "5.000", "+100.0%", "2.000", "+150.0% (as OPTIMAL)", "+166.7%", "+100.0%", "0 (as OPTIMAL)", GPU],
    ["model-a", "TRADEOFF", "0.20%", "6.000", "+66.7%", "-", "not measured", "-", "-", "-", GPU],
  ]);
  // model-b has no bench results: it stays in the plain strategies table.
  assert.deepEqual(
    buildReport(inputs())
      .tables.find((t) => t.name === "repair-tradeoff")!
      .rows.map((r) => `${r[1]} ${r[0]}`),
    ["model-b MINIMAL", "model-b OPTIMAL"],
  );
});

test("the paneled trade-off renders without vega-lite warnings and shows every label", async () => {
  const fig = buildReport(inputs()).figures.find((f) => f.name === "repair-tradeoff")!;
  const warnings: string[] = [];
  const svg = await renderSvg(fig.spec, warnings);
  assert.deepEqual(warnings, []);
  for (const text of ["model-a", "model-b", "OPTIMAL = PREDEFINED", "MINIMAL = OPTIMAL", "TRADEOFF"]) assert.ok(svg.includes(text), text);
});
