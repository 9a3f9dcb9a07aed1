/**
 * The report's visual language (src/report/style.ts) and layout, checked without a browser: every
 * figure's SVG fits the page column, every legend entry names something drawn (on the headless Vega
 * scenegraph), lines join only dense sweeps, labels do not collide, and a report made from a scan
 * and a repair manifest alone reads right (a real timestamp, distinct model names, no legend entry
 * for what was not measured).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildReport, figureView, type ScanDoc } from "../../src/report/index.js";
import { MAX_FIGURE_WIDTH, VEGA_CONFIG, alignedTicks, denseSegments, gpuPalette, joined, legendValues, panelWidth, wrapText } from "../../src/report/style.js";
import { assertFigureReadable, legendEntriesWithoutMarks, sceneRoot } from "./page-checks.js";
import { sampleInputs, scanDoc } from "./fixtures.js";

test("every figure of the sample report fits the column and has no legend entry without marks", async () => {
  const report = buildReport(sampleInputs(), { generated: "2026-01-21" });
  let checked = 0;
  for (const f of report.figures) checked += await assertFigureReadable(f);
  assert.ok(checked > 10, `${checked} legend entries checked`);
});

test("the legend check reports an entry whose value no mark carries", async () => {
  const spec = {
    config: VEGA_CONFIG,
    data: { values: [{ x: 1, y: 1, k: "drawn" }] },
    mark: "point",
    encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" }, color: { field: "k", type: "nominal", scale: { domain: ["drawn", "8-aligned"] } } },
  } as const;
  const view = await figureView(spec as never);
  try {
    assert.deepEqual(legendEntriesWithoutMarks(sceneRoot(view)).missing, [{ legend: "k", value: "8-aligned" }]);
  } finally {
    view.finalize();
  }
});

test("GPU colours and shapes come from the sorted labels, so every figure agrees", () => {
  const a = gpuPalette(["NVIDIA H200", "NVIDIA A100 (published)", "NVIDIA H100"]);
  const b = gpuPalette(["NVIDIA H100", "NVIDIA H200", "NVIDIA A100 (published)", "NVIDIA H200"]);
  assert.deepEqual(a, b);
  assert.deepEqual(a.domain, ["NVIDIA A100 (published)", "NVIDIA H100", "NVIDIA H200"]);
  assert.equal(new Set(a.colors).size, 3);
  assert.equal(new Set(a.shapes).size, 3);
  assert.deepEqual(legendValues(a.domain, ["NVIDIA H200"]), ["NVIDIA H200"]);
});

test("dense sweeps are joined, gaps and never-joined series are not", () => {
  const rows = [1, 2, 3, 8, 16, 17].map((x) => ({ s: "a", x }));
  const seg = denseSegments(
    rows,
    (r) => r.s,
    (r) => r.x,
  );
  assert.equal(new Set(seg.slice(0, 3)).size, 1);
  assert.ok(seg.slice(0, 3).every(joined));
  assert.ok(!joined(seg[3]));
  assert.equal(seg[4], seg[5]);
  assert.notEqual(seg[4], seg[0]);
  assert.ok(
    denseSegments(
      rows,
      (r) => r.s,
      (r) => r.x,
      () => true,
    ).every((s) => !joined(s)),
  );
});

test("ticks fall on multiples of 8, wider steps for wide ranges", () => {
  assert.deepEqual(alignedTicks(103, 129), [104, 112, 120, 128]);
  assert.deepEqual(alignedTicks(61, 163), [64, 80, 96, 112, 128, 144, 160]);
  assert.ok(alignedTicks(0, 4096).length <= 12);
});

test("panels and subtitles are sized to the column", () => {
  for (const c of [1, 2, 3]) assert.ok(c * (panelWidth(c) + 64) + (c - 1) * 16 <= MAX_FIGURE_WIDTH);
  assert.deepEqual(wrapText("aaa bbb ccc", 7), ["aaa bbb", "ccc"]);
});

test("a report from a scan and a manifest has a real timestamp, a name per model and no legend entry for what was not measured", () => {
  const a: ScanDoc = { ...scanDoc(true), file: "runs/a/scan.json", model: { family: "palu", model_type: "palullama" } };
  const b: ScanDoc = { ...scanDoc(true), file: "runs/b/scan.json", model: { family: "palu", model_type: "palullama" } };
  const before = Date.now();
  const report = buildReport({ runs: [], scans: [a, b], repairs: [{ file: "out/gac-repair.json", strategy: "MINIMAL", changes: [], paramOverheadPct: 1 }], notes: [] });
  const generated = Date.parse(report.generated);
  assert.ok(Number.isFinite(generated) && generated >= before - 1000 && generated <= Date.now() + 1000, report.generated);
  const dims = report.figures.filter((f) => f.name.startsWith("scan-dims-")).map((f) => f.title);
  assert.deepEqual(dims, ["Dimension distribution: palu palullama (a/scan.json)", "Dimension distribution: palu palullama (b/scan.json)"]);
  const tradeoff = report.figures.find((f) => f.name === "repair-tradeoff")!;
  const text = JSON.stringify(tradeoff.spec);
  assert.match(text, /palu palullama \(a\/scan\.json\)/);
  assert.match(text, /"legend":\{"values":\["predicted"\]\}/);
  assert.doesNotMatch(tradeoff.caption, /circles measured/);
});
