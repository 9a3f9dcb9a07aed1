import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile, readdir, writeFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { jobId, runBench, type BenchOptions } from "../../src/bench/run-bench.js";
import { expandSuites } from "../../src/bench/suites.js";
import { loadResults, readRunInfo } from "../../src/store/results-store.js";
import { GacError } from "../../src/errors.js";
import { fakeSpawner, scratchDir } from "./helpers.js";

function options(outDir: string, extra: Partial<BenchOptions> = {}): BenchOptions {
  return {
    cases: expandSuites(["S1", "S2", "P1"], { quick: true }),
    outDir,
    runId: "run-a",
    gpus: [0],
    spawn: fakeSpawner(),
    command: "gac bench S1 S2 P1 --quick",
    gitCommit: "abc123",
    suites: ["S1", "S2", "P1"],
    quick: true,
    ...extra,
  };
}

test("a run writes run.json and one line per case, refusals recorded with their reason", async () => {
  const dir = await scratchDir("bench");
  const summary = await runBench(options(dir));
  assert.equal(summary.total, 10);
  assert.equal(summary.measured + summary.refused, 10);
  const info = await readRunInfo(dir);
  assert.equal(info?.git_commit, "abc123");
  assert.equal(info?.capability.gpu.name, "Fake GPU 0");
  assert.deepEqual(info?.suites, ["S1", "S2", "P1"]);
  const { records } = await loadResults([dir]);
  assert.equal(records.length, 10);
  const refused = records.find((r) => r.case.startsWith("S2/backend=EFFICIENT") && r.params.head_dim === 107);
  assert.equal(refused?.error?.type, "backend_refused");
  assert.equal(refused?.stats, undefined);
  const padded = records.find((r) => r.suite === "P1" && r.params.strategy === "multiple_8");
  assert.equal(padded?.extra?.max_abs_diff, 0.0009765625);
  assert.ok(records.every((r) => r.run_id === "run-a" && r.gpu === "Fake GPU 0"));
});

test("a run stopped midway and rerun measures only the missing cases", async () => {
  const dir = await scratchDir("resume");
  const log = join(await scratchDir("resume-log"), "jobs.log");
  const controller = new AbortController();
  let seen = 0;
  const first = await runBench(
    options(dir, {
      spawn: fakeSpawner({ FAKE_JOB_LOG: log }),
      signal: controller.signal,
      onProgress: (p) => {
        if (p.done >= 4 && seen++ === 0) controller.abort();
      },
    }),
  );
  assert.equal(first.cancelled, true);
  const afterFirst = (await loadResults([dir])).records.length;
  assert.ok(afterFirst >= 4 && afterFirst < 10, `first run kept ${afterFirst}`);
  const second = await runBench(options(dir, { spawn: fakeSpawner({ FAKE_JOB_LOG: log }) }));
  assert.equal(second.skipped, afterFirst);
  assert.equal(second.measured + second.refused, 10 - afterFirst);
  const { records, duplicates } = await loadResults([dir]);
  assert.equal(records.length, 10);
  assert.equal(duplicates, 0);
  const info = await readRunInfo(dir);
  assert.equal(info?.resumes?.length, 1);
  const jobs = (await readFile(log, "utf8"))
    .trim()
    .split("\n")
    .map((l) => l.split(" ")[1]);
  assert.equal(new Set(jobs).size, 10, "every case ran, none twice except the one cancelled mid-job");
});

test("a truncated last line from a killed run is cut off and that case runs again", async () => {
  const dir = await scratchDir("trunc");
  await runBench(options(dir));
  const file = join(dir, "results-gpu0.jsonl");
  const lines = (await readFile(file, "utf8")).trim().split("\n");
  // The kill happened while the 10th line was being written: 9 whole lines and half of the last.
  await writeFile(file, lines.slice(0, 9).join("\n") + "\n" + lines[9].slice(0, 40));
  const loaded = await loadResults([dir]);
  assert.equal(loaded.records.length, 9);
  assert.equal(loaded.truncated.length, 1);
  assert.equal(loaded.truncated[0].line, 10);
  const rerun = await runBench(options(dir));
  assert.equal(rerun.skipped, 9);
  assert.equal(rerun.measured + rerun.refused, 1);
  assert.equal(rerun.truncated.length, 1);
  const after = await loadResults([dir]);
  assert.equal(after.records.length, 10);
  assert.equal(after.truncated.length, 0);
});

test("two GPUs share the cases round-robin, each writing its own file, and merge back whole", async () => {
  const dir = await scratchDir("shard");
  const summary = await runBench(options(dir, { gpus: [0, 1] }));
  assert.equal(summary.measured + summary.refused, 10);
  const files = (await readdir(dir)).filter((f) => f.endsWith(".jsonl")).sort();
  assert.deepEqual(files, ["results-gpu0.jsonl", "results-gpu1.jsonl"]);
  const { records } = await loadResults([dir]);
  assert.equal(records.length, 10);
  assert.equal(records.filter((r) => r.gpu_index === 0).length, 5);
  assert.equal(records.filter((r) => r.gpu_index === 1 && r.gpu === "Fake GPU 1").length, 5);
});

test("a worker that crashes on one case is restarted, the case is reported failed and left for a rerun", async () => {
  const dir = await scratchDir("crash");
  const summary = await runBench(options(dir, { spawn: fakeSpawner({ FAKE_CRASH_ON: "head_dim=97" }) }));
  assert.ok(summary.failed.length >= 1);
  assert.ok(summary.failed.every((f) => f.case.includes("head_dim=97") && /Segmentation fault/.test(f.message)));
  const { records } = await loadResults([dir]);
  assert.equal(records.length, 10 - summary.failed.length);
  const rerun = await runBench(options(dir));
  assert.equal(rerun.measured + rerun.refused, summary.failed.length);
});

test("a host without torch stops the run with NO_GPU before anything is written", async () => {
  const dir = await scratchDir("notorch");
  await assert.rejects(runBench(options(dir, { spawn: fakeSpawner({ FAKE_CAPABILITY: "no_gpu" }) })), (e) => e instanceof GacError && e.code === "NO_GPU" && /no CUDA GPU/.test(e.message));
  assert.equal(await readRunInfo(dir), null);
});

test("progress counts done over total and gives an ETA from the case estimates before any case finished", async () => {
  const dir = await scratchDir("progress");
  const seen: { done: number; total: number; etaMs: number; current?: string }[] = [];
  let t = 0;
  await runBench(options(dir, { onProgress: (p) => seen.push(p), now: () => (t += 100) }));
  assert.equal(seen[0].done, 0);
  assert.equal(seen[0].total, 10);
  assert.ok(seen[0].etaMs > 0);
  assert.equal(seen[seen.length - 1].done, 10);
  assert.equal(seen[seen.length - 1].etaMs, 0);
  assert.ok(seen.some((p) => p.current?.startsWith("S2/")));
});

test("job ids stay within the worker's 200 characters: a long case id keeps its start and a hash of the whole", () => {
  const short = "S1/head_dim=107";
  assert.equal(jobId(short), short);
  const long = "model/" + "x".repeat(250);
  const other = "model/" + "x".repeat(249) + "y";
  assert.equal(jobId(long).length, 200);
  assert.ok(jobId(long).startsWith("model/xxx"));
  assert.notEqual(jobId(long), jobId(other));
});

test("a results file that cannot be opened fails the run and closes the workers instead of hanging", { timeout: 30_000 }, async () => {
  const dir = await scratchDir("unwritable");
  await mkdir(join(dir, "results-gpu0.jsonl"), { recursive: true });
  await assert.rejects(runBench(options(dir)));
});
