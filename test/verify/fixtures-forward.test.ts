import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FIXTURE_KINDS, generateFixture } from "../../src/fixtures/index.js";
import { forwardLogits } from "../../src/verify/forward.js";
import { loadModel, openModel } from "../../src/verify/load-model.js";
import { randomTokenIds } from "../../src/util/prng.js";

for (const { kind } of FIXTURE_KINDS) {
  test(`the reference forward runs on the ${kind} fixture and gives finite, non-constant logits`, async () => {
    const root = await mkdtemp(join(tmpdir(), "gac-verify-fx-"));
    try {
      const info = await generateFixture(kind, join(root, kind), { seed: 1, dtype: "F32" });
      const handle = await openModel(info.dir);
      const tokens = randomTokenIds(2, 5, handle.spec.vocabSize);
      const logits = forwardLogits(await loadModel(handle), tokens);
      assert.equal(logits.length, 5 * handle.spec.vocabSize);
      assert.ok(logits.every(Number.isFinite), "every logit is finite");
      assert.ok(new Set(logits).size > logits.length / 2, "logits vary");
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
}
