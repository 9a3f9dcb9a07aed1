import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { createBenchCommand } from "../../../src/cli/commands/bench.js";
import { runCli } from "../../../src/cli/main.js";
import { generateFixture } from "../../../src/fixtures/index.js";
import { loadResults, readRunInfo } from "../../../src/store/results-store.js";
import { GacError } from "../../../src/errors.js";
import { MODELS_FILE } from "../../../src/bench/e2e/models-file.js";
import { fakeSpawner, scratchDir } from "../helpers.js";
import { captureIO } from "../../helpers/capture-io.js";

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

/** One set of tiny fixtures for every test; each test writes its own run directory. */
let shared: string;
before(async () => {
  shared = await scratchDir("e2e-cli");
  dirs.push(shared);
  for (const kind of ["llama-aligned", "llama-direct-svd", "llama-pruned-mlp", "palu"] as const) await generateFixture(kind, join(shared, kind));
});
const workspace = async () => shared;

function harness(cwd: string, env: Record<string, string> = {}) {
  const io = captureIO(cwd);
  const command = createBenchCommand({ spawn: fakeSpawner(env), gitCommit: () => "deadbeef", now: () => new Date(2026, 11, 1, 21, 0, 0) });
  return { io, run: (argv: string[]) => runCli(argv, io, [command]) };
}

const ARGS = [
  "bench",
  "e2e",
  "--checkpoint",
  "llama-direct-svd",
  "--checkpoint",
  "llama-pruned-mlp",
  "--checkpoint",
  "palu",
  "--parent",
  "llama-aligned",
  "--grid",
  "quick",
  "--configs",
  "transformers/sdpa/*,transformers/sdpa-nocudnn/dynamic,gac/*",
  "--out",
  "run-all",
];

