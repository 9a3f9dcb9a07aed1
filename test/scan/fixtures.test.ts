import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FIXTURE_KINDS, generateFixture, type FixtureKind } from "../../src/fixtures/index.js";
import { scanCheckpoint } from "../../src/scan/scan-checkpoint.js";
import type { Applicability } from "../../src/scan/types.js";

const EXPECTED_VERDICT: Record<FixtureKind, Applicability> = {
  "llama-aligned": "nothing-to-repair",
  "llama-direct-svd": "repair-helps-attention",
  "qwen2-bias": "projection-gemms-only",
  "mistral-llama3rope": "repair-helps-attention",
  "pruned-flap": "projection-gemms-only",
  palu: "projection-gemms-only",
  "palu-aligned": "nothing-to-repair",
  asvd: "projection-gemms-only",
  svdllm: "projection-gemms-only",
  demo: "projection-gemms-only",
};

test("scanning every generated fixture finds exactly the planted irregular dims and the expected applicability", async () => {
  const root = await mkdtemp(join(tmpdir(), "gac-scan-"));
  try {
    for (const { kind } of FIXTURE_KINDS) {
      const info = await generateFixture(kind, join(root, kind), { dtype: "BF16" });
      const report = await scanCheckpoint(info.dir, { gpu: "sm90", gacVersion: "test" });
      const found = report.dims.filter((d) => !d.aligned8).map((d) => `${d.id}=${d.value}`).sort();
      const planted = info.expectedIrregular.map((d) => `${d.id}=${d.value}`).sort();
      assert.deepEqual(found, planted, kind);
      assert.equal(report.summary.applicability.verdict, EXPECTED_VERDICT[kind], kind);
      if (planted.length === 0) {
        assert.equal(report.summary.collapsed_calls, 0, kind);
        assert.equal(report.strategies.MINIMAL.dims_changed, 0, kind);
      } else {
        assert.ok(report.summary.collapsed_calls > 0, kind);
        assert.ok(report.strategies.MINIMAL.dims_changed + report.strategies.MINIMAL.refusals.length >= planted.length, kind);
      }
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
