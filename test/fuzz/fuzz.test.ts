/**
 * A bounded slice of the fuzzing campaign (fuzz-cases.ts) in every `npm test`: seeded mutations of
 * headers, configs and indexes through scan, plan and repair. Each command must end in exit 0 or a
 * one-line exit 1, leave the input as it was and leave nothing behind. The long run is
 * bench/fuzz.ts (10,000+ cases). Seeds rotate with GAC_FUZZ_SEED; the default is fixed so a
 * failure reproduces.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCampaign, tally } from "./fuzz-cases.js";

/** ~0.2 s a case on one shared core: 150 cases stay under the ~60 s budget with room. */
const CASES = 150;
const BUDGET_MS = 45_000;

test("150 seeded hostile checkpoints through scan, plan and repair: exit 0 or one-line exit 1, input unchanged, nothing left behind", { timeout: 120_000 }, async () => {
  const root = await mkdtemp(join(tmpdir(), "gac-fuzz-test-"));
  try {
    const seed = Number(process.env.GAC_FUZZ_SEED ?? 20261201);
    const results = await runCampaign(root, { seed, cases: CASES, budgetMs: BUDGET_MS, timeoutMs: 15_000 });
    const bad = results.filter((r) => r.outcome !== "ok" && r.outcome !== "refused");
    assert.deepEqual(bad, [], JSON.stringify(tally(results)));
    // The campaign exercised both ends: some cases repaired, most refused.
    const counts = tally(results);
    assert.ok(counts.repair.ok > 0 && counts.repair.refused > 0, JSON.stringify(counts));
    assert.ok(results.length >= 3 * 40, `only ${results.length / 3} cases ran in the time budget`);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
