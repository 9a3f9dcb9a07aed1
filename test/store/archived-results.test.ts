/**
 * Archived runs: results*.jsonl compressed as results*.jsonl.gz (`gzip -9`, docs/results-format.md)
 * read exactly like the plain files in the store, `gac profile` and the report; an archived run is
 * refused for appending.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { cp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { runBench } from "../../src/bench/run-bench.js";
import { expandSuites } from "../../src/bench/suites.js";
import { profileCommand } from "../../src/cli/commands/profile.js";
import { runCli } from "../../src/cli/main.js";
import { GacError } from "../../src/errors.js";
import { loadProfile } from "../../src/profile/profile-store.js";
import { loadReportInputs } from "../../src/report/index.js";
import { encodeRecord, isResultsFileName, loadResults, openAppender, readRun, writeRunInfo } from "../../src/store/results-store.js";
import type { ResultRecord, RunInfo } from "../../src/store/types.js";
import { fakeSpawner, scratchDir } from "../bench/helpers.js";
import { captureIO } from "../helpers/capture-io.js";

const record = (dim: number, median = 1.5): ResultRecord => ({
  suite: "S1",
  case: `S1/head_dim=${dim}`,
  params: { op: "sdpa", head_dim: dim },
  stats: { median_ms: median, p10_ms: median * 0.9, p90_ms: median * 1.1, n: 20 },
  samples_ms: [median, median * 1.01],
  gpu: "G",
  gpu_index: 0,
  time: "2026-01-31T00:00:00.000Z",
  wall_ms: 400,
});

const runInfo = (id: string): RunInfo => ({
  run_id: id,
  created: "2026-01-31T00:00:00.000Z",
  command: "gac bench S1",
  git_commit: null,
  host: "h",
  capability: { type: "capability", ok: true, gpu: { name: "G", index: 0 } },
  suites: ["S1"],
  gpus: [0, 1],
  quick: false,
});

/** What `gzip -9 <dir>/results*.jsonl` does: each file replaced by its .gz. */
async function archive(dir: string, only?: string): Promise<void> {
  for (const name of (await readdir(dir)).filter((n) => isResultsFileName(n) && n.endsWith(".jsonl") && (only === undefined || n === only))) {
    await writeFile(join(dir, `${name}.gz`), gzipSync(await readFile(join(dir, name)), { level: 9 }));
    await rm(join(dir, name));
  }
}

/** A run with two GPU shards, the second ending in a killed run's unfinished line. */
async function twoShardRun(): Promise<string> {
  const dir = await scratchDir("archived");
  await writeRunInfo(dir, runInfo("run-a"));
  await writeFile(join(dir, "results-gpu0.jsonl"), encodeRecord(record(96, 1)) + encodeRecord(record(107, 2)));
  await writeFile(join(dir, "results-gpu1.jsonl"), encodeRecord(record(107, 9)) + encodeRecord(record(112, 3)) + '{"suite":"S1","ca');
  return dir;
}

const isBadResults = (pattern: RegExp) => (e: unknown) => e instanceof GacError && e.code === "BAD_RESULTS" && pattern.test(e.message) && !e.message.includes("\n");

test("a gzipped run reads back the same records, duplicates and unfinished line as the plain one", async () => {
  const plain = await twoShardRun();
  const archived = await scratchDir("archived");
  await cp(plain, archived, { recursive: true });
  await archive(archived);
  assert.deepEqual((await readdir(archived)).sort(), ["results-gpu0.jsonl.gz", "results-gpu1.jsonl.gz", "run.json"]);
  const a = await loadResults([plain]);
  const b = await loadResults([archived]);
  assert.deepEqual(b.records, a.records);
  assert.deepEqual(
    b.records.map((r) => [r.case, r.stats?.median_ms]),
    [
      ["S1/head_dim=96", 1],
      ["S1/head_dim=107", 2],
      ["S1/head_dim=112", 3],
    ],
  );
  assert.equal(b.duplicates, 1);
  assert.deepEqual(b.truncated, [{ file: join(archived, "results-gpu1.jsonl.gz"), line: 3, bytes: 17 }]);
});

test("a half-archived run reads its files in the order of their plain names", async () => {
  const dir = await twoShardRun();
  const before = await readRun(dir);
  await archive(dir, "results-gpu1.jsonl");
  assert.deepEqual((await readRun(dir)).records, before.records);
  await archive(dir, "results-gpu0.jsonl");
  assert.deepEqual((await readRun(dir)).records, before.records);
});

test("a results file present both plain and gzipped is an error, not counted twice", async () => {
  const dir = await twoShardRun();
  await writeFile(join(dir, "results-gpu0.jsonl.gz"), gzipSync(await readFile(join(dir, "results-gpu0.jsonl"))));
  await assert.rejects(loadResults([dir]), isBadResults(/both results-gpu0\.jsonl and results-gpu0\.jsonl\.gz exist; keep one/));
  await assert.rejects(loadReportInputs([dir]), isBadResults(/both results-gpu0\.jsonl and results-gpu0\.jsonl\.gz exist; keep one/));
});

