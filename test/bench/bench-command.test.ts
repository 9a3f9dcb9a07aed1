import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { createBenchCommand } from "../../src/cli/commands/bench.js";
import { runCli } from "../../src/cli/main.js";
import { readRunInfo, loadResults } from "../../src/store/results-store.js";
import { GacError } from "../../src/errors.js";
import { fakeSpawner, scratchDir } from "./helpers.js";
import { captureIO } from "../helpers/capture-io.js";

function harness(cwd: string) {
  const io = captureIO(cwd);
  io.errIsTTY = true; // progress is drawn on a terminal only
  const command = createBenchCommand({ spawn: fakeSpawner(), gitCommit: () => "deadbeef", now: () => new Date(2026, 0, 31, 14, 25, 0) });
  return { io, run: (argv: string[]) => runCli(argv, io, [command]) };
}

test("gac bench runs quick suites into results/<date>-<suites> and prints the headline table", async () => {
  const cwd = await scratchDir("cli");
  const h = harness(cwd);
  assert.equal(await h.run(["bench", "S1", "S2", "--quick"]), 0);
  const dir = join(cwd, "results", "20260131-142500-S1-S2");
  const info = await readRunInfo(dir);
  assert.equal(info?.command, "gac bench S1 S2 --quick --gpus 0");
  assert.equal(info?.git_commit, "deadbeef");
  const table = h.io.stdout;
  assert.match(table, /^suite +case +median/m);
  assert.match(table, /^S1 +head_dim=96 +\d+\.\d{3} ms +\[/m);
  assert.match(table, /S2 +backend=EFFICIENT +backend_refused/);
  assert.match(h.io.stderr, /8 measured, 0 refused|7 measured, 1 refused/);
  assert.match(h.io.stderr, /\[#+\] 8\/8 100%/);
});

test("rerunning with --resume <run-id> measures nothing twice", async () => {
  const cwd = await scratchDir("cli-resume");
  const h = harness(cwd);
  await h.run(["bench", "G3", "--quick"]);
  assert.equal(await h.run(["bench", "--resume", "20260131-142500-G3"]), 0);
  assert.match(h.io.stderr, /0 measured, 0 refused or errored, 2 already in the directory/);
  const { records } = await loadResults([join(cwd, "results", "20260131-142500-G3")]);
  assert.equal(records.length, 2);
});

test("--set overrides a suite setting and --list prints the case ids", async () => {
  const h = harness(await scratchDir("cli-list"));
  assert.equal(await h.run(["bench", "G3", "--list", "--set", "G3.mn=512", "--set", "G3.k_lo=100", "--set", "G3.k_hi=101"]), 0);
  assert.equal(h.io.stdout, "G3/dtype=fp16/k=100/m=512/n=512/sweep=k\nG3/dtype=fp16/k=101/m=512/n=512/sweep=k\n");
});

test("--list without suites shows every suite with its case count and the time estimate", async () => {
  const h = harness(await scratchDir("cli-list2"));
  await h.run(["bench", "--list"]);
  const text = h.io.stdout;
  assert.match(text, /^S1 +179 /m);
  assert.match(text, /^all +655 /m);
  assert.match(text, /one H100/);
});

test("bad invocations fail with one line: no suite, unknown suite, bad --gpus, nothing to resume", async () => {
  const h = harness(await scratchDir("cli-bad"));
  const code = (re: RegExp, c: string) => (e: unknown) => e instanceof GacError && e.code === c && re.test(e.message);
  await assert.rejects(h.run(["bench"]), code(/name the suites/, "BAD_ARGS"));
  await assert.rejects(h.run(["bench", "S7"]), code(/unknown suite 'S7'/, "BAD_SUITE"));
  await assert.rejects(h.run(["bench", "S1", "--gpus", "0,x"]), code(/--gpus/, "BAD_ARGS"));
  await assert.rejects(h.run(["bench", "--resume", "nope"]), code(/nothing to resume/, "BAD_ARGS"));
  await assert.rejects(h.run(["bench", "G3", "--set", "G3.mn=abc"]), code(/not a number/, "BAD_ARGS"));
});
