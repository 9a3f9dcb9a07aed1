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
  assert.throws(
    () => parseResultsJsonl(text, "r.jsonl", []),
    (e: unknown) => e instanceof GacError && e.code === "BAD_RESULTS" && /r\.jsonl:1 is not JSON/.test(e.message),
  );
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
    await writeFile(
      join(root, "results", "run-a", "results-gpu0.jsonl"),
      benchRecords(A100)
        .slice(0, 5)
        .map((r) => JSON.stringify(r))
        .join("\n") + "\n",
    );
    await mkdir(join(root, "results", "model-fixed"), { recursive: true });
    await writeFile(join(root, "results", "model-fixed", "gac-repair.json"), JSON.stringify({ strategy: "OPTIMAL", edits: [{ id: "a", from: 107, to: 112 }], param_overhead_pct: 4.7 }));
    await writeFile(
      join(root, "my-scan.txt"),
      JSON.stringify({ model: { family: "palu" }, dims: [{ id: "d", role: "kv_rank", value: 117 }], calls: [], strategies: { MINIMAL: { param_overhead_pct: 2.5, predicted_ms: null } } }),
    );
    const inputs = await loadReportInputs([join(root, "results"), join(root, "my-scan.txt")]);
    assert.equal(inputs.runs.length, 1);
    assert.equal(inputs.runs[0].records.length, 5);
    assert.equal(inputs.runs[0].env.gpu, A100);
    assert.deepEqual(
      inputs.repairs.map((r) => [r.strategy, r.changes.length, r.paramOverheadPct]),
      [["OPTIMAL", 1, 4.7]],
    );
    assert.equal(inputs.scans[0].strategies.MINIMAL.predicted_ms, null);
    await assert.rejects(loadReportInputs([join(root, "nope")]), (e: unknown) => e instanceof GacError && e.code === "MISSING_FILE");
    await writeFile(join(root, "other.json"), "{}");
    await assert.rejects(loadReportInputs([join(root, "other.json")]), (e: unknown) => e instanceof GacError && e.code === "UNKNOWN_INPUT");
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test("a gac repair manifest gives its overhead from overhead.paramOverheadPct", async () => {
  const { parseRepair } = await import("../../src/report/index.js");
  const m = parseRepair(
    {
      format: 1,
      strategy: "OPTIMAL",
      changes: [{ site: { kind: "rank" }, id: "r", from: 114, to: 128 }],
      overhead: { paramsBefore: 100, paramsAfter: 102, paramOverheadPct: 1.83, bytesBefore: 1, bytesAfter: 2 },
    },
    "out/gac-repair.json",
  );
  assert.equal(m.paramOverheadPct, 1.83);
  assert.deepEqual(m.changes, [{ id: "r", from: 114, to: 128 }]);
});

test("a refusal keeps PyTorch's reason from error.warnings, without the disabled backends' lines", () => {
  const line = JSON.stringify({
    suite: "S2",
    case: "c",
    params: { head_dim: 107, backend: "EFFICIENT" },
    gpu: "g",
    error: {
      type: "backend_refused",
      message: "No available kernel. Aborting execution.",
      warnings: [
        "Memory efficient kernel not used because:",
        "Mem efficient attention requires last dimension of inputs to be divisible by 8. Got Query.size(-1): 107",
        "Flash attention kernel not used because:",
        "Flash attention has been runtime disabled.",
      ],
    },
  });
  const [r] = parseResultsJsonl(line, "r.jsonl", []);
  assert.equal(r.error?.message, "Mem efficient attention requires last dimension of inputs to be divisible by 8. Got Query.size(-1): 107 (No available kernel. Aborting execution.)");
});

test("a published profile becomes a run marked (published); a measured one is left out with a note", async () => {
  const { profileToRun } = await import("../../src/report/profile-input.js");
  const notes: string[] = [];
  const doc = {
    schema: "gac-profile/1",
    source: "published",
    gpu: { name: "NVIDIA A100-80GB", slug: "a100" },
    env: { driver: "560" },
    series: [
      {
        op: "sdpa_prefill",
        key: "sdpa_prefill/backend=EFFICIENT/table=S2",
        dtype: "fp16",
        causal: false,
        backend: "EFFICIENT",
        shape: { batch: 4 },
        points: [{ dim: 96, median_ms: 2.4 }],
        refused: [{ dim: 107, reason: "backend_refused: needs a multiple of 8" }],
      },
      { op: "gemm_k", key: "gemm_k/m=4096/n=4096/table=GEMM", dtype: "fp16", shape: { m: 4096, n: 4096 }, points: [{ dim: 107, median_ms: 0.089 }] },
      { op: "sdpa_padded", key: "sdpa_padded/table=C4", points: [{ dim: 107, padded_dim: 112, median_ms: 1.49, label: "MINIMAL" }] },
    ],
  };
  const run = profileToRun(doc, "a100.json", notes)!;
  assert.equal(run.env.gpu, "NVIDIA A100-80GB (published)");
  assert.deepEqual(
    run.records.map((r) => [r.suite, r.params.head_dim ?? r.params.k, r.stats?.median_ms ?? r.error?.message]),
    [
      ["S2", 96, 2.4],
      ["S2", 107, "needs a multiple of 8"],
      ["G3", 107, 0.089],
    ],
  );
  assert.match(notes[0], /C4 have no figure/);
  assert.equal(profileToRun({ ...doc, source: "measured" }, "h200.json", notes), undefined);
  assert.match(notes[1], /measured profile is not plotted/);
});
