import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, mkdir, writeFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { detectJsonKind, loadReportInputs, parseResultsJsonl, parseRunJson } from "../../src/report/index.js";
import { GacError } from "../../src/errors.js";
import { A100, benchRecords, runJson } from "./fixtures.js";

test("a truncated last results line is skipped with a note", () => {
  const notes: string[] = [];
  const text = `{"suite":"S1","case":"a","params":{"head_dim":96},"stats":{"median_ms":1.1},"gpu":"g"}\n{"suite":"S1","case":"b","par`;
  const records = parseResultsJsonl(text, "r.jsonl", notes);
  assert.equal(records.length, 1);
  assert.equal(records[0].stats?.median_ms, 1.1);
  assert.match(notes[0], /r\.jsonl: the last line \(2\) is cut short/);
});

test("a damaged results line before the end is an error naming file and line", () => {
  const text = `{"suite":"S1"\n{"suite":"S1","case":"b","params":{},"gpu":"g"}\n`;
  assert.throws(() => parseResultsJsonl(text, "r.jsonl", []), (e: unknown) => e instanceof GacError && e.code === "BAD_RESULTS" && /r\.jsonl line 1/.test(e.message));
});

test("a refused case keeps its error and has no stats", () => {
  const [r] = parseResultsJsonl(`{"suite":"S2","case":"c","params":{"head_dim":107,"backend":"MEM_EFFICIENT"},"error":{"type":"backend_refused","message":"needs %8"},"gpu":"g"}`, "r.jsonl", []);
  assert.equal(r.stats, undefined);
  assert.deepEqual(r.error, { type: "backend_refused", message: "needs %8" });
});

test("run.json gives the environment, with compute capability joined", () => {
  const { runId, env } = parseRunJson(runJson(A100, "run-1"), "run.json");
  assert.equal(runId, "run-1");
  assert.deepEqual([env.gpu, env.driver, env.torch, env.cudnn, env.commit, env.computeCapability], [A100, "550.54.15", "2.5.1", "90100", "0123456789abcdef", "8.0"]);
});

test("input kinds are told apart by content", () => {
  assert.equal(detectJsonKind({ dims: [], calls: [], model: {} }), "scan");
  assert.equal(detectJsonKind({ strategy: "MINIMAL", edits: [] }), "repair");
  assert.equal(detectJsonKind({ strategy: "MINIMAL", changes: [] }), "repair");
  assert.equal(detectJsonKind({ run_id: "x", capability: {} }), "run");
  assert.equal(detectJsonKind({ hello: 1 }), "unknown");
});

test("a parent directory is searched for runs and repair manifests; a scan file is read by content", async () => {
  const root = await mkdtemp(join(tmpdir(), "gac-report-load-"));
  try {
    await mkdir(join(root, "results", "run-a"), { recursive: true });
    await writeFile(join(root, "results", "run-a", "run.json"), runJson(A100, "run-a"));
    await writeFile(join(root, "results", "run-a", "results-gpu0.jsonl"), benchRecords(A100).slice(0, 5).map((r) => JSON.stringify(r)).join("\n") + "\n");
    await mkdir(join(root, "results", "model-fixed"), { recursive: true });
    await writeFile(join(root, "results", "model-fixed", "gac-repair.json"), JSON.stringify({ strategy: "OPTIMAL", edits: [{ id: "a", from: 107, to: 112 }], param_overhead_pct: 4.7 }));
    await writeFile(join(root, "my-scan.txt"), JSON.stringify({ model: { family: "palu" }, dims: [{ id: "d", role: "kv_rank", value: 117 }], calls: [], strategies: { MINIMAL: { param_overhead_pct: 2.5, predicted_ms: null } } }));
    const inputs = await loadReportInputs([join(root, "results"), join(root, "my-scan.txt")]);
    assert.equal(inputs.runs.length, 1);
    assert.equal(inputs.runs[0].records.length, 5);
    assert.equal(inputs.runs[0].env.gpu, A100);
    assert.deepEqual(inputs.repairs.map((r) => [r.strategy, r.changes.length, r.paramOverheadPct]), [["OPTIMAL", 1, 4.7]]);
    assert.equal(inputs.scans[0].strategies.MINIMAL.predicted_ms, null);
    await assert.rejects(loadReportInputs([join(root, "nope")]), (e: unknown) => e instanceof GacError && e.code === "MISSING_FILE");
    await writeFile(join(root, "other.json"), "{}");
    await assert.rejects(loadReportInputs([join(root, "other.json")]), (e: unknown) => e instanceof GacError && e.code === "UNKNOWN_INPUT");
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