test("a damaged gzip is one BAD_RESULTS line naming the file", async () => {
  const dir = await twoShardRun();
  await archive(dir);
  const file = join(dir, "results-gpu0.jsonl.gz");
  const gz = await readFile(file);
  await writeFile(file, gz.subarray(0, gz.length - 12));
  await assert.rejects(loadResults([dir]), isBadResults(/results-gpu0\.jsonl\.gz is not a readable gzip file \(unexpected end of file\)/));
  await writeFile(file, "not gzip at all\n");
  await assert.rejects(loadResults([dir]), isBadResults(/results-gpu0\.jsonl\.gz is not a readable gzip file \(incorrect header check\)/));
  await assert.rejects(loadReportInputs([dir]), isBadResults(/results-gpu0\.jsonl\.gz is not a readable gzip file/));
});

test("appending to an archived run is refused, for every GPU", async () => {
  const dir = await twoShardRun();
  await archive(dir, "results-gpu1.jsonl");
  for (const gpu of [0, 1, 2]) {
    await assert.rejects(openAppender(dir, gpu), isBadResults(/^run .* is archived \(results\*\.jsonl\.gz\): gunzip it to resume/));
  }
  assert.deepEqual((await readdir(dir)).sort(), ["results-gpu0.jsonl", "results-gpu1.jsonl.gz", "run.json"]);
});

const S1 = () => expandSuites(["S1"], { quick: true });
const bench = (outDir: string, cases = S1()) =>
  runBench({
    cases,
    outDir,
    runId: "r1",
    gpus: [0],
    spawn: fakeSpawner(),
    command: "gac bench S1 --quick",
    gitCommit: null,
    suites: ["S1"],
    quick: true,
  });

test("resuming an archived run with cases left is refused before any worker starts or run.json changes", async () => {
  const dir = await scratchDir("archived-resume");
  const cases = S1();
  await bench(dir, cases.slice(0, 2));
  await archive(dir);
  const runJson = await readFile(join(dir, "run.json"), "utf8");
  await assert.rejects(bench(dir, cases), isBadResults(new RegExp(`^run ${dir} is archived \\(results\\*\\.jsonl\\.gz\\): gunzip it to resume`)));
  assert.equal(await readFile(join(dir, "run.json"), "utf8"), runJson);
  assert.deepEqual((await readdir(dir)).sort(), ["results-gpu0.jsonl.gz", "run.json"]);
});

test("rerunning an archived run that has nothing left to measure reads it and writes nothing", async () => {
  const dir = await scratchDir("archived-done");
  const first = await bench(dir);
  await archive(dir);
  const mtime = (await stat(join(dir, "run.json"))).mtimeMs;
  const again = await bench(dir);
  assert.equal(again.skipped, first.total);
  assert.deepEqual(again.records, first.records);
  assert.equal((await stat(join(dir, "run.json"))).mtimeMs, mtime);
});

test("gac profile and the report read a gzipped run as they read the plain one", async () => {
  const cwd = await scratchDir("archived-profile");
  await runBench({
    cases: expandSuites(["S1", "G3"], { quick: true }),
    outDir: join(cwd, "plain"),
    runId: "r1",
    gpus: [0, 1],
    spawn: fakeSpawner(),
    command: "gac bench S1 G3 --quick --gpus 0,1",
    gitCommit: null,
    suites: ["S1", "G3"],
    quick: true,
  });
  await cp(join(cwd, "plain"), join(cwd, "archived"), { recursive: true });
  await archive(join(cwd, "archived"));
  for (const which of ["plain", "archived"]) assert.equal(await runCli(["profile", which, "--out", `profiles-${which}`], captureIO(cwd), [profileCommand]), 0);
  for (const gpu of ["fake-gpu-0", "fake-gpu-1"]) {
    const { created: _a, ...plain } = await loadProfile(join(cwd, "profiles-plain", `${gpu}.json`));
    const { created: _b, ...archived } = await loadProfile(join(cwd, "profiles-archived", `${gpu}.json`));
    assert.ok(plain.series.length > 0);
    assert.deepEqual(archived, plain);
  }
  const plainInputs = await loadReportInputs([join(cwd, "plain")]);
  const archivedInputs = await loadReportInputs([join(cwd, "archived")]);
  assert.ok(plainInputs.runs[0].records.length > 0);
  assert.deepEqual(
    archivedInputs.runs.map(({ dir: _, ...run }) => run),
    plainInputs.runs.map(({ dir: _, ...run }) => run),
  );
  assert.deepEqual(archivedInputs.notes, plainInputs.notes);
});
