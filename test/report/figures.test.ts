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

test("the staircase draws a GPU as a colour and a shape and the alignment as the marker's fill, with p10-p90 error bars", () => {
  const { figures } = buildLatencyVsHeadDim(S1, flattenRuns([run(A100, "a")]));
  assert.equal(figures.length, 1);
  const points = layers(figures[0].spec).find((l) => (l.mark as Json).type === "point")!;
  const enc = points.encoding as Record<string, Json>;
  assert.equal(enc.shape.field, "gpu");
  assert.equal(enc.fill.field, "gpu");
  assert.equal(enc.stroke.field, "gpu");
  assert.equal(enc.fillOpacity.field, "fill_opacity");
  const bars = layers(figures[0].spec).find((l) => (l.mark as Json).type === "rule")!;
  assert.equal((bars.encoding as Record<string, Json>).y.field, "p10_ms");
  assert.equal((bars.encoding as Record<string, Json>).y2.field, "p90_ms");
  const d107 = values(figures[0].spec).find((r) => r.head_dim === 107 && r.panel === "non-causal")!;
  assert.equal(d107.alignment, "misaligned");
  assert.equal(d107.fill_opacity, 0);
  const d104 = values(figures[0].spec).find((r) => r.head_dim === 104)!;
  assert.deepEqual([d104.alignment, d104.fill_opacity], ["8-aligned", 0.35]);
  assert.equal(values(figures[0].spec).find((r) => r.head_dim === 112)!.fill_opacity, 1);
});

test("a GPU keeps its colour and shape in every figure of a report, and legends list only what is drawn", () => {
  const report = buildReport({ runs: [run(A100, "a"), run(H100, "h", 0.5)], scans: [], repairs: [], notes: [] });
  const palettes = report.figures
    .filter((f) => ["s1-staircase", "g3-gemm-k", "decode-penalty"].includes(f.name))
    .map((f) => {
      const enc = layers(f.spec).find((l) => (l.mark as Json).type === "point")!.encoding as Record<string, Json>;
      return JSON.stringify([(enc.fill.scale as Json).domain, (enc.fill.scale as Json).range, (enc.shape.scale as Json).range]);
    });
  assert.equal(palettes.length, 3);
  assert.equal(new Set(palettes).size, 1);
  // decode measures 96..128 at 8-aligned, 16-aligned and misaligned dims; S1 holds all three; the legends say so.
  const decode = report.figures.find((f) => f.name === "decode-penalty")!;
  const enc = layers(decode.spec).find((l) => (l.mark as Json).type === "point")!.encoding as Record<string, Json>;
  assert.deepEqual((enc.opacity.legend as Json).values, ["16-aligned", "8-aligned", "misaligned"]);
  const only16 = buildLatencyVsHeadDim(S1, flattenRuns([{ ...run(A100, "a"), records: run(A100, "a").records.filter((r) => r.suite === "S1" && r.params.head_dim! % 16 === 0) }]));
  const enc16 = layers(only16.figures[0].spec).find((l) => (l.mark as Json).type === "point")!.encoding as Record<string, Json>;
  assert.deepEqual((enc16.opacity.legend as Json).values, ["16-aligned"]);
  assert.deepEqual((enc16.shape.legend as Json).values, [A100]);
});

test("lines join measured points only where the sweep is dense, and published points never", () => {
  const two = json(buildLatencyVsHeadDim(S1, flattenRuns([run(A100, "a"), run(`${H100} (published)`, "p", 0.5)])).figures[0].spec);
  assert.deepEqual((two.facet as Json).sort, ["non-causal", "causal"]);
  const line = layers(two).find((l) => (l.mark as Json).type === "line")!;
  assert.equal((line.encoding as Record<string, Json>).detail.field, "segment");
  const segmentsOf = (gpu: string) =>
    new Set(
      values(two)
        .filter((r) => r.gpu === gpu && r.panel === "non-causal")
        .map((r) => String(r.segment)),
    );
  // A100 measured every head_dim 64..160: one segment; the published series: a segment of its own per point.
  assert.equal(segmentsOf(A100).size, 1);
  assert.equal(segmentsOf(`${H100} (published)`).size, 97);
  const decode = buildLatencyVsHeadDim(LATENCY_SUITES.find((x) => x.suite === "decode")!, flattenRuns([run(A100, "a")]));
  const rows = values(decode.figures[0].spec);
  assert.equal(new Set(rows.map((r) => r.segment)).size, rows.length, "96, 104, 107, 112, 114, 120, 128: no two adjacent");
  assert.match(decode.figures[0].caption, /Points are not joined/);
});

test("captions cite the environment blocks of their runs, and the block names the commit or says it was not recorded", async () => {
  const noCommit = { ...run(H100, "h"), env: { ...run(H100, "h").env, commit: undefined } };
  const report = buildReport({ runs: [run(A100, "a"), noCommit], scans: [], repairs: [], notes: [] });
  const s1 = report.figures.find((f) => f.name === "s1-staircase")!;
  assert.match(s1.caption, new RegExp(`Environments: E1 \\(${A100}\\), E2 \\(${H100}\\); see the Environment table\\.`));
  assert.doesNotMatch(s1.caption, /driver/);
  const { describeEnvironment } = await import("../../src/report/environment.js");
  const [e1, e2] = report.environments;
  for (const needle of ["E1: ", A100, "driver 550.54.15", "torch 2.5.1", "cuDNN 90100", "commit 0123456789ab", "date 2026-01-19"]) assert.ok(describeEnvironment(e1).includes(needle), needle);
  assert.match(describeEnvironment(e2), /commit not recorded/);
  assert.doesNotMatch(describeEnvironment({ gpu: "X" }), /\?/);
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
    ["scan-dims-llama3-8b-palu-r0-8", "repair-tradeoff"],
  );
  const full = buildReport(sampleInputs());
  assert.ok(full.notes.some((n) => n.includes("'C99'")));
  assert.ok(!full.figures.some((f) => f.name.includes("gqa")));
});

test("the dim distribution counts sites per value and role, and the collapsed calls are grouped", () => {
  const report = buildReport({ runs: [], scans: [scanDoc(true)], repairs: [], notes: [] });
  const dims = report.figures.find((f) => f.name === "scan-dims-llama3-8b-palu-r0-8")!;
  const inter = values(dims.spec).filter((r) => r.role === "intermediate");
  assert.deepEqual(
    inter.map((r) => [r.value, r.count, r.alignment]),
    [
      [8806, 8, "misaligned"],
      [11008, 24, "16-aligned"],
    ],
  );
  const calls = report.tables.find((t) => t.name === "scan-collapsed-calls-llama3-8b-palu-r0-8")!;
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
  const fig = buildReport({ runs: [], scans: [scan], repairs: [], notes: [] }).figures.find((f) => f.name.startsWith("scan-dims-"))!;
  assert.deepEqual(
    values(fig.spec).map((r) => [r.role, r.value]),
    [["rank · self_attn", 117]],
  );
});
