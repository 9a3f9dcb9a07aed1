import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describeCheckpoint } from "../../../src/bench/e2e/models.js";
import { planE2e } from "../../../src/bench/e2e/plan-e2e.js";
import { selectConfigs } from "../../../src/bench/e2e/engines.js";
import { GRID_PRESETS } from "../../../src/bench/e2e/grid.js";
import { generateFixture } from "../../../src/fixtures/index.js";
import { scratchDir } from "../helpers.js";

const root = fileURLToPath(new URL("../../..", import.meta.url));
const python = spawnSync("python3", ["--version"], { encoding: "utf8" });
const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

/** Validates each job line with the worker's own pure validator (python/gac_worker/e2e/params.py, no torch). */
const VALIDATE = `
import json, sys
sys.path.insert(0, "python")
from gac_worker.e2e.params import validate_e2e
from gac_worker.protocol import JobError
for line in sys.stdin:
    job = json.loads(line)
    try:
        validate_e2e(job["op"], job["params"])
        print("ok", job["op"])
    except JobError as e:
        print("bad", job["op"], e)
`;

test("every job the client plans passes the worker's own parameter validation (both ops, every configuration, a repaired PaLU model)", {
  skip: python.status !== 0 ? "python3 is not installed" : false,
}, async () => {
  const dir = await scratchDir("e2e-contract");
  dirs.push(dir);
  const models = [];
  for (const kind of ["llama-direct-svd", "palu"] as const) {
    const ckpt = (await generateFixture(kind, join(dir, kind))).dir;
    models.push(...(await describeCheckpoint(ckpt, { variants: ["none", "MINIMAL"], scale: "fold", weights: "random", role: "checkpoint" })));
  }
  const plan = planE2e(models, selectConfigs(["transformers", "gac"]), GRID_PRESETS.quick, { present: new Set() });
  const lines = plan.jobs.map((j) => JSON.stringify({ type: "job", id: j.case, ...j.job })).join("\n") + "\n";
  const run = spawnSync("python3", ["-c", VALIDATE], { cwd: root, input: lines, encoding: "utf8", timeout: 60_000 });
  assert.equal(run.status, 0, run.stderr.slice(-2000));
  const out = run.stdout.trim().split("\n");
  assert.equal(out.length, plan.jobs.length);
  assert.deepEqual(
    out.filter((l) => !l.startsWith("ok")),
    [],
  );
  assert.ok(out.some((l) => l === "ok e2e_logits"));
});
