import { test } from "node:test";
import assert from "node:assert/strict";
import { buildReport, renderSvg } from "../../src/report/index.js";
import { flattenRuns } from "../../src/report/records.js";
import { buildBackendMatrix } from "../../src/report/figures/backend-matrix.js";
import { buildLatencyVsHeadDim, LATENCY_SUITES } from "../../src/report/figures/latency-vs-head-dim.js";
import { tflops } from "../../src/report/figures/gemm-throughput.js";
import { A100, H100, run, sampleInputs, scanDoc } from "./fixtures.js";

type Json = Record<string, unknown>;
const json = (spec: unknown): Json => JSON.parse(JSON.stringify(spec));
const S1 = LATENCY_SUITES.find((s) => s.suite === "S1")!;

/** Every layer of a (possibly faceted) spec. */
function layers(spec: unknown): Json[] {
  const s = spec as Json;
  const inner = (s.spec as Json | undefined) ?? s;
  return (inner.layer as Json[]) ?? [];
}
function values(spec: unknown): Json[] {
  return ((spec as Json).data as { values: Json[] }).values;
}

test("the staircase encodes alignment by both shape and colour, with p10-p90 error bars", () => {
  const { figures } = buildLatencyVsHeadDim(S1, flattenRuns([run(A100, "a")]));
  assert.equal(figures.length, 1);
  const points = layers(figures[0].spec).find((l) => (l.mark as Json).type === "point")!;
  const enc = points.encoding as Record<string, Json>;
  assert.equal(enc.shape.field, "alignment");
  assert.equal(enc.color.field, "alignment");
  const bars = layers(figures[0].spec).find((l) => (l.mark as Json).type === "rule")!;
  assert.equal((bars.encoding as Record<string, Json>).y.field, "p10_ms");
  assert.equal((bars.encoding as Record<string, Json>).y2.field, "p90_ms");
  const d107 = values(figures[0].spec).find((r) => r.head_dim === 107 && r.panel === "non-causal")!;
  assert.equal(d107.alignment, "misaligned");
  assert.equal(values(figures[0].spec).find((r) => r.head_dim === 104)!.alignment, "8-aligned");
});

test("the staircase gets one panel per variant and overlays GPUs in each, told apart by line dash", () => {
  const two = json(buildLatencyVsHeadDim(S1, flattenRuns([run(A100, "a"), run(H100, "h", 0.5)])).figures[0].spec);
  assert.deepEqual((two.facet as Json).field, "panel");
  assert.deepEqual((two.facet as Json).sort, ["non-causal", "causal"]);
  const line = layers(two).find((l) => (l.mark as Json).type === "line")!;
  const dash = (line.encoding as Record<string, Json>).strokeDash;
  assert.equal(dash.field, "gpu");
  assert.notEqual(dash.legend, null);
  assert.deepEqual(new Set(values(two).map((r) => r.gpu)), new Set([A100, H100]));
  const one = json(buildLatencyVsHeadDim(S1, flattenRuns([run(A100, "a")])).figures[0].spec);
  assert.equal((layers(one).find((l) => (l.mark as Json).type === "line")!.encoding as Record<string, Json>).strokeDash.legend, null);
});

test("the staircase caption names GPU, driver, torch, cuDNN, commit and date", () => {
  const { figures } = buildLatencyVsHeadDim(S1, flattenRuns([run(A100, "a")]));
  for (const needle of [A100, "driver 550.54.15", "torch 2.5.1", "cuDNN 90100", "commit 0123456789", "date 2026-01-19"]) assert.ok(figures[0].caption.includes(needle), needle);
});

test("the misaligned penalty table compares each dim with the next multiple of 8 in the same series", () => {
  const { tables } = buildLatencyVsHeadDim(S1, flattenRuns([run(A100, "a")]));
  const row = tables[0].rows.find((r) => r[1] === "non-causal" && r[2] === "107")!;
  assert.equal(row[4], "112");
  // fixture: misaligned = 1.45 * base + 0.1 over the aligned base at the padded dim
  const base107 = 0.8 + 43 * 0.008,
    base112 = 0.8 + 48 * 0.008;
  const expected = ((base107 * 1.45 + 0.1) / base112 - 1) * 100;
  assert.equal(row[6], `+${expected.toFixed(1)}%`);
  // 97 dims (64..160), 13 multiples of 8, so 84 misaligned, in two causal variants
  assert.equal(tables[0].rows.length, 2 * 84);
});

test("refused S2 cells are marked 'refused' and carry the backend's reason", () => {
  const { figures, tables } = buildBackendMatrix(flattenRuns([run(A100, "a")]));
  const cell = values(figures[0].spec).find((r) => r.backend === "MEM_EFFICIENT" && r.head_dim === 107)!;
  assert.equal(cell.label, "refused");
  assert.equal(cell.refused, true);
  assert.match(String(cell.reason), /backend_refused: MEM_EFFICIENT requires head_dim % 8 == 0/);
  const row = tables[0].rows.find((r) => r[1] === "107" && r[3] === "MEM_EFFICIENT")!;
  assert.equal(row[4], "refused");
  assert.match(tables[0].markdown, /MEM_EFFICIENT requires head_dim % 8 == 0 \(got 107\)/);
  // 6 dims x 5 backends
  assert.equal(tables[0].rows.length, 30);
});

