import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { scratchDir } from "../helpers/scratch.js";
import { join } from "node:path";
import { decodeResults, encodeRecord, loadResults, openAppender, readRunInfo, writeRunInfo } from "../../src/store/results-store.js";
import type { ResultRecord, RunInfo } from "../../src/store/types.js";
import { GacError } from "../../src/errors.js";

const record = (c: string, median = 1.5): ResultRecord => ({
  suite: "S1",
  case: `S1/head_dim=${c}`,
  params: { op: "sdpa", head_dim: Number(c) },
  stats: { median_ms: median, p10_ms: median * 0.9, p90_ms: median * 1.1, n: 20 },
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
  gpus: [0],
  quick: false,
});

const tmp = () => scratchDir("gac-store-");

test("records read back exactly as they were appended", async () => {
  const dir = await tmp();
  const appender = await openAppender(dir, 3);
  await appender.append(record("107"));
  await appender.append({ ...record("108"), stats: undefined, error: { type: "backend_refused", message: "needs % 8" } });
  assert.equal(appender.file, join(dir, "results-gpu3.jsonl"));
  const { records } = await loadResults([dir]);
  assert.deepEqual(
    records.map(({ run_id: _run, ...r }) => r),
    [record("107"), { ...record("108"), stats: undefined, error: { type: "backend_refused", message: "needs % 8" } }].map((r) => JSON.parse(JSON.stringify(r))),
  );
});

test("an unfinished last line is skipped and reported with its line number and size", () => {
  const text = encodeRecord(record("96")) + encodeRecord(record("97")) + '{"suite":"S1","ca';
  const decoded = decodeResults(text, "f.jsonl");
  assert.equal(decoded.records.length, 2);
  assert.deepEqual(decoded.truncated, { file: "f.jsonl", line: 3, bytes: 17 });
});

test("a malformed line before the end is an error naming file and line", () => {
  const text = encodeRecord(record("96")) + "not json\n" + encodeRecord(record("97"));
  assert.throws(
    () => decodeResults(text, "f.jsonl"),
    (e) => e instanceof GacError && e.code === "BAD_RESULTS" && /f\.jsonl:2 is not JSON/.test(e.message),
  );
  assert.throws(
    () => decodeResults('{"suite":"S1","case":"x","params":{}}\n', "g.jsonl"),
    (e) => e instanceof GacError && /neither stats.median_ms nor error.type/.test(e.message),
  );
});

test("opening for append cuts off an unfinished last line so the next line starts clean", async () => {
  const dir = await tmp();
  const file = join(dir, "results-gpu0.jsonl");
  await writeFile(file, encodeRecord(record("96")) + '{"suite":"S1","case":"S1/hea');
  const appender = await openAppender(dir, 0);
  assert.equal(appender.repaired?.line, 2);
  await appender.append(record("97"));
  assert.equal(await readFile(file, "utf8"), encodeRecord(record("96")) + encodeRecord(record("97")));
});

test("several runs merge by concatenation and a (run, case) seen twice keeps its first record", async () => {
  const a = await tmp();
  const b = await tmp();
  await writeRunInfo(a, runInfo("run-a"));
  await writeRunInfo(b, runInfo("run-b"));
  await writeFile(join(a, "results-gpu0.jsonl"), encodeRecord(record("96", 1)) + encodeRecord(record("107", 2)));
  await writeFile(join(a, "results-gpu1.jsonl"), encodeRecord(record("107", 9)));
  await writeFile(join(b, "results.jsonl"), encodeRecord(record("107", 3)));
  const loaded = await loadResults([a, b]);
  assert.deepEqual(
    loaded.runs.map((r) => r.run_id),
    ["run-a", "run-b"],
  );
  assert.deepEqual(
    loaded.records.map((r) => [r.run_id, r.case, r.stats?.median_ms]),
    [
      ["run-a", "S1/head_dim=96", 1],
      ["run-a", "S1/head_dim=107", 2],
      ["run-b", "S1/head_dim=107", 3],
    ],
  );
  assert.equal(loaded.duplicates, 1);
});

test("run.json is written whole and read back; a directory that is not a run is refused", async () => {
  const dir = await tmp();
  await writeRunInfo(dir, runInfo("r1"));
  assert.deepEqual(await readRunInfo(dir), runInfo("r1"));
  const empty = await tmp();
  await assert.rejects(loadResults([empty]), (e) => e instanceof GacError && e.code === "BAD_RESULTS");
  await assert.rejects(loadResults([join(empty, "nope")]), (e) => e instanceof GacError && e.code === "MISSING_FILE");
});
