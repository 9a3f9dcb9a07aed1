/**
 * End to end: every fixture family is repaired by src/repair and the reference forward checks that
 * the repaired checkpoint computes the original's logits. Padded ranks and intermediates add exact
 * zeros (difference 0 in float64); a head_dim change shows the folded scale's rounding in fold mode
 * and stays at float64 noise in logical mode.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FIXTURE_KINDS, generateFixture, type FixtureDtype } from "../../src/fixtures/index.js";
import { repairCheckpoint } from "../../src/repair/repair-checkpoint.js";
import type { ScaleMode } from "../../src/repair/tensor-edits.js";
import { verifyCheckpoints, type VerifyReport } from "../../src/verify/verify-checkpoints.js";

const CONTROLS = new Set(["llama-aligned", "palu-aligned"]);
const HEAD_DIM_KINDS = ["llama-direct-svd", "mistral-llama3rope"] as const;

async function repairAndVerify(kind: (typeof FIXTURE_KINDS)[number]["kind"], dtype: FixtureDtype, scaleMode: ScaleMode): Promise<VerifyReport> {
  const root = await mkdtemp(join(tmpdir(), "gac-verify-e2e-"));
  try {
    const info = await generateFixture(kind, join(root, "in"), { seed: 1, dtype });
    await repairCheckpoint(info.dir, join(root, "out"), { strategy: "OPTIMAL", scaleMode });
    return await verifyCheckpoints(info.dir, join(root, "out"), { tokens: 6, seed: 4 });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

for (const { kind } of FIXTURE_KINDS) {
  test(`the repaired ${kind} fixture (float32, fold) computes the original logits`, async () => {
    const r = await repairAndVerify(kind, "F32", "fold");
    assert.equal(r.pass, true, `max rel diff ${r.stats.maxRelDiff}`);
    assert.equal(r.stats.argmaxAgree, 6);
    if (CONTROLS.has(kind)) assert.equal(r.repaired.params, r.original.params, "an aligned control is left as it is");
    else assert.ok(r.repaired.params > r.original.params, "repair padded something");
  });
}

for (const kind of HEAD_DIM_KINDS) {
  test(`the repaired ${kind} fixture in logical scale mode matches to float64 noise (1e-12) with the manifest's scale`, async () => {
    const r = await repairAndVerify(kind, "F32", "logical");
    assert.equal(r.scale.mode, "logical");
    assert.ok(r.repaired.headDim > r.original.headDim);
    assert.ok(r.stats.maxRelDiff < 1e-12, `max rel diff ${r.stats.maxRelDiff}`);
  });
}

test("a bfloat16 head_dim repair in fold mode shows the rounding of the folded scale, inside the 16-bit tolerance", async () => {
  const r = await repairAndVerify("llama-direct-svd", "BF16", "fold");
  assert.equal(r.tolerance, 1e-2);
  assert.ok(r.stats.maxRelDiff > 1e-12, `the rounding is visible: ${r.stats.maxRelDiff}`);
  assert.equal(r.pass, true, `max rel diff ${r.stats.maxRelDiff}`);
});