test("GEMM throughput is 2*M*N*K over the median time", () => {
  assert.equal(tflops(4096, 4096, 128, 1), (2 * 4096 * 4096 * 128) / 1e-3 / 1e12);
  const report = buildReport({ runs: [run(A100, "a")], scans: [], repairs: [], notes: [] });
  const g3 = report.figures.find((f) => f.name === "g3-gemm-k")!;
  const k112 = values(g3.spec).find((r) => r.dim === 112)!;
  assert.ok(Math.abs(Number(k112.tflops) - 91) < 1e-6);
  const table = report.tables.find((t) => t.name === "g3-gemm-k")!;
  assert.deepEqual(
    table.rows.map((r) => [r[1], r[2], r[4]]),
    [
      ["M=8192 N=8192", "16-aligned", "91.0"],
      ["M=8192 N=8192", "8-aligned", "77.0"],
      ["M=8192 N=8192", "misaligned", "39.0"],
    ],
  );
});

test("P1 bars carry memory overhead, speedup over raw and max |diff| in the table", () => {
  const report = buildReport({ runs: [run(A100, "a")], scans: [], repairs: [], notes: [] });
  const t = report.tables.find((x) => x.name === "p1-padding-rescue")!;
  const pad112 = t.rows.find((r) => r[1] === "pad to 112")!;
  assert.equal(pad112[3], `+${((5 / 107) * 100).toFixed(1)}%`);
  assert.equal(pad112[5], `+${((2.192 / 1.523 - 1) * 100).toFixed(1)}%`);
  assert.equal(pad112[6], (0.00048828125).toExponential(2));
});

test("a figure is built only when its data exists, and unknown suites are named in a note", () => {
  const report = buildReport({ runs: [], scans: [scanDoc(false)], repairs: [], notes: [] });
  assert.deepEqual(
    report.figures.map((f) => f.name),
    ["scan-dims", "repair-tradeoff"],
  );
  const full = buildReport(sampleInputs());
  assert.ok(full.notes.some((n) => n.includes("'C99'")));
  assert.ok(!full.figures.some((f) => f.name.includes("gqa")));
});

test("the dim distribution counts sites per value and role, and the collapsed calls are grouped", () => {
  const report = buildReport({ runs: [], scans: [scanDoc(true)], repairs: [], notes: [] });
  const dims = report.figures.find((f) => f.name === "scan-dims")!;
  const inter = values(dims.spec).filter((r) => r.role === "intermediate");
  assert.deepEqual(
    inter.map((r) => [r.value, r.count, r.alignment]),
    [
      [8806, 8, "misaligned"],
      [11008, 24, "16-aligned"],
    ],
  );
  const calls = report.tables.find((t) => t.name === "scan-collapsed-calls")!;
  // 4 collapsed calls, two identical -> 3 groups; the fast call is not listed
  assert.equal(calls.rows.length, 3);
  assert.equal(calls.rows[0][6], "2");
  assert.equal(calls.rows[0][8], "1.000");
  assert.ok(!calls.rows.some((r) => r[3] === "fast"));
});

test("without predicted times the trade-off plots overhead only and says so", () => {
  const report = buildReport({ runs: [], scans: [scanDoc(false)], repairs: [], notes: [] });
  const f = report.figures.find((x) => x.name === "repair-tradeoff")!;
  assert.match(f.caption, /No speedup is plotted/);
  assert.equal((layers(f.spec)[0].mark as Json).type, "bar");
  const withPred = buildReport({ runs: [], scans: [scanDoc(true)], repairs: [], notes: [] }).figures.find((x) => x.name === "repair-tradeoff")!;
  const minimal = values(withPred.spec).find((r) => r.strategy === "MINIMAL")!;
  assert.equal(minimal.speedup_pct, (100 / 80 - 1) * 100);
});

test("every figure renders to an SVG with its axis titles", async () => {
  const report = buildReport(sampleInputs());
  for (const f of report.figures) {
    const warnings: string[] = [];
    const svg = await renderSvg(f.spec, warnings);
    assert.match(svg, /^<svg/);
    assert.ok(svg.length > 2000, f.name);
    assert.deepEqual(warnings, [], f.name);
  }
  const s1 = await renderSvg(report.figures.find((f) => f.name === "s1-staircase")!.spec);
  assert.ok(s1.includes("head_dim (elements)") && s1.includes("Latency (ms, median)") && s1.includes("Alignment"));
});

test("scan dims are panelled by kind, with ranks grouped by block and head counts left out", async () => {
  const { dimGroup } = await import("../../src/report/figures/scan-dims.js");
  assert.equal(dimGroup({ id: "a", role: "layers.3.self_attn.k_proj", name: "rank", value: 117 }), "rank · self_attn");
  assert.equal(dimGroup({ id: "b", role: "layers.3.mlp.down_proj", name: "rank", value: 150 }), "rank · mlp");
  assert.equal(dimGroup({ id: "c", role: "layers.0.mlp", name: "intermediate", value: 700 }), "intermediate");
  const scan = scanDoc(false);
  scan.dims = [
    { id: "h", role: "model", name: "heads", value: 7 },
    { id: "r", role: "layers.0.self_attn.k_proj", name: "rank", value: 117 },
  ];
  const fig = buildReport({ runs: [], scans: [scan], repairs: [], notes: [] }).figures.find((f) => f.name === "scan-dims")!;
  assert.deepEqual(
    values(fig.spec).map((r) => [r.role, r.value]),
    [["rank · self_attn", 117]],
  );
});
