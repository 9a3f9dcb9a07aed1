import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gpuFromRunLog, parseHostProbes, parseSustainedRuns, readHostProbes, readSustainedGemm } from "../../../src/bench/e2e/mechanism-files.js";

const probeLine = (label: string, engine: string | undefined, a: number[], b: number[]) =>
  JSON.stringify({ label, ...(engine ? { engine } : {}), default_filters: { step_ms: a }, catch_always: { step_ms: b } });

test("the GPU of a probe comes from the nvidia-smi line of its run log", () => {
  assert.equal(gpuFromRunLog("2026-12-02T10:08:33Z\nname, driver_version, clocks.sm\nNVIDIA H200, 580.159.04, 345 MHz\n"), "NVIDIA H200");
  assert.equal(gpuFromRunLog("no smi here\n"), null);
});

test("a host band is the dense parent's slowest step median over its fastest, per engine; a line without engine is transformers", () => {
  const text = [
    probeLine("m-dense", undefined, [20, 21, 22], [40, 41, 42]),
    probeLine("m-dense", undefined, [30, 30, 30], [25, 25, 25]),
    probeLine("m-dense", "gac", [10, 10, 10], [15, 15, 15]),
    probeLine("m-svd", undefined, [10, 100, 100], [5, 5, 5]),
    JSON.stringify({ label: "m-dense", repeat: 2, error: "Traceback" }),
  ].join("\n");
  const out = parseHostProbes([{ gpu: "NVIDIA H200", name: "probe-1.jsonl", text }], "dir");
  const t = out.find((e) => e.engine === "transformers");
  assert.ok(t);
  assert.equal(t.label, "m-dense");
  assert.equal(t.fastest_ms, 21);
  assert.equal(t.slowest_ms, 41);
  assert.equal(t.medians, 4);
  assert.ok(Math.abs(t.band - 41 / 21) < 1e-12);
  assert.equal(out.find((e) => e.engine === "gac")?.band, 1.5);
  assert.equal(out.length, 2, "only dense parents give a band");
});

test("sustained GEMM runs group their ratios by GPU, M and graph (a run without tokens is the 2048-token prefill), and a run without its ratio is a one-line error naming the file", () => {
  const out = parseSustainedRuns(
    [
      { name: "run-1.json", text: JSON.stringify({ gpu: "NVIDIA H200", ratio_sustained_to_isolated: 1.12 }) },
      { name: "run-2.json", text: JSON.stringify({ gpu: "NVIDIA H200", tokens: 2048, graph: false, ratio_sustained_to_isolated: 1.1 }) },
      { name: "run-3.json", text: JSON.stringify({ gpu: "NVIDIA H200", tokens: 1, graph: true, ratio_sustained_to_isolated: 0.75 }) },
    ],
    "dir",
  );
  assert.deepEqual(out, [
    { gpu: "NVIDIA H200", tokens: 2048, graph: false, ratios: [1.12, 1.1], source: "dir" },
    { gpu: "NVIDIA H200", tokens: 1, graph: true, ratios: [0.75], source: "dir" },
  ]);
  assert.throws(() => parseSustainedRuns([{ name: "run-3.json", text: "{}" }], "dir"), /dir\/run-3\.json: needs "gpu"/);
  assert.throws(() => parseSustainedRuns([{ name: "run-4.json", text: "{" }], "dir"), /run-4\.json: not JSON/);
});

test("the committed folders are read back, and a folder without the files says which files it needs", async () => {
  const dir = await mkdtemp(join(tmpdir(), "gac-mech-"));
  try {
    await assert.rejects(readSustainedGemm(dir), /no run-N\.json files of bench\/e2e_sustained_gemm\.py/);
    await assert.rejects(readHostProbes(dir), /no probe-N\.jsonl files/);
    await writeFile(join(dir, "probe-1.jsonl"), `${probeLine("x-dense", "gac", [10], [12])}\n`);
    await assert.rejects(readHostProbes(dir), /run-1\.log: missing or without the nvidia-smi line/);
    await writeFile(join(dir, "run-1.log"), "name, driver_version\nNVIDIA H200, 580\n");
    const [e] = await readHostProbes(dir);
    assert.equal(e.gpu, "NVIDIA H200");
    assert.equal(e.band, 1.2);
    await writeFile(join(dir, "run-1.json"), JSON.stringify({ gpu: "NVIDIA H200", ratio_sustained_to_isolated: 1.1 }));
    assert.deepEqual((await readSustainedGemm(dir))[0].ratios, [1.1]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("the committed H200 measurements give a prefill GEMM ratio above 1, a graph-decode one below 1, and a host band per engine", async () => {
  const runs = await readSustainedGemm("results/20261202T101700Z-sustained-gemm");
  const prefill = runs.find((r) => !r.graph);
  const graph = runs.find((r) => r.graph && r.tokens === 1);
  assert.equal(prefill?.gpu, "NVIDIA H200");
  assert.ok(prefill && prefill.ratios.length === 2 && prefill.ratios.every((r) => r > 1));
  assert.ok(graph && graph.ratios.length === 2 && graph.ratios.every((r) => r < 1));
  const bands = await readHostProbes("results/20261202T091439Z-host-probe");
  assert.deepEqual(bands.map((b) => b.engine).sort(), ["gac", "transformers"]);
  for (const b of bands) assert.ok(b.band > 1 && b.medians >= 6, `${b.engine}: ${b.band}`);
});
