/**
 * The accuracy (gac eval / gac verify --device gpu) and compression-study inputs of the report:
 * told apart by content, refused in one line when damaged, shown as they are in the tables, and
 * drawn in figures that fit the column with no legend entry lacking marks.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildReport, loadReportInputs, type ReportInputs } from "../../src/report/index.js";
import { parseAccuracyText } from "../../src/report/accuracy-input.js";
import { evalTableRows, verifyTableRows } from "../../src/report/figures/accuracy.js";
import { GacError } from "../../src/errors.js";
import { assertFigureReadable } from "./page-checks.js";
import { COMMITTED_ACCURACY_INPUTS } from "./fixtures.js";

const result = (dir: string, precision: string, loss: number, scale: string | null = null) => ({
  dir,
  model_type: "llama",
  family: "palu",
  dtype: "BF16",
  params: 1000,
  tokenizer: "bytes",
  scale_mode: scale,
  precision,
  loss,
  perplexity: Math.exp(loss),
  targets: 512,
  seconds: 0.1,
});

/** A tiny gac eval document: a compressed model "m" and three repairs, each at three precisions. */
function evalDoc(): Record<string, unknown> {
  const results = [];
  for (const p of ["float64", "float32", "bfloat16"]) {
    results.push(result("/v/m", p, 2));
    results.push(result("/v/m-MINIMAL-logical", p, 2, "logical"));
    // The fold's one bf16 rounding: 1e-5 at every precision (1e-6 x 2 = 2e-6 is float32's rounding bound), 1e-4 more in bf16.
    results.push(result("/v/m-MINIMAL-fold", p, p === "bfloat16" ? 2 + 1e-4 : 2 + 1e-5, "fold"));
    results.push(result("/v/m-OPTIMAL-logical", p, p === "float64" ? 2.5 : 2, "logical"));
  }
  return {
    schema: "gac-eval/1",
    device: "gpu",
    gpu: "NVIDIA H200",
    torch: "2.11",
    text: { kind: "held-out", path: "/t", byte_offset: 0, bytes: 1, sha256: "ab".repeat(32) },
    context: 256,
    stride: 256,
    windows: 2,
    targets: 512,
    results,
  };
}

const comparison = (name: string, rel: number, bound: number | string, cause: string) => ({
  name,
  a: "x",
  b: "y",
  count: 10,
  max_abs_diff: rel * 20,
  max_rel_diff: rel,
  mean_abs_diff: rel,
  max_abs_original: 20,
  argmax_agree: 10,
  rows: 10,
  cause,
  bound,
  bound_reason: "r",
  pass: true,
});

function verifyDoc(repaired: string, serving: number, floor: number, pass = true): Record<string, unknown> {
  return {
    schema: "gac-verify-gpu/1",
    original: "/v/m",
    repaired,
    weights: "checkpoint",
    scale_mode: "logical",
    dtype: "BF16",
    folded_tensors: 0,
    tokens: 128,
    seed: 0,
    serving: "bfloat16",
    gpu: "NVIDIA H200",
    torch: "2.11",
    params: [1000, 1100],
    comparisons: [
      comparison("repair_fp32", 0, 1e-4, "exact zero"),
      comparison("repair_serving", serving, 2 * floor, "kernel choice in bfloat16"),
      comparison("noise_floor_serving", floor, "Infinity", "serving noise floor"),
    ],
    pass,
  };
}

function studyDoc(): Record<string, unknown> {
  const entries = [];
  for (const budget of [0.8, 0.6])
    for (const [variant, params, aligned] of [
      ["a", 900, "0/4"],
      ["b", 1000, "4/4"],
      ["c", 850, "4/4"],
      ["d", 1000, "4/4"],
      ["e", 950, "2/4"],
    ] as const)
      entries.push({ method: "svd-pairs", budget, variant, dir: `/s/svd-pairs-b${budget * 100}-${variant}`, params: params * budget, sizes: "48-64", aligned16: aligned, predicted_ms: null });
  return { schema: "gac-compress-study/1", model: "/s/dense", calibration: "/t", dense_params: 1200, entries };
}

function studyEval(): Record<string, unknown> {
  const doc = evalDoc();
  const entries = studyDoc().entries as { dir: string; params: number }[];
  return { ...doc, device: "cpu", results: [result("/s/dense", "float64", 1.6), ...entries.map((e, i) => ({ ...result(e.dir, "float64", 1.7 + (i % 5) * 0.01), params: e.params }))] };
}

/** Raw worker output: a capability line, a heartbeat, two e2e results of study variants and one refused job. */
function workerLines(): string {
  const cap = { type: "capability", protocol_version: 1, ok: true, gpu: { name: "NVIDIA H200", index: 0, compute_capability: "9.0" }, driver: "580", torch: "2.11", cuda: "13.0", cudnn: "9.19" };
  const e2e = (label: string, ms: number) => ({
    type: "result",
    id: `e2e/${label}/gac/eager/static`,
    op: "e2e",
    e2e: {
      engine: "gac",
      config: "eager",
      cache: "static",
      model: { label, params: 4.1e9 },
      points: [{ phase: "prefill", batch: 1, seq: 2048, stats: { median_ms: ms, p10_ms: ms - 1, p90_ms: ms + 1, n: 5 } }],
    },
  });
  return [
    cap,
    { type: "heartbeat", t: 1, job: "x" },
    e2e("svd-pairs-llama2-7b-b60-a", 145),
    e2e("svd-pairs-llama2-7b-b60-b", 37),
    { type: "error", id: "e2e/x", op: "e2e", error: { type: "internal", message: "no" } },
    { type: "bye" },
  ]
    .map((l) => JSON.stringify(l))
    .join("\n");
}

