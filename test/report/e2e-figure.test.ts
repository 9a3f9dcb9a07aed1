/**
 * The end-to-end figure and table from raw worker output: a crafted worker-results.jsonl and the
 * job lines it answered (tiny fixture specs; CI has no GPU) go through `gac report`'s loader, the
 * e2e importer and the figure builder; slowdowns are marked as such; the committed H200 sweep
 * (results/20261202T143905Z-e2e) gives the figure and the numbers its README cites.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describeCheckpoint } from "../../src/bench/e2e/models.js";
import { generateFixture } from "../../src/fixtures/index.js";
import { buildE2eFigure, configLabel, e2eSpeedupPoints, SLOWER_COLOR } from "../../src/report/figures/e2e.js";
import { buildReport, figureView, loadReportInputs, renderSvg } from "../../src/report/index.js";
import { flattenRuns } from "../../src/report/records.js";
import { MAX_FIGURE_WIDTH } from "../../src/report/style.js";
import { scratchDir } from "../helpers/scratch.js";
import { legendEntriesWithoutMarks, sceneRoot } from "./page-checks.js";

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

const H200 = "NVIDIA H200";
const COMMITTED = "results/20261202T143905Z-e2e";

interface Timed {
  label: string;
  config: string;
  prefill?: number;
  decode?: number;
}

/** A worker output directory: unrepaired, MINIMAL and a dense parent (same base shapes) in two configurations. */
async function crafted(): Promise<{ root: string; run: string }> {
  const root = await scratchDir("e2e-report");
  dirs.push(root);
  const ckpt = (await generateFixture("llama-direct-svd", join(root, "fixtures", "tiny-dsvd"), {})).dir;
  const [none, minimal] = await describeCheckpoint(ckpt, { variants: ["none", "MINIMAL"], scale: "fold", weights: "random", role: "checkpoint" });
  const parent = { ...none.description, label: "tiny-dense" };
  const descriptions = new Map([
    [none.description.label, none.description],
    [minimal.description.label, minimal.description],
    [parent.label, parent],
  ]);
  const timed: Timed[] = [
    { label: none.description.label, config: "transformers/sdpa/dynamic", prefill: 10, decode: 2 },
    { label: minimal.description.label, config: "transformers/sdpa/dynamic", prefill: 8, decode: 6 },
    { label: parent.label, config: "transformers/sdpa/dynamic", prefill: 9, decode: 5 },
    { label: none.description.label, config: "gac/graph/static", decode: 3 },
    { label: minimal.description.label, config: "gac/graph/static", decode: 2.5 },
  ];
  const stats = (ms: number) => ({ median_ms: ms, p10_ms: ms * 0.98, p90_ms: ms * 1.02, n: 5 });
  const jobs: string[] = [];
  const lines = [
    JSON.stringify({ type: "capability", ok: true, gpu: { name: H200, index: 0, compute_capability: "9.0" }, torch: "2.11.0+cu130", cuda: "13.0", cudnn: "9.19.0", driver: "580.159.04" }),
  ];
  for (const t of timed) {
    const [engine, config, cache] = t.config.split("/");
    const id = `e2e/${t.label}/${t.config}`;
    const prefill = t.prefill !== undefined ? [{ batch: 1, seq: 128 }] : [];
    jobs.push(
      JSON.stringify({
        type: "job",
        id,
        op: "e2e",
        params: { model: descriptions.get(t.label), engine, config, cache, prefill, decode: [{ batch: 1, context: 256 }], prefill_repeats: 5, decode_steps: 5, warmup: 1 },
      }),
    );
    const points = [
      ...(t.prefill !== undefined ? [{ phase: "prefill", batch: 1, seq: 128, stats: stats(t.prefill), samples_ms: [t.prefill] }] : []),
      ...(t.decode !== undefined ? [{ phase: "decode", batch: 1, context: 256, stats: stats(t.decode), samples_ms: [t.decode] }] : []),
    ];
    lines.push(
      JSON.stringify({
        type: "result",
        id,
        op: "e2e",
        e2e: {
          engine,
          config,
          cache,
          dtype: "bf16",
          weights: "random",
          copy_bandwidth_gbps: 4000,
          model: { label: t.label, params: 1, weight_bytes: 2e6, kv_bytes_per_token: 512 },
          points,
          skipped: [],
          kernels: {},
        },
      }),
    );
  }
  const run = join(root, "results", "20261201T000000Z-e2e-tiny");
  await mkdir(run, { recursive: true });
  await writeFile(join(run, "worker-results.jsonl"), `${lines.join("\n")}\n`);
  await writeFile(join(run, "jobs-e2e.jsonl"), `${jobs.join("\n")}\n`);
  return { root, run };
}

