import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { verifyCheckpoints } from "../../src/verify/verify-checkpoints.js";
import { padHeadDim, tinyModel, type TinyModel } from "./tiny-model.js";
import { writeTinyCheckpoint } from "./write-tiny.js";

const base = tinyModel({ headDim: 6, qkvBias: true, seed: 5 });
const repaired = padHeadDim(base, { to: 8, layout: "halves", foldScale: true, adjustTheta: true });

/** The repaired model with one tensor scaled by 1.5 (the corruption the fuzzing campaign planted). */
function scaled(m: TinyModel, name: string): TinyModel {
  const weights = new Map(m.weights);
  weights.set(
    name,
    weights.get(name)!.map((v) => v * 1.5),
  );
  return { ...m, weights };
}

test("a repaired checkpoint with any one tensor scaled by 1.5 fails verify in logits mode and in layerwise mode", async () => {
  const root = await mkdtemp(join(tmpdir(), "gac-corrupt-"));
  try {
    await writeTinyCheckpoint(base, join(root, "a"), "F32");
    await writeTinyCheckpoint(repaired, join(root, "good"), "F32", { scaleMode: "fold" });
    // The uncorrupted repair passes both ways: the failures below are the corruption's.
    for (const layerwise of [false, true]) assert.equal((await verifyCheckpoints(join(root, "a"), join(root, "good"), { tokens: 4, layerwise })).pass, true);
    const names = [...repaired.weights.keys()];
    for (const name of ["model.embed_tokens.weight", "lm_head.weight", "model.norm.weight"]) assert.ok(names.includes(name), name);
    for (const [i, name] of names.entries()) {
      const dir = join(root, `bad-${i}`);
      await writeTinyCheckpoint(scaled(repaired, name), dir, "F32", { scaleMode: "fold" });
      for (const layerwise of [false, true]) {
        const r = await verifyCheckpoints(join(root, "a"), dir, { tokens: 4, layerwise });
        assert.equal(r.pass, false, `${name} scaled by 1.5 passed in ${r.mode} mode (max rel diff ${r.stats.maxRelDiff})`);
      }
      await rm(dir, { recursive: true, force: true });
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