async function withDir<T>(f: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "gac-report-acc-"));
  try {
    return await f(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("eval, verify, study and worker lines are told apart by content, whatever their files are called", async () => {
  await withDir(async (dir) => {
    // Names that say the opposite of what the files hold.
    await writeFile(join(dir, "verify.json"), JSON.stringify(evalDoc(), null, 2));
    await writeFile(join(dir, "eval.jsonl"), [verifyDoc("/v/m-MINIMAL-logical", 0.004, 0.006), verifyDoc("/v/m-OPTIMAL-logical", 0.005, 0.006)].map((d) => JSON.stringify(d)).join("\n"));
    await writeFile(join(dir, "notes.json"), JSON.stringify({ schema: "gac-fp8-gemm/1" }));
    const study = join(dir, "study");
    await import("node:fs/promises").then((fs) => fs.mkdir(study));
    await writeFile(join(study, "results.json"), JSON.stringify(studyDoc(), null, 2));
    await writeFile(join(study, "a.json"), JSON.stringify(studyEval(), null, 2));
    await writeFile(join(study, "speed.jsonl"), workerLines());
    await writeFile(join(study, "same-shapes.json"), JSON.stringify({ "svd-pairs-llama2-7b-b60-d": "svd-pairs-llama2-7b-b60-b" }));
    const inputs = await loadReportInputs([dir]);
    assert.deepEqual(
      inputs.evals?.map((e) => [e.file.endsWith("verify.json"), e.results.length]),
      [[true, 12]],
    );
    assert.equal(inputs.verifies?.length, 2);
    assert.equal(inputs.studies?.length, 1);
    assert.equal(inputs.studies?.[0].evals.length, 1, "the study's eval belongs to the study, not to the accuracy tables");
    assert.deepEqual(
      inputs.speedRuns?.map((r) => [r.env.gpu, r.points.length, r.errors]),
      [["NVIDIA H200", 2, 1]],
    );
    assert.deepEqual(inputs.speedRuns?.[0].aliases, { "svd-pairs-llama2-7b-b60-d": "svd-pairs-llama2-7b-b60-b" });
    // The study table: d was timed as b (same shapes), a and b as themselves, c not at all.
    const table = buildReport(inputs, { generated: "2026-12-02" }).tables.find((t) => t.name === "compress-study");
    const prefill = (variant: string) => table?.rows.find((r) => r[1] === "0.6" && r[2].startsWith(`${variant}:`))?.[8];
    assert.deepEqual(["a", "b", "c", "d"].map(prefill), ["145.0 (144.0-146.0)", "37.00 (36.00-38.00)", "-", "37.00 (36.00-38.00)"]);
    // A file named on the command line is read by content too.
    const one = await loadReportInputs([join(dir, "eval.jsonl")]);
    assert.equal(one.verifies?.length, 2);
  });
});

test("a damaged eval, verify or study document is refused in one line naming the file, line and field", async () => {
  const badEval = evalDoc();
  (badEval.results as Record<string, unknown>[])[2].loss = "NaN";
  const badVerify = verifyDoc("/v/r", 0.1, 0.1);
  delete badVerify.pass;
  const oneLine = (re: RegExp) => (e: unknown) => e instanceof GacError && e.code === "BAD_RESULTS" && !e.message.includes("\n") && re.test(e.message);
  assert.throws(() => parseAccuracyText(JSON.stringify(badEval, null, 2), "e.json"), oneLine(/^e\.json \(result 3\): 'loss' is "NaN", not a finite loss/));
  assert.throws(() => parseAccuracyText(`${JSON.stringify(verifyDoc("/v/r", 0.1, 0.1))}\n${JSON.stringify(badVerify)}\n`, "v.jsonl"), oneLine(/^v\.jsonl:2: 'pass' is missing/));
  assert.throws(() => parseAccuracyText(`${JSON.stringify(verifyDoc("/v/r", 0.1, 0.1))}\n{"schema":"gac-scan/1"}\n`, "v.jsonl"), oneLine(/^v\.jsonl:2: schema 'gac-scan\/1' where/));
  await withDir(async (dir) => {
    const study = studyDoc();
    (study.entries as Record<string, unknown>[])[3].variant = "f";
    await writeFile(join(dir, "study.json"), JSON.stringify(study, null, 2));
    await assert.rejects(loadReportInputs([dir]), oneLine(/study\.json \(entry 4\): 'variant' is "f", not one of a-e/));
  });
});

test("the perplexity table shows each repair's loss minus its compressed model's and names the difference", () => {
  const [doc] = parseAccuracyText(JSON.stringify(evalDoc()), "e.json").evals;
  const rows = evalTableRows([doc]);
  const row = (name: string, precision: string) => rows.find((r) => r[0] === name && r[4] === precision) ?? [];
  // Columns: checkpoint, compressed model, scale, params, precision, loss, perplexity, loss - compressed, what it is.
  assert.deepEqual(row("m", "float64").slice(1, 3), ["-", "-"]);
  assert.deepEqual(row("m-MINIMAL-logical", "float64").slice(1), ["m", "logical", "1,000", "float64", "2.000000", "7.3891", "0", "exact zero"]);
  assert.equal(row("m-MINIMAL-fold", "float64")[7], "1.00e-5");
  assert.match(row("m-MINIMAL-fold", "float64")[8], /^the fold's one BF16 rounding of q_proj/);
  assert.match(row("m-MINIMAL-fold", "float32")[8], /^the fold's one BF16 rounding/);
  assert.match(row("m-MINIMAL-fold", "bfloat16")[8], /^bfloat16 rounding and kernel choice, with the fold's one BF16 rounding/);
  assert.match(row("m-OPTIMAL-logical", "float64")[8], /^BEYOND float64 rounding/);
  assert.equal(row("m-OPTIMAL-logical", "float32")[8], "exact zero");
  assert.equal(rows.length, 12);
});

test("the verify table shows the fp32 cause, the serving difference beside its noise floor and bound, and the result", () => {
  const { verifies } = parseAccuracyText([verifyDoc("/v/m-MINIMAL-logical", 0.004, 0.006), verifyDoc("/v/m-OPTIMAL-logical", 0.02, 0.006, false)].map((d) => JSON.stringify(d)).join("\n"), "v.jsonl");
  const rows = verifyTableRows(verifies);
  assert.deepEqual(rows[0], ["m", "MINIMAL, logical", "checkpoint", "logical", "0", "exact zero", "-", "4.00e-3", "6.00e-3", "1.20e-2", "pass"]);
  assert.equal(rows[1][10], "FAIL (verify)");
});

async function checkFigures(inputs: ReportInputs, names: string[]): Promise<void> {
  const report = buildReport(inputs, { generated: "2026-12-02" });
  assert.deepEqual(
    report.figures.map((f) => f.name).filter((n) => names.includes(n)),
    names,
  );
  for (const f of report.figures.filter((x) => names.includes(x.name))) {
    const checked = await assertFigureReadable(f);
    assert.ok(checked >= 1, `${f.name}: ${checked} legend entries`);
  }
}

test("the verify and compression-study figures fit the column and every legend entry has marks", async () => {
  await withDir(async (dir) => {
    await writeFile(join(dir, "v.jsonl"), [verifyDoc("/v/m-MINIMAL-logical", 0.004, 0.006), verifyDoc("/v/m-OPTIMAL-logical", 0.005, 0.006)].map((d) => JSON.stringify(d)).join("\n"));
    await writeFile(join(dir, "study.json"), JSON.stringify(studyDoc(), null, 2));
    await writeFile(join(dir, "eval.json"), JSON.stringify(studyEval(), null, 2));
    await writeFile(join(dir, "speed.jsonl"), workerLines());
    await checkFigures(await loadReportInputs([dir]), ["verify-serving", "compress-study", "compress-study-speed"]);
  });
});

test("the committed accuracy runs and compression study give their tables and figures", { skip: !COMMITTED_ACCURACY_INPUTS.every(existsSync) }, async () => {
  const inputs = await loadReportInputs(COMMITTED_ACCURACY_INPUTS);
  const report = buildReport(inputs, { generated: "2026-12-02" });
  const table = (name: string) => report.tables.find((t) => t.name === name);
  const small = table("accuracy-eval-gpu");
  // 26 checkpoints x float64 / float32 / bfloat16; every repair exact or the fold's rounding in float64.
  assert.equal(small?.rows.length, 78);
  const repairedF64 = small?.rows.filter((r) => r[1] !== "-" && r[4] === "float64") ?? [];
  assert.equal(repairedF64.length, 20);
  for (const r of repairedF64) assert.match(r[8], /^(exact zero|the fold's one BF16 rounding)/, r[0]);
  assert.ok(repairedF64.some((r) => r[0] === "svd-heads-MINIMAL-fold" && /fold's one BF16/.test(r[8])));
  // The real-size direct-SVD fold: +3.6e-4 in float32, the fold's rounding, not float32 rounding.
  const real = table("accuracy-eval-gpu-real");
  const fold = real?.rows.find((r) => r[0].startsWith("llama-direct-svd-llama3-8b (MINIMAL, fold") && r[4] === "float32");
  assert.match(fold?.[8] ?? "", /^the fold's one BF16 rounding/);
  const verify = table("verify-gpu");
  assert.equal(verify?.rows.length, 29);
  assert.ok(verify?.rows.every((r) => r[10] === "pass"));
  await checkFigures(inputs, ["verify-serving", "compress-study"]);
});
