import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { verifyCheckpoints } from "../../src/verify/verify-checkpoints.js";
import { useLayerwise } from "../../src/verify/layerwise.js";
import { GacError } from "../../src/errors.js";
import { padHeadDim, tinyModel } from "./tiny-model.js";
import { writeTinyCheckpoint } from "./write-tiny.js";

async function withDirs(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), "gac-verify-"));
  try {
    await fn(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

const base = tinyModel({ headDim: 6, qkvBias: true, seed: 11 });

test("a float32 checkpoint padded per half with folded scale passes within the float32 tolerance, figures nonzero but tiny", () =>
  withDirs(async (root) => {
    await writeTinyCheckpoint(base, join(root, "a"), "F32");
    await writeTinyCheckpoint(padHeadDim(base, { to: 8, layout: "halves", foldScale: true, adjustTheta: true }), join(root, "b"), "F32", { scaleMode: "fold" });
    const r = await verifyCheckpoints(join(root, "a"), join(root, "b"), { tokens: 8, seed: 3 });
    assert.equal(r.mode, "logits");
    assert.equal(r.scale.mode, "fold");
    assert.equal(r.tolerance, 1e-5);
    assert.equal(r.original.dtype, "F32");
    assert.equal(r.repaired.headDim, 8);
    assert.ok(r.stats.maxRelDiff > 0 && r.stats.maxRelDiff < 1e-6, `max rel diff ${r.stats.maxRelDiff}`);
    assert.equal(r.stats.argmaxAgree, 8);
    assert.equal(r.pass, true);
  }));

test("the logical scale recorded in gac-repair.json is used for the repaired model, and without it the same weights fail", () =>
  withDirs(async (root) => {
    const padded = padHeadDim(base, { to: 8, layout: "halves", foldScale: false, adjustTheta: true });
    await writeTinyCheckpoint(base, join(root, "a"), "F32");
    await writeTinyCheckpoint(padded, join(root, "logical"), "F32", { scaleMode: "logical", logical: { attention_scale: 6 ** -0.5, dims: {} } });
    await writeTinyCheckpoint(padded, join(root, "bare"), "F32");
    const ok = await verifyCheckpoints(join(root, "a"), join(root, "logical"), { tokens: 6 });
    assert.equal(ok.scale.mode, "logical");
    assert.equal(ok.scale.attentionScale, 6 ** -0.5);
    assert.ok(ok.stats.maxRelDiff < 1e-12, `${ok.stats.maxRelDiff}`);
    assert.equal(ok.pass, true);
    const bare = await verifyCheckpoints(join(root, "a"), join(root, "bare"), { tokens: 6 });
    assert.equal(bare.scale.mode, null);
    assert.equal(bare.pass, false);
    assert.ok(bare.stats.maxRelDiff > 1e-5);
  }));

test("layer-by-layer mode reports each layer and catches a wrong padding in every layer", () =>
  withDirs(async (root) => {
    await writeTinyCheckpoint(base, join(root, "a"), "F32");
    await writeTinyCheckpoint(padHeadDim(base, { to: 8, layout: "halves", foldScale: true, adjustTheta: true }), join(root, "good"), "F32", { scaleMode: "fold" });
    await writeTinyCheckpoint(padHeadDim(base, { to: 8, layout: "end", foldScale: true, adjustTheta: true }), join(root, "bad"), "F32", { scaleMode: "fold" });
    const seen: number[] = [];
    const good = await verifyCheckpoints(join(root, "a"), join(root, "good"), { layerwise: true, tokens: 5, onLayer: (d) => seen.push(d.layer) });
    assert.equal(good.mode, "layerwise");
    // The embeddings (-1), each decoder layer, then the logits of the last layer's output (numLayers).
    assert.deepEqual(seen, [-1, 0, 1, 2]);
    assert.deepEqual(
      good.layers?.map((l) => l.part ?? "layer"),
      ["embeddings", "layer", "layer", "logits"],
    );
    assert.equal(good.pass, true);
    const bad = await verifyCheckpoints(join(root, "a"), join(root, "bad"), { layerwise: true, tokens: 5 });
    assert.equal(bad.pass, false);
    const decoder = bad.layers!.filter((l) => l.part === undefined);
    assert.ok(
      decoder.every((l) => l.stats.maxRelDiff > 1e-3),
      JSON.stringify(decoder.map((l) => l.stats.maxRelDiff)),
    );
  }));

test("16-bit weights get the 1e-2 default tolerance with the folded-scale rounding explanation", () =>
  withDirs(async (root) => {
    await writeTinyCheckpoint(base, join(root, "a"), "BF16");
    await writeTinyCheckpoint(padHeadDim(base, { to: 8, layout: "halves", foldScale: true, adjustTheta: true }), join(root, "b"), "BF16", { scaleMode: "fold" });
    const r = await verifyCheckpoints(join(root, "a"), join(root, "b"), { tokens: 8 });
    assert.equal(r.tolerance, 1e-2);
    assert.match(r.toleranceReason, /folded-scale rounding/);
    assert.ok(r.stats.maxRelDiff > 0, "bfloat16 rounding of the folded q weights shows up");
    assert.ok(r.stats.maxRelDiff < 1e-2, `${r.stats.maxRelDiff}`);
  }));

test("an explicit tolerance replaces the default, and bad options are BAD_ARGS errors", () =>
  withDirs(async (root) => {
    await writeTinyCheckpoint(base, join(root, "a"), "BF16");
    await writeTinyCheckpoint(padHeadDim(base, { to: 8, layout: "halves", foldScale: true, adjustTheta: true }), join(root, "b"), "BF16", { scaleMode: "fold" });
    const r = await verifyCheckpoints(join(root, "a"), join(root, "b"), { tokens: 8, tolerance: 1e-9 });
    assert.equal(r.pass, false);
    assert.equal(r.toleranceReason, "given with --tolerance");
    await assert.rejects(verifyCheckpoints(join(root, "a"), join(root, "b"), { tokens: 0 }), (e: unknown) => e instanceof GacError && e.code === "BAD_ARGS");
  }));

test("a manifest without a valid scaleMode is a BAD_MANIFEST error", () =>
  withDirs(async (root) => {
    await writeTinyCheckpoint(base, join(root, "a"), "F32");
    await writeTinyCheckpoint(base, join(root, "b"), "F32", { scaleMode: "sideways" });
    await assert.rejects(verifyCheckpoints(join(root, "a"), join(root, "b")), (e: unknown) => e instanceof GacError && e.code === "BAD_MANIFEST" && /sideways/.test(e.message));
  }));

test("layer-by-layer mode is chosen above 200M parameters or when forced", () => {
  assert.equal(useLayerwise(false, 200_000_000), false);
  assert.equal(useLayerwise(false, 200_000_001), true);
  assert.equal(useLayerwise(true, 10), true);
});
