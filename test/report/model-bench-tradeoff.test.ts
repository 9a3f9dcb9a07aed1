import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { createBenchCommand } from "../../src/cli/commands/bench.js";
import { runCli } from "../../src/cli/main.js";
import { generateFixture } from "../../src/fixtures/index.js";
import { buildReport } from "../../src/report/build.js";
import { loadReportInputs } from "../../src/report/load.js";
import { scanModelName } from "../../src/report/figures/repair-tradeoff.js";
import { fakeSpawner, scratchDir } from "../bench/helpers.js";
import { captureIO } from "../helpers/capture-io.js";

type Json = Record<string, unknown>;
const rowsOf = (spec: unknown): Json[] => (spec as { data: { values: Json[] } }).data.values;

test("a gac bench model run directory gives the trade-off figure a measured point beside each predicted one", async () => {
  const cwd = await scratchDir("report-model");
  await generateFixture("llama-direct-svd", join(cwd, "dsvd"));
  const command = createBenchCommand({ spawn: fakeSpawner(), gitCommit: () => null, now: () => new Date(2026, 0, 31, 14, 25, 0) });
  assert.equal(await runCli(["bench", "model", "--checkpoint", "dsvd", "--strategies", "MINIMAL,OPTIMAL", "--out", "run"], captureIO(cwd), [command]), 0);

  const inputs = await loadReportInputs([join(cwd, "run")]);
  assert.equal(inputs.scans.length, 1, "the scan beside the results is read");
  assert.equal(scanModelName(inputs.scans[0]), "dsvd");
  const report = buildReport(inputs);
  assert.ok(!report.notes.some((n) => n.includes("'model'")), "the model suite is reported, not left out");
  const figure = report.figures.find((f) => f.name === "repair-tradeoff");
  assert.ok(figure);
  const measured = rowsOf(figure.spec).filter((r) => r.kind === "measured");
  assert.deepEqual(
    measured
      .flatMap((r) => String(r.label).split(" = "))
      .filter((s) => s === "MINIMAL" || s === "OPTIMAL")
      .sort(),
    ["MINIMAL", "OPTIMAL"],
  );
  assert.ok(measured.every((r) => Number(r.speedup_pct) > 0 && Number(r.overhead_pct) > 0));
  assert.match(figure.caption, /circles measured/);
  const table = report.tables.find((t) => t.name === "model-bench");
  const minimal = table?.rows.find((r) => r[0] === "dsvd" && r[1] === "MINIMAL");
  assert.equal(minimal?.[10], "Fake GPU 0");
  assert.match(minimal?.[6] ?? "", /^\+\d+\.\d%$/);
  // PREDEFINED was not asked for, and without a profile the scan cannot say it equals a measured strategy.
  assert.equal(table?.rows.find((r) => r[1] === "PREDEFINED")?.[6], "not measured");
  assert.equal(
    report.tables.find((t) => t.name === "repair-tradeoff"),
    undefined,
    "a benched model's strategies are in the model-bench table only",
  );
});

test("a scan written by hand matches by its file name: scan-<name>.json or <name>.scan.json", () => {
  const doc = (file: string) => ({ file, model: {}, dims: [], calls: [], strategies: {} });
  assert.equal(scanModelName(doc("/x/scan-palu-8b.json")), "palu-8b");
  assert.equal(scanModelName(doc("out/palu-8b.scan.json")), "palu-8b");
  assert.equal(scanModelName({ ...doc("a.json"), model: { name: "given" } }), "given");
});
