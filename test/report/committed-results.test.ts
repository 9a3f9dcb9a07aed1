/**
 * The report rendered from the committed GPU results (results/20261121T051256Z-all and the PaLU
 * `gac bench model` run, read only) and the published A100 profile: every figure the issue asks for
 * exists as SVG and PNG of sane size, and the tables hold the rows a reader looks for first (D=107
 * against 112; PaLU's strategies predicted and measured).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildReport, describeEnvironment, loadReportInputs, writeReport, type Report } from "../../src/report/index.js";
import { MAX_FIGURE_WIDTH } from "../../src/report/style.js";
import { COMMITTED_INPUTS } from "./fixtures.js";

const BENCH_FIGURES = ["s1-staircase", "s2-backend-matrix", "c21-backend-sweep", "decode-penalty", "gqa-penalty", "g3-gemm-k", "g4-gemm-n", "p1-padding-rescue", "het1-heterogeneous"];
const EXPECTED_FIGURES = [...BENCH_FIGURES, "scan-dims-palu-llama3-8b", "repair-tradeoff"];

let cached: Promise<{ root: string; out: string; report: Report; ms: number }> | undefined;
function rendered() {
  cached ??= (async () => {
    const started = Date.now();
    const root = await mkdtemp(join(tmpdir(), "gac-report-committed-"));
    const report = buildReport(await loadReportInputs(COMMITTED_INPUTS), { generated: "2026-11-21" });
    const out = join(root, "report");
    await writeReport(report, out);
    return { root, out, report, ms: Date.now() - started };
  })();
  return cached;
}

test.after(async () => {
  if (cached) await rm((await cached).root, { recursive: true, force: true });
});

test("the committed H200 runs yield every bench figure as an SVG and a PNG of sane size", async () => {
  const { out, report, ms } = await rendered();
  assert.deepEqual(report.figures.map((f) => f.name).sort(), [...EXPECTED_FIGURES].sort());
  for (const name of EXPECTED_FIGURES) {
    const svg = await readFile(join(out, "figures", `${name}.svg`), "utf8");
    assert.match(svg, /^<svg/, name);
    assert.ok(svg.length > 5000, `${name}.svg has ${svg.length} characters`);
    // Every figure fits the page column (and a PNG at 2x fits a paper's full-width figure).
    const svgWidth = Number(/width="(\d+)"/.exec(svg)?.[1]);
    assert.ok(svgWidth >= 350 && svgWidth <= MAX_FIGURE_WIDTH, `${name}.svg width ${svgWidth}`);
    const png = await readFile(join(out, "figures", `${name}.png`));
    const width = png.readUInt32BE(16);
    const height = png.readUInt32BE(20);
    assert.ok(width >= 700 && width <= 2 * MAX_FIGURE_WIDTH, `${name}.png width ${width}`);
    assert.ok(height >= 300 && height <= 5000, `${name}.png height ${height}`);
  }
  // 655 cases and the A100 points load, build and render in a few seconds on 2 cores.
  assert.ok(ms < 30_000, `rendering took ${ms} ms`);
});

test("the tables give D=107 against 112 and the backends' refusals with PyTorch's wording", async () => {
  const { report } = await rendered();
  const s1 = report.tables.find((t) => t.name === "s1-staircase-penalty")!;
  const d107 = s1.rows.find((r) => r[0] === "NVIDIA H200" && r[1] === "fp16 non-causal" && r[2] === "107")!;
  assert.equal(d107[4], "112");
  assert.ok(Number.parseFloat(d107[6]) > 100, `D=107 penalty ${d107[6]}`);
  const s2 = report.tables.find((t) => t.name === "s2-backend-matrix")!;
  const refused = s2.rows.filter((r) => r[1] === "107" && r[4] === "refused").map((r) => `${r[0]} ${r[3]}`);
  assert.deepEqual(refused.sort(), ["NVIDIA A100-80GB (published) EFFICIENT", "NVIDIA H200 CUDNN", "NVIDIA H200 EFFICIENT"]);
});

test("every caption cites the H200 run's environment block, which names its driver, torch and cuDNN and says the commit was not recorded", async () => {
  const { report } = await rendered();
  for (const f of report.figures.filter((x) => BENCH_FIGURES.includes(x.name))) assert.match(f.caption, /E1 \(NVIDIA H200\)[^.]*; see the Environment table\./, f.name);
  const e1 = report.environments[0];
  assert.match(
    describeEnvironment(e1),
    /^E1: NVIDIA H200, run 20261121T051256Z-all, sm 9\.0, driver 580\.159\.04, torch 2\.11\.0\+cu130, CUDA 13\.0, cuDNN 9\.19\.0, commit not recorded, date 2026-11-21$/,
  );
  const s1 = report.figures.find((f) => f.name === "s1-staircase")!;
  assert.match(s1.caption, /E3 \(NVIDIA A100-80GB \(published\)\)/);
  assert.ok(report.notes.some((n) => /table\(s\) C4 have no figure/.test(n)));
});

test("the PaLU model run gives the trade-off a measured point per strategy and the model-bench table its rows", async () => {
  const { report } = await rendered();
  const table = report.tables.find((t) => t.name === "model-bench")!;
  const palu = table.rows.filter((r) => r[0] === "palu-llama3-8b");
  assert.deepEqual(
    palu.map((r) => r[1]),
    ["unrepaired", "MINIMAL", "OPTIMAL", "PREDEFINED", "TRADEOFF"],
  );
  for (const r of palu.slice(1)) {
    assert.match(r[4], /^\+\d+\.\d%$/, `${r[1]} predicted`);
    assert.match(r[6], /^\+\d+\.\d%/, `${r[1]} measured`);
    assert.equal(r[10], "NVIDIA H200");
  }
  assert.equal(palu[0][9], "1538 of 1538");
  // PREDEFINED pads like OPTIMAL, so the bench ran it once.
  assert.equal(palu[3][9], "0 (as OPTIMAL)");
  const fig = report.figures.find((f) => f.name === "repair-tradeoff")!;
  assert.match(fig.caption, /palu-llama3-8b, measured on NVIDIA H200/);
  assert.equal(report.figures.find((f) => f.name === "scan-dims-palu-llama3-8b")!.title, "Dimension distribution: palu-llama3-8b");
});
