import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { runBench } from "../../src/bench/run-bench.js";
import { expandSuites } from "../../src/bench/suites.js";
import { profileCommand } from "../../src/cli/commands/profile.js";
import { runCli } from "../../src/cli/main.js";
import { loadProfile } from "../../src/profile/profile-store.js";
import { fakeSpawner, scratchDir } from "../bench/helpers.js";
import { captureIO } from "../helpers/capture-io.js";

test("gac profile turns a two-GPU run into one profile per GPU name", async () => {
  const cwd = await scratchDir("profile-cli");
  const outDir = join(cwd, "results", "r1");
  await runBench({
    cases: expandSuites(["S1", "G3"], { quick: true }),
    outDir,
    runId: "r1",
    gpus: [0, 1],
    spawn: fakeSpawner(),
    command: "gac bench S1 G3 --quick --gpus 0,1",
    gitCommit: null,
    suites: ["S1", "G3"],
    quick: true,
  });
  const io = captureIO(cwd);
  assert.equal(await runCli(["profile", "results/r1", "--out", "profs"], io, [profileCommand]), 0);
  assert.match(io.stdout, /fake-gpu-0\.json: Fake GPU 0, \d series/);
  const p0 = await loadProfile(join(cwd, "profs", "fake-gpu-0.json"));
  const p1 = await loadProfile(join(cwd, "profs", "fake-gpu-1.json"));
  const points = [...p0.series, ...p1.series].reduce((n, s) => n + s.points.length, 0);
  assert.equal(points, 6);
  assert.deepEqual(p0.source_runs, ["r1"]);
});