test("gac report reads raw worker output with its job lines: the e2e figure leads, with each repair's and the dense parent's speedup per configuration and point", async () => {
  const { run } = await crafted();
  const inputs = await loadReportInputs([run]);
  assert.equal(inputs.runs.length, 1);
  const env = inputs.runs[0].env;
  assert.deepEqual([env.gpu, env.cudnn, env.computeCapability, env.date, env.command], [H200, "9.19.0", "9.0", "2026-12-01T00:00:00Z", "python3 -m gac_worker < jobs-e2e.jsonl"]);
  const report = buildReport(inputs, { generated: "2026-12-02" });
  assert.equal(report.figures[0]?.name, "e2e-speedup");
  assert.ok(!report.notes.some((n) => /suite 'e2e'/.test(n)), report.notes.join("; "));
  const points = e2eSpeedupPoints(flattenRuns(inputs.runs));
  const decodeSdpa = points.filter((p) => p.point === "decode 1×256" && p.config === "transformers/sdpa/dynamic").map((p) => [p.variant, Number(p.speedup.toFixed(4)), p.slower]);
  assert.deepEqual(decodeSdpa, [
    ["MINIMAL", Number((2 / 6).toFixed(4)), true],
    ["dense parent", Number((2 / 5).toFixed(4)), true],
  ]);
  const prefill = points.find((p) => p.point === "prefill 1×128" && p.variant === "MINIMAL");
  assert.ok(prefill && Math.abs(prefill.speedup - 1.25) < 1e-12 && !prefill.slower);
  assert.ok(prefill && Math.abs(prefill.lo - (10 * 0.98) / (8 * 1.02)) < 1e-12 && Math.abs(prefill.hi - (10 * 1.02) / (8 * 0.98)) < 1e-12);
  // gac has no parent measured: its row holds the repair alone.
  assert.deepEqual(
    points.filter((p) => p.config === "gac/graph/static").map((p) => p.variant),
    ["MINIMAL"],
  );
  const caption = report.figures[0].caption;
  assert.match(caption, /^Measured end to end on NVIDIA H200, random weights, `python3 -m gac_worker < jobs-e2e\.jsonl`\./);
  assert.match(caption, /E1 \(NVIDIA H200\); see the Environment table\.$/);
  const table = report.tables.find((t) => t.name === "e2e-speedup");
  assert.ok(table);
  assert.equal(report.tables[0].name, "e2e-speedup");
  const row = table.rows.find((r) => r[1] === "HF sdpa" && r[2] === "decode 1×256");
  assert.ok(row, JSON.stringify(table.rows));
  assert.match(row[4], /^6\.000 \(5\.880-6\.120\), 0\.33× \(0\.32-0\.35\) slower$/);
  assert.match(row[5], /, 0\.40× .* slower$/);
});