test("gac bench e2e times every model in every configuration that can run it, records refusals with reasons, compares logits, and prints the tables", async () => {
  const cwd = await workspace();
  const h = harness(cwd);
  assert.equal(await h.run(ARGS), 0);
  const dir = join(cwd, "run-all");
  const info = await readRunInfo(dir);
  assert.deepEqual(info?.suites, ["e2e"]);
  const { records } = await loadResults([dir]);
  const e2e = records.filter((r) => r.suite === "e2e");
  const measured = e2e.filter((r) => r.stats);
  // Dense, transformers-loadable models: parent + 3 direct-SVD + 2 pruned-MLP (OPTIMAL pads 509 to 512 as
  // MINIMAL does: the same model, run once) = 6, x 7 configurations (3 transformers, 4 gac) x 2 points; PaLU: 3 models x 4 gac
  // configurations x 2 points.
  assert.equal(measured.length, 6 * 7 * 2 + 3 * 4 * 2);
  assert.match(h.io.stderr, /llama-pruned-mlp\/OPTIMAL is the same model as llama-pruned-mlp\/MINIMAL \(same edits\): not run again/);
  const refusals = e2e.filter((r) => r.error?.type === "unsupported");
  assert.equal(refusals.length, 3 * 3, "PaLU x 3 transformers configurations, each one row with the reason");
  assert.ok(refusals.every((r) => /transformers cannot load palu checkpoints/.test(r.error?.message ?? "")));
  assert.match(
    h.io.stderr,
    /cannot run palu\/\{none,MINIMAL,OPTIMAL\} in 3 configurations \(transformers\/sdpa\/dynamic, transformers\/sdpa\/static, transformers\/sdpa-nocudnn\/dynamic\): transformers cannot load palu checkpoints/,
  );
  const row = measured.find((r) => r.case === "e2e/llama-direct-svd/MINIMAL/transformers/sdpa/dynamic/decode/b1/c256");
  assert.ok(row, "the repaired direct-SVD decode row exists");
  assert.equal(row.params.variant, "MINIMAL");
  assert.equal((row.extra?.env as Record<string, unknown>).transformers, "5.17.0");
  assert.equal((row.extra?.env as Record<string, unknown>).git_commit, "deadbeef");
  assert.ok(typeof (row.extra?.roofline as Record<string, unknown>).fraction === "number");
  const logits = records.filter((r) => r.suite === "e2e_logits");
  assert.equal(logits.length, 5, "one per distinct repaired model of the three checkpoints");
  const models = JSON.parse(await readFile(join(dir, MODELS_FILE), "utf8"));
  assert.equal(models.models.length, 10);
  // Tables: the repaired head_dim 56 is cuDNN-eligible and the fake worker charges the re-plan: decode gets slower.
  assert.match(h.io.stdout, /### End to end: speedup of each repair/);
  assert.match(h.io.stdout, /\| llama-direct-svd \| transformers\/sdpa\/dynamic \| decode B1 ctx 256 \| [\d.]+ \([\d.-]+\) \| [\d.]+ \([\d.-]+\), 0\.\d\d× /);
  assert.match(h.io.stdout, /### Logits: original against repaired/);
  assert.match(h.io.stdout, /one 16-bit rounding of a folded scale, below the noise floor/);
  assert.match(h.io.stdout, /\| llama-pruned-mlp\/MINIMAL \| gac \| repair, fp32 \(TF32 off\) \| 0\.00e\+0 \| 0\.00e\+0 \| 100\.0% \| 3\.50e-2 \| exact zero/);
  assert.match(h.io.stdout, /### What did not run/);
});

test("a rerun measures nothing twice, and a point the worker left out is retried by the next rerun only", async () => {
  const cwd = await workspace();
  const args = ["bench", "e2e", "--checkpoint", "llama-direct-svd", "--grid", "quick", "--configs", "gac/graph/*", "--strategies", "none,MINIMAL", "--out", "run-rerun"];
  const first = harness(cwd, { FAKE_E2E_DROP_POINT: "decode/b1/c256", FAKE_JOB_LOG: join(cwd, "jobs1.log") });
  assert.equal(await first.run(args), 0);
  assert.match(first.io.stderr, /2 grid points or jobs have no row yet \(first: e2e\/llama-direct-svd\/none\/gac\/graph\/static\/decode\/b1\/c256\): rerun/);
  const second = harness(cwd, { FAKE_JOB_LOG: join(cwd, "jobs2.log") });
  assert.equal(await second.run(args), 0);
  const jobs = (await readFile(join(cwd, "jobs2.log"), "utf8")).trim().split("\n");
  assert.deepEqual(
    jobs.map((l) => l.split(" ")[1]),
    ["e2e/llama-direct-svd/none/gac/graph/static", "e2e/llama-direct-svd/MINIMAL/gac/graph/static"],
  );
  const third = harness(cwd, { FAKE_JOB_LOG: join(cwd, "jobs3.log") });
  assert.equal(await third.run(args), 0);
  assert.match(third.io.stderr, /0 rows measured, 0 refused or skipped, 5 already in the directory/);
  await assert.rejects(readFile(join(cwd, "jobs3.log"), "utf8"), /ENOENT/);
  const { records } = await loadResults([join(cwd, "run-rerun")]);
  assert.equal(records.filter((r) => r.suite === "e2e" && r.stats).length, 4);
});

test("gac bench e2e --list shows models, configurations, refusals and jobs without starting a worker", async () => {
  const cwd = await workspace();
  const h = harness(cwd, { FAKE_EXIT_BEFORE_CAPABILITY: "1" });
  assert.equal(await h.run(["bench", "e2e", "--checkpoint", "palu", "--grid", "quick", "--list"]), 0);
  assert.match(h.io.stdout, /^grid quick: prefill\/b1\/s128, decode\/b1\/c256/m);
  assert.match(h.io.stdout, /^model palu\/MINIMAL: palu, checkpoint, weights read from the checkpoint; \d+ dim changes/m);
  assert.match(
    h.io.stdout,
    /^cannot run palu\/\{none,MINIMAL,OPTIMAL\} in 8 configurations \(transformers\/sdpa\/dynamic, .*transformers\/eager\/static\): transformers cannot load palu checkpoints/m,
  );
  assert.match(h.io.stdout, /^e2e\/palu\/OPTIMAL\/gac\/graph\/static$/m);
  assert.match(h.io.stdout, /^e2e_logits\/palu\/MINIMAL$/m);
});

test("bad e2e input fails with one line", async () => {
  const cwd = await workspace();
  const h = harness(cwd);
  const bad = (re: RegExp) => (e: unknown) => e instanceof GacError && e.code === "BAD_ARGS" && re.test(e.message);
  await assert.rejects(h.run(["bench", "e2e"]), bad(/needs --checkpoint/));
  await assert.rejects(h.run(["bench", "e2e", "--checkpoint", "palu", "--weights", "zeros"]), bad(/--weights takes auto, random or checkpoint/));
  await assert.rejects(h.run(["bench", "e2e", "--checkpoint", "palu", "--strategies", "none,FAST"]), bad(/'FAST' is not a strategy/));
  await assert.rejects(h.run(["bench", "S1", "--grid", "quick"]), bad(/^unknown option '--grid' \(see `gac help bench`\)$/));
  await assert.rejects(h.run(["bench", "model", "--checkpoint", "palu", "--checkpoint", "llama-aligned"]), bad(/takes one --checkpoint/));
});
