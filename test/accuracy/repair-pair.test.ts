import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateFixture } from "../../src/fixtures/index.js";
import { repairCheckpoint } from "../../src/repair/repair-checkpoint.js";
import { pairFromDirs, pairFromPlan } from "../../src/accuracy/repair-pair.js";
import { jobModel } from "../../src/accuracy/job.js";
import { openModel } from "../../src/verify/load-model.js";
import { runCli } from "../../src/cli/main.js";
import { captureIO } from "../helpers/capture-io.js";
import { GacError } from "../../src/errors.js";

let root: string;
let original: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), "gac-pair-"));
  original = (await generateFixture("llama-direct-svd", join(root, "dsvd"), { seed: 2 })).dir;
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

for (const scaleMode of ["fold", "logical"] as const) {
  test(`the repair derived from headers (${scaleMode}) is the one gac repair writes: same edits, same repaired spec, same softmax scale`, async () => {
    const out = join(root, `dsvd-${scaleMode}`);
    await repairCheckpoint(original, out, { strategy: "MINIMAL", scaleMode });
    const fromDirs = await pairFromDirs(original, out);
    const fromPlan = await pairFromPlan(original, "MINIMAL", scaleMode);
    assert.deepEqual(fromPlan.edits, fromDirs.edits);
    assert.ok(fromPlan.edits.length > 0);
    assert.deepEqual(fromPlan.repaired.spec, (await openModel(out)).spec);
    assert.deepEqual(fromPlan.repaired.forward, fromDirs.repaired.forward);
    assert.equal(fromDirs.scaleMode, scaleMode);
    const folded = fromPlan.edits.filter((e) => e.scale !== undefined).length;
    assert.equal(folded > 0, scaleMode === "fold");
  });
}

test("a job model carries each layer's softmax scale and the RoPE frequencies of each head_dim", async () => {
  const pair = await pairFromPlan(original, "MINIMAL", "logical");
  const m = jobModel("r", "/r", pair.repaired.spec, pair.repaired.forward, { source: "derived", from: 0, edits: pair.edits });
  const d = pair.original.spec.headDim;
  const D = pair.repaired.spec.headDim;
  assert.ok(D > d);
  assert.deepEqual(
    m.attention_scale,
    pair.repaired.spec.layers.map(() => d ** -0.5),
    "logical mode keeps the original d^-0.5",
  );
  const inv = m.inv_freq[String(D)];
  assert.equal(inv.length, D / 2);
  // rope_theta' = theta^(D/d): the padded model's first d/2 frequencies are the original's.
  const orig = jobModel("o", "/o", pair.original.spec, {}, { source: "checkpoint" }).inv_freq[String(d)];
  orig.forEach((f, j) => assert.ok(Math.abs(inv[j] - f) <= 1e-14 * f, `frequency ${j}: ${inv[j]} vs ${f}`));
});

test("--device gpu without PyTorch or a GPU fails with one line that says so (NO_GPU, exit 1)", async (t) => {
  const io = captureIO(root);
  try {
    await runCli(["verify", original, "--device", "gpu", "--random-weights", "--strategy", "MINIMAL"], io);
    t.skip("this machine has PyTorch and a GPU: the run succeeded");
  } catch (e) {
    assert.ok(e instanceof GacError, String(e));
    assert.equal(e.code, "NO_GPU");
    assert.match(e.message, /^--device gpu: (PyTorch is not installed|no CUDA GPU)/);
    assert.ok(!e.message.includes("\n"), e.message);
  }
});