test("the e2e figure marks a slowdown: its value in red and bold inside the shaded region below 1x, a speedup in black; it fits the column and every legend entry has marks", async () => {
  const { run } = await crafted();
  const report = buildReport(await loadReportInputs([run]), { generated: "2026-12-02" });
  const figure = report.figures.find((f) => f.name === "e2e-speedup");
  assert.ok(figure);
  const svg = await renderSvg(figure.spec);
  const width = Number(/width="(\d+)"/.exec(svg)?.[1]);
  assert.ok(width > 400 && width <= MAX_FIGURE_WIDTH, `width ${width}`);
  const textsOf = (label: string) => [...svg.matchAll(new RegExp(`<text[^>]*>${label}</text>`, "g"))].map((m) => m[0]);
  const [slow] = textsOf("MINIMAL 0\\.33×");
  assert.match(slow, new RegExp(`fill="${SLOWER_COLOR}"`));
  assert.match(slow, /font-weight="bold"/);
  const [fast] = textsOf("MINIMAL 1\\.25×");
  assert.match(fast, /fill="#222222"/);
  assert.doesNotMatch(fast, /bold/);
  // The shaded region: one rectangle per panel from the axis start to 1x, left of the slowdown's point.
  assert.match(svg, /fill="#F4D3CF"/);
  const view = await figureView(figure.spec);
  try {
    assert.deepEqual(legendEntriesWithoutMarks(sceneRoot(view)).missing, []);
  } finally {
    view.finalize();
  }
  assert.equal(configLabel("transformers/sdpa-nocudnn/dynamic"), "HF sdpa, cuDNN off");
  assert.equal(configLabel("transformers/sdpa/static"), "HF sdpa, static cache");
  assert.equal(configLabel("gac/graph/static"), "gac CUDA graph");
  assert.equal(configLabel("gac/graph-splitkv/static"), "gac CUDA graph, split-KV");
  assert.equal(configLabel("gac/eager-nocudnn/static"), "gac eager, cuDNN off");
  assert.deepEqual(buildE2eFigure([]).figures, []);
});

test("worker output without its job lines is named in a note, not read", async () => {
  const { root, run } = await crafted();
  const bare = join(root, "results", "20261201T010000Z-bare");
  await mkdir(bare, { recursive: true });
  await writeFile(join(bare, "worker-results.jsonl"), "");
  const inputs = await loadReportInputs([join(root, "results")]);
  assert.deepEqual(
    inputs.runs.map((r) => r.dir),
    [run],
  );
  assert.ok(
    inputs.notes.some((n) => n.includes(join(bare, "worker-results.jsonl")) && /without the job lines .* bench\/e2e-jobs\.ts/.test(n)),
    inputs.notes.join("; "),
  );
});

test("the committed H200 sweep gives the e2e figure with the numbers its README cites: the head_dim repair's cuDNN decode slowdown and the pruned MLP's prefill win", {
  skip: !existsSync(COMMITTED),
}, async () => {
  const inputs = await loadReportInputs([COMMITTED]);
  const report = buildReport(inputs, { generated: "2026-12-02" });
  assert.equal(report.figures[0].name, "e2e-speedup");
  const table = report.tables.find((t) => t.name === "e2e-speedup");
  assert.ok(table);
  const cell = (checkpoint: string, config: string, point: string) => table.rows.find((r) => r[0] === checkpoint && r[1] === config && r[2] === point)?.[4] ?? "";
  assert.match(cell("llama3-8b-direct-svd", "HF sdpa", "decode 1×4096"), /, 0\.40× \(.*\) slower$/);
  assert.match(cell("llama3-8b-direct-svd", "HF sdpa, cuDNN off", "decode 1×4096"), /, 1\.10× /);
  assert.match(cell("llama3-8b-direct-svd", "gac CUDA graph, split-KV", "decode 1×4096"), /, 1\.09× /);
  assert.match(cell("llama3-8b-pruned-mlp-11469", "HF sdpa", "prefill 1×2048"), /, 3\.84× /);
  assert.deepEqual([...new Set(table.rows.map((r) => r[0]))], ["llama3-8b-direct-svd", "llama3-8b-pruned-mlp-11469", "llama3-8b-palu", "llama2-7b-flap", "llama2-7b-asvd", "llama2-7b-svdllm"]);
  assert.doesNotMatch(report.figures[0].caption, /Not drawn/, "every family has a repaired model measured");
  const svg = await renderSvg(report.figures[0].spec);
  assert.ok(Number(/width="(\d+)"/.exec(svg)?.[1]) <= MAX_FIGURE_WIDTH);
});
