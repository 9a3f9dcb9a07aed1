import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { createBenchCommand } from "../../src/cli/commands/bench.js";
import { runCli } from "../../src/cli/main.js";
import { generateFixture } from "../../src/fixtures/index.js";
import { loadResults, readRunInfo } from "../../src/store/results-store.js";
import { summarizeModelBench } from "../../src/bench/model-summary.js";
import { GacError } from "../../src/errors.js";
import { fakeSpawner, scratchDir } from "./helpers.js";
import { captureIO } from "../helpers/capture-io.js";

function harness(cwd: string) {
  const io = captureIO(cwd);
  const command = createBenchCommand({ spawn: fakeSpawner(), gitCommit: () => "deadbeef", now: () => new Date(2026, 0, 31, 14, 25, 0) });
  return { io, run: (argv: string[]) => runCli(argv, io, [command]) };
}

test("gac bench model measures a checkpoint's calls through the worker, writes results and its scan, and a rerun measures nothing twice", async () => {
  const cwd = await scratchDir("model-cli");
  await generateFixture("llama-direct-svd", join(cwd, "dsvd"));
  const h = harness(cwd);
  assert.equal(await h.run(["bench", "model", "--checkpoint", "dsvd", "--strategies", "MINIMAL"]), 0);
  const dir = join(cwd, "results", "20260131-142500-model-dsvd");
  assert.equal((await readRunInfo(dir))?.suites[0], "model");
  const { records } = await loadResults([dir]);
  assert.equal(records.length, 26);
  const [s] = summarizeModelBench(records);
  assert.equal(s.variants.unrepaired.measured_calls, 34);
  assert.equal(s.variants.MINIMAL.measured_calls, 34);
  // The fake worker makes unaligned GEMMs and head dims slower, so padding 52 -> 56 measures faster.
  assert.ok((s.speedup_pct.MINIMAL ?? 0) > 0);
  assert.match(h.io.stdout, /^model dsvd on Fake GPU 0: measured forward time/m);
  assert.match(h.io.stdout, /^MINIMAL +\d+\.\d{3} ms .* \+\d+\.\d% .*34\/34 calls$/m);
  const scan = JSON.parse(await readFile(join(dir, "scan-dsvd.json"), "utf8"));
  assert.equal(scan.model.name, "dsvd");
  assert.equal(scan.strategies.MINIMAL.dims_changed > 0, true);

  assert.equal(await h.run(["bench", "model", "--checkpoint", "dsvd", "--strategies", "MINIMAL", "--out", dir]), 0);
  assert.match(h.io.stderr, /0 measured, 0 refused or errored, 26 already in the directory/);
  assert.deepEqual(
    (await readdir(dir)).filter((f) => f.endsWith(".jsonl")),
    ["results-gpu0.jsonl"],
  );
});

test("gac bench model --list prints calls, cases and the GPU-time estimate per variant without running anything", async () => {
  const cwd = await scratchDir("model-list");
  await generateFixture("palu", join(cwd, "palu"));
  const h = harness(cwd);
  assert.equal(await h.run(["bench", "model", "--checkpoint", "palu", "--list", "--name", "palu-test"]), 0);
  assert.match(h.io.stdout, /^model palu-test \(fp16\)/);
  assert.match(h.io.stdout, /^unrepaired +50 +33 +0\.00%$/m);
  assert.match(h.io.stdout, /^PREDEFINED +50 +0 \(same calls as OPTIMAL\) +1\.09%$/m);
  assert.match(h.io.stdout, /^total: 78 cases, ~39s of GPU time/m);
  assert.match(h.io.stdout, /^model\/count=\d+\/dtype=fp16\/.*model=palu-test\/.*variant=MINIMAL/m);
  assert.deepEqual(await readdir(cwd), ["palu"]);
});

test("gac bench model without --checkpoint, and --checkpoint without model, fail with one line", async () => {
  const h = harness(await scratchDir("model-bad"));
  await assert.rejects(h.run(["bench", "model"]), (e: unknown) => e instanceof GacError && e.code === "BAD_ARGS" && /needs --checkpoint/.test(e.message));
  await assert.rejects(h.run(["bench", "S1", "--checkpoint", "x"]), (e: unknown) => e instanceof GacError && /^unknown option '--checkpoint' \(see `gac help bench`\)$/.test(e.message));
});

test("gac bench model --tp 2 measures GPU 0's shard under its own name and writes the TP scan beside the results", async () => {
  const cwd = await scratchDir("model-tp");
  await generateFixture("pruned-flap", join(cwd, "flap"));
  const h = harness(cwd);
  assert.equal(await h.run(["bench", "model", "--checkpoint", "flap", "--runtime", "vllm", "--tp", "2", "--strategies", "MINIMAL"]), 0, h.io.stderr);
  const dir = join(cwd, "results", "20260131-142500-model-flap-tp2");
  const { records } = await loadResults([dir]);
  assert.ok(records.length > 0 && records.every((r) => r.params.tp === 2 && r.params.model === "flap-tp2"));
  // Layer 1 keeps 517 channels: 259 on GPU 0 unrepaired (the first chunk), 264 after MINIMAL for TP 2.
  const gateNs = (variant: string) => records.filter((r) => r.params.variant === variant && r.params.op === "linear" && r.params.k === 256).map((r) => r.params.n);
  assert.ok(gateNs("unrepaired").includes(259));
  assert.ok(gateNs("MINIMAL").includes(264));
  const scan = JSON.parse(await readFile(join(dir, "scan-flap-tp2.json"), "utf8")) as { tensor_parallel: { tp: number; refusals: { id: string }[] } };
  assert.equal(scan.tensor_parallel.tp, 2);
  assert.deepEqual(
    scan.tensor_parallel.refusals.map((r) => r.id),
    ["layers.0.self_attn.heads", "layers.0.self_attn.kv_heads", "layers.0.mlp.intermediate", "layers.1.mlp.intermediate"],
  );
});
