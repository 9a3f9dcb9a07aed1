import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FIXTURE_KINDS, generateFixture, type FixtureKind } from "../../src/fixtures/index.js";
import { scanCheckpoint } from "../../src/scan/scan-checkpoint.js";
import { findGpuProfile } from "../../src/scan/scan-profile.js";
import { packagedProfilesDir } from "../../src/profile/profile-store.js";
import type { Applicability } from "../../src/scan/types.js";

const EXPECTED_VERDICT: Record<FixtureKind, Applicability> = {
  "llama-aligned": "nothing-to-repair",
  "llama-direct-svd": "repair-helps-attention",
  "llama-pruned-mlp": "projection-gemms-only",
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
      const found = report.dims
        .filter((d) => !d.aligned8)
        .map((d) => `${d.id}=${d.value}`)
        .sort();
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

test("with the measured H200 profile, padding the direct-SVD fixture's head_dim 52 is predicted faster under MINIMAL, and the aligned control gains exactly 0", async () => {
  const root = await mkdtemp(join(tmpdir(), "gac-scan-h200-"));
  try {
    const profile = await findGpuProfile("h200", [packagedProfilesDir()]);
    assert.equal(profile?.path.endsWith("nvidia-h200.json"), true);
    assert.equal(profile?.profile.source, "measured");
    // Fixtures are written as F32: the scan predicts them as F16 serving.
    const svd = await scanCheckpoint((await generateFixture("llama-direct-svd", join(root, "svd"))).dir, { gpu: "sm90", gpuName: "h200", profile: profile ?? undefined, gacVersion: "test" });
    assert.equal(svd.model.serving_dtype, "F16");
    // With the G5 shape grid (m=1 and m=2048 GEMMs) in the profile, every call of the fixture is within reach, decode GEMMs included.
    const decodeGemms = svd.calls.filter((c) => c.kind === "gemm" && c.phase === "decode");
    assert.ok(decodeGemms.length > 0 && decodeGemms.every((c) => typeof c.predicted_ms === "number"));
    assert.equal(svd.summary.predicted_calls, svd.calls.filter((c) => c.predicted_ms !== null).length);
    assert.ok((svd.strategies.MINIMAL.predicted_speedup_pct ?? 0) > 0, `MINIMAL ${svd.strategies.MINIMAL.predicted_speedup_pct}`);
    assert.ok((svd.strategies.MINIMAL.predicted_ms ?? Infinity) < (svd.summary.predicted_ms ?? 0));
    const aligned = await scanCheckpoint((await generateFixture("llama-aligned", join(root, "aligned"))).dir, { gpu: "sm90", gpuName: "h200", profile: profile ?? undefined, gacVersion: "test" });
    for (const s of Object.values(aligned.strategies)) {
      assert.equal(s.predicted_speedup_pct, 0);
      assert.equal(s.predicted_ms, aligned.summary.predicted_ms);
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
