/**
 * One real document of every JSON kind the CLI prints, produced by running the commands on
 * fixtures (bench through the fake worker). scripts/gen-json-schemas.ts infers docs/schemas/ from
 * these; test/cli/json-schemas.test.ts checks that they still validate against what is committed.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runCli } from "../../src/cli/main.js";
import { COMMANDS } from "../../src/cli/registry.js";
import { createBenchCommand } from "../../src/cli/commands/bench.js";
import { JSON_SCHEMAS, type JsonSchemaTag } from "../../src/cli/json-output.js";
import { fakeSpawner } from "../bench/helpers.js";
import { captureIO } from "./capture-io.js";
import { writeGguf } from "./write-gguf.js";

const RESULTS = fileURLToPath(new URL("../../results/20261121T061620Z-G5", import.meta.url));

export async function jsonSamples(): Promise<Map<JsonSchemaTag, unknown[]>> {
  const root = await mkdtemp(join(tmpdir(), "gac-json-samples-"));
  const samples = new Map<JsonSchemaTag, unknown[]>();
  const bench = createBenchCommand({ spawn: fakeSpawner(), gitCommit: () => "deadbeef", now: () => new Date(2026, 0, 31, 14, 25, 0) });
  const commands = COMMANDS.map((c) => (c.name === "bench" ? bench : c));
  const run = async (tag: JsonSchemaTag, argv: string[]) => {
    const io = captureIO(root);
    try {
      await runCli(argv, io, commands);
    } catch (e) {
      if (tag !== JSON_SCHEMAS.error) throw e;
      const { errorJson } = await import("../../src/cli/json-output.js");
      io.stdout = JSON.stringify(errorJson(e, 1));
    }
    samples.set(tag, [...(samples.get(tag) ?? []), JSON.parse(io.stdout)]);
  };
  try {
    await run(JSON_SCHEMAS.fixtures, ["fixtures", "palu", "--out", "palu", "--json"]);
    await run(JSON_SCHEMAS.fixtures, ["fixtures", "llama-direct-svd", "--out", "svd", "--json"]);
    await run(JSON_SCHEMAS.fixturesList, ["fixtures", "--list", "--json"]);
    for (const m of ["palu", "svd"]) {
      await run(JSON_SCHEMAS.scan, ["scan", m, "--json"]);
      await run(JSON_SCHEMAS.plan, ["plan", m, "--json", "--strategy", "MINIMAL"]);
      await run(JSON_SCHEMAS.repair, ["repair", m, "--out", `${m}-fixed`, "--json", "--strategy", "MINIMAL"]);
      await run(JSON_SCHEMAS.verify, ["verify", m, `${m}-fixed`, "--json"]);
      await run(JSON_SCHEMAS.quant, ["quant", m, "--json"]);
    }
    await writeGguf(join(root, "m.gguf"), [{ key: "general.architecture", value: "llama" }], [{ name: "blk.0.ffn_down.weight", shape: [11000, 64], type: 1, bytes: 64 }]);
    await run(JSON_SCHEMAS.ggufScan, ["scan", "m.gguf", "--json"]);
    await run(JSON_SCHEMAS.demo, ["demo", "--out", "demo", "--json"]);
    await run(JSON_SCHEMAS.benchList, ["bench", "--list", "--json"]);
    await run(JSON_SCHEMAS.benchList, ["bench", "S1", "--list", "--quick", "--json"]);
    await run(JSON_SCHEMAS.benchList, ["bench", "model", "--checkpoint", "palu", "--list", "--json"]);
    await run(JSON_SCHEMAS.benchSummary, ["bench", "S1", "--quick", "--json", "--out", "bench-run"]);
    await run(JSON_SCHEMAS.profile, ["profile", RESULTS, "--out", "profiles-out", "--json"]);
    await run(JSON_SCHEMAS.report, ["report", "palu-fixed/gac-repair.json", "--out", "report-out", "--json"]);
    await run(JSON_SCHEMAS.error, ["scan", "missing-dir", "--json"]);
    return samples;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
