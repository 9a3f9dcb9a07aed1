/**
 * The real python worker on this machine (no GPU; no torch here or in CI): it must say so in its
 * capability line and exit 0, and `gac bench` must turn that into one clear line.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createInterface } from "node:readline";
import { workerPythonDir, pythonWorkerSpawner } from "../../src/bench/worker-client.js";
import { createBenchCommand } from "../../src/cli/commands/bench.js";
import { runCli } from "../../src/cli/main.js";
import { GacError } from "../../src/errors.js";
import { scratchDir } from "./helpers.js";
import { captureIO } from "../helpers/capture-io.js";

const hasTorch = spawnSync("python3", ["-c", "import torch"]).status === 0;
const expectedReason = hasTorch ? "no_gpu" : "no_torch";

test("the real worker reports a missing torch (or GPU) in its capability line and exits 0", async () => {
  const child = spawn("python3", ["-u", "-m", "gac_worker", "--device", "0"], { env: { ...process.env, PYTHONPATH: workerPythonDir() }, stdio: ["pipe", "pipe", "pipe"] });
  const lines: string[] = [];
  createInterface({ input: child.stdout }).on("line", (l) => lines.push(l));
  const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
  assert.equal(code, 0);
  assert.ok(lines.length >= 1, "no line on stdout");
  const first = JSON.parse(lines[0]);
  assert.equal(first.type, "capability");
  assert.equal(first.ok, false);
  assert.equal(first.reason, expectedReason);
});

test("gac bench on a host without a usable GPU fails with NO_GPU in one line", async () => {
  const cwd = await scratchDir("cli-notorch");
  const io = captureIO(cwd);
  const command = createBenchCommand({ spawn: pythonWorkerSpawner(), gitCommit: () => null });
  await assert.rejects(runCli(["bench", "S1", "--quick"], io, [command]), (e) => {
    assert.ok(e instanceof GacError);
    assert.equal(e.code, "NO_GPU");
    assert.ok(!e.message.includes("\n"), e.message);
    assert.match(e.message, hasTorch ? /no CUDA GPU/ : /PyTorch is not installed/);
    return true;
  });
});
