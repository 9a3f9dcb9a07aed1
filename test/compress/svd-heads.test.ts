import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { openCheckpoint } from "../../src/checkpoint/open.js";
import { compressCheckpoint } from "../../src/compress/compress-checkpoint.js";
import { repairCheckpoint } from "../../src/repair/repair-checkpoint.js";
import { verifyCheckpoints } from "../../src/verify/verify-checkpoints.js";
import { tinyModel } from "../verify/tiny-model.js";
import { writeTinyCheckpoint } from "../verify/write-tiny.js";

const HEAD_DIM = 8;
const THETA = 10000;

describe("svd-heads keeps RoPE exact", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gac-svd-heads-"));
    // q/k carry nothing in pairs 0 and 1 (dims 0, 1, 4, 5 of every head) and each value head has
    // rank 4: a head_dim of 4 loses nothing, but only if pairs 2-3 are kept whole and turn at
    // their original frequencies.
    const m = tinyModel({ hidden: 32, vocab: 256, layers: 2, heads: 4, kvHeads: 2, headDim: HEAD_DIM, intermediate: 24, theta: THETA, seed: 5 });
    for (const l of m.spec.layers) {
      for (const [lin, heads] of [
        [l.attn.q, 4],
        [l.attn.k, 2],
      ] as const) {
        if (lin.kind !== "dense") throw new Error("dense expected");
        const w = m.weights.get(lin.weight.tensor)!;
        for (let h = 0; h < heads; h++) for (const dim of [0, 1, 4, 5]) w.fill(0, (h * HEAD_DIM + dim) * 32, (h * HEAD_DIM + dim + 1) * 32);
      }
      if (l.attn.v.kind !== "dense") throw new Error("dense expected");
      const v = m.weights.get(l.attn.v.weight.tensor)!;
      for (let h = 0; h < 2; h++) for (let dim = 4; dim < 8; dim++) v.fill(0, (h * HEAD_DIM + dim) * 32, (h * HEAD_DIM + dim + 1) * 32);
    }
    await writeTinyCheckpoint(m, join(dir, "dense"), "F32");
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("keeps the highest-frequency pairs by default: here that loses the pairs that carry q.k and the logits change", async () => {
    const report = await compressCheckpoint(join(dir, "dense"), join(dir, "prefix"), { method: "svd-heads", target: { kind: "budget", fraction: 0.5 }, align: { kind: "none" } });
    assert.match(report.notes[0], /pairs 0\.\.1 of 4 kept/);
    const ckpt = await openCheckpoint(join(dir, "prefix"));
    assert.equal(ckpt.config.rope_scaling, undefined);
    const v = await verifyCheckpoints(join(dir, "dense"), join(dir, "prefix"));
    assert.equal(v.pass, false);
  });

  it("--rope-window mass keeps the window of pairs with the score mass, with rope_theta^(d'/d) and a linear factor for the window start", async () => {
    const report = await compressCheckpoint(join(dir, "dense"), join(dir, "heads"), { method: "svd-heads", target: { kind: "budget", fraction: 0.5 }, align: { kind: "none" }, ropeWindow: "mass" });
    assert.equal(report.decisions[0].chosen, 4);
    assert.match(report.notes[0], /pairs 2\.\.3 of 4 kept/);
    const ckpt = await openCheckpoint(join(dir, "heads"));
    assert.equal(ckpt.config.head_dim, 4);
    assert.ok(Math.abs(Number(ckpt.config.rope_theta) - Math.sqrt(THETA)) < 1e-9);
    const scaling = ckpt.config.rope_scaling as { rope_type: string; factor: number };
    assert.equal(scaling.rope_type, "linear");
    assert.ok(Math.abs(scaling.factor - Math.pow(THETA, (2 * 2) / HEAD_DIM)) < 1e-9);
    assert.deepEqual(ckpt.tensors.get("model.layers.0.self_attn.q_proj.weight")?.shape, [16, 32]);
    const v = await verifyCheckpoints(join(dir, "dense"), join(dir, "heads"));
    assert.ok(v.pass, `max rel diff ${v.stats.maxRelDiff}`);
  });

  it("a head_dim 6 output with a shifted window repairs to 8 and still computes the same function", async () => {
    const report = await compressCheckpoint(join(dir, "dense"), join(dir, "heads6"), { method: "svd-heads", target: { kind: "budget", fraction: 0.75 }, align: { kind: "none" }, ropeWindow: "mass" });
    assert.equal(report.decisions[0].chosen, 6);
    const repaired = await repairCheckpoint(join(dir, "heads6"), join(dir, "heads6-repaired"), { strategy: "MINIMAL" });
    assert.equal((await openCheckpoint(repaired.outDir)).config.head_dim, 8);
    const v = await verifyCheckpoints(join(dir, "heads6"), repaired.outDir);
    assert.ok(v.pass, `max rel diff ${v.stats.maxRelDiff}`);
  });
});
