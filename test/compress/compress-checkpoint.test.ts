import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { openCheckpoint } from "../../src/checkpoint/open.js";
import { compressCheckpoint, COMPRESS_MANIFEST_FILE, type CompressOptions } from "../../src/compress/compress-checkpoint.js";
import { COMPRESS_METHODS, newCompressCache } from "../../src/compress/types.js";
import { loadModelSpec } from "../../src/model/load-model-spec.js";
import { repairCheckpoint } from "../../src/repair/repair-checkpoint.js";
import { scanCheckpoint } from "../../src/scan/scan-checkpoint.js";
import { verifyCheckpoints } from "../../src/verify/verify-checkpoints.js";
import { tinyModel } from "../verify/tiny-model.js";
import { FAMILY, meanNll, relativeLogitDiff } from "./helpers.js";
import { writeTinyCheckpoint } from "../verify/write-tiny.js";

const TEXT = "To be, or not to be, that is the question: whether 'tis nobler in the mind to suffer the slings and arrows of outrageous fortune, or to take arms against a sea of troubles. ".repeat(2);

describe("gac compress on a tiny byte-level model", () => {
  let dir: string;
  let dense: string;
  let calibration: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gac-compress-"));
    dense = join(dir, "dense");
    calibration = join(dir, "calibration.txt");
    await writeFile(calibration, TEXT);
    const m = tinyModel({ hidden: 32, vocab: 256, layers: 2, heads: 4, kvHeads: 2, headDim: 8, intermediate: 40, seed: 3 });
    await writeTinyCheckpoint(m, dense, "F32");
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const run = (method: (typeof COMPRESS_METHODS)[number], name: string, extra: Partial<CompressOptions> = {}) =>
    compressCheckpoint(dense, join(dir, name), {
      method,
      target: { kind: "budget", fraction: 0.5 },
      align: { kind: "none" },
      calibrationPath: calibration,
      calibration: { seqLen: 32, maxTokens: 128 },
      ...extra,
    });

  for (const method of COMPRESS_METHODS) {
    it(`${method} at full size computes the dense model's logits (gac verify passes)`, async () => {
      const report = await run(method, `${method}-full`, { target: { kind: "energy", fraction: 1 } });
      assert.ok(report.decisions.every((d) => d.chosen === d.full));
      if (method === "palu") {
        // gac verify compares a checkpoint with its repair (same model_type); PaLU renames it palullama.
        const diff = await relativeLogitDiff(dense, join(dir, `${method}-full`), TEXT);
        assert.ok(diff < 1e-5, `palu: max rel diff ${diff}`);
        return;
      }
      const v = await verifyCheckpoints(dense, join(dir, `${method}-full`));
      assert.ok(v.pass, `${method}: max rel diff ${v.stats.maxRelDiff}`);
      assert.ok(v.stats.maxRelDiff < 1e-5);
    });

    it(`${method} at budget 0.5 writes a checkpoint that scans as its family, repairs and evaluates`, async () => {
      const out = join(dir, `${method}-half`);
      const report = await run(method, `${method}-half`);
      assert.ok(report.compressed_params_after < report.compressed_params_before);
      const scan = await scanCheckpoint(out);
      assert.equal(scan.model.family, FAMILY[method]);
      const manifest = JSON.parse(await readFile(join(out, COMPRESS_MANIFEST_FILE), "utf8"));
      assert.equal(manifest.schema, "gac-compress/1");
      assert.equal(manifest.decisions.length, report.decisions.length);
      const repaired = await repairCheckpoint(out, join(dir, `${method}-half-repaired`), { strategy: "MINIMAL" });
      const v = await verifyCheckpoints(out, repaired.outDir);
      assert.ok(v.pass, `${method}: repair changed the function by ${v.stats.maxRelDiff}`);
      const nll = await meanNll(out, TEXT);
      assert.ok(Number.isFinite(nll) && nll > 0);
    });
  }

  it("svd-pairs with calibration is at least as accurate on the calibration text as plain SVD at the same ranks", async () => {
    await run("svd-pairs", "whitened", { calibration: { seqLen: 64, maxTokens: 64 } });
    await run("svd-pairs", "plain", { calibrationPath: undefined });
    const dense0 = await meanNll(dense, TEXT);
    const whitened = await meanNll(join(dir, "whitened"), TEXT);
    const plain = await meanNll(join(dir, "plain"), TEXT);
    assert.ok(Math.abs(whitened - dense0) <= Math.abs(plain - dense0), `whitened ${whitened}, plain ${plain}, dense ${dense0}`);
  });

  it("rounding up with --align 8 keeps more real singular vectors and so drops less energy than rounding down", async () => {
    const up = await run("asvd", "up", { align: { kind: "multiple", of: 8, round: "up" } });
    const down = await run("asvd", "down", { align: { kind: "multiple", of: 8, round: "down" } });
    for (let i = 0; i < up.decisions.length; i++) {
      const [u, d] = [up.decisions[i], down.decisions[i]];
      assert.ok(u.chosen % 8 === 0 || u.chosen === u.full);
      assert.ok(d.chosen % 8 === 0);
      assert.ok(u.kept_energy_chosen >= d.kept_energy_chosen);
    }
    const ckpt = await openCheckpoint(join(dir, "up"));
    assert.deepEqual(ckpt.tensors.get("model.layers.0.self_attn.q_proj.BLinear.weight")?.shape[0], up.decisions[0].chosen);
    assert.equal((ckpt.config.truncation_ranks as Record<string, number>)["model.layers.0.self_attn.q_proj"], up.decisions[0].chosen);
  });

  it("--sizes-only writes a sparse checkpoint with the same shapes as the budget run", async () => {
    const full = await run("svd-pairs", "shapes-full", { calibrationPath: undefined, align: { kind: "multiple", of: 8, round: "nearest" } });
    const sparse = await run("svd-pairs", "shapes-sparse", { calibrationPath: undefined, sizesOnly: true, align: { kind: "multiple", of: 8, round: "nearest" } });
    assert.deepEqual(
      sparse.decisions.map((d) => d.chosen),
      full.decisions.map((d) => d.chosen),
    );
    const [a, b] = await Promise.all([openCheckpoint(join(dir, "shapes-full")), openCheckpoint(join(dir, "shapes-sparse"))]);
    assert.deepEqual(
      [...b.tensors.values()].map((t) => [t.name, t.shape]),
      [...a.tensors.values()].map((t) => [t.name, t.shape]),
    );
    assert.equal(b.files[0].metadata.gac_fixture, "sparse");
  });

  it("prune-mlp keeps FLAP's layout: per-layer widths from the shapes, a compensation bias on down_proj", async () => {
    const report = await run("prune-mlp", "flap");
    const spec = loadModelSpec(await openCheckpoint(join(dir, "flap")));
    spec.layers.forEach((l, i) => {
      assert.equal(l.mlp.intermediate, report.decisions[i].chosen);
      assert.ok(l.mlp.down.kind === "dense" && l.mlp.down.weight.bias !== undefined);
    });
    assert.equal(
      report.decisions.reduce((s, d) => s + d.chosen, 0),
      Math.floor(0.5 * 80),
    );
  });

  it("a cache shared across runs (calibration, SVDs) writes the same bytes as fresh runs", async () => {
    const cache = newCompressCache();
    await run("svd-pairs", "cached-warm", { cache, align: { kind: "multiple", of: 8, round: "up" } });
    await run("svd-pairs", "cached", { cache });
    await run("svd-pairs", "fresh");
    const [a, b] = await Promise.all([openCheckpoint(join(dir, "cached")), openCheckpoint(join(dir, "fresh"))]);
    assert.deepEqual(await readFile(a.files[0].path), await readFile(b.files[0].path));
    assert.equal(cache.stats.size, 1);
  });

  it("palu with one head per group writes PaLU's layout: VT [sum r_g, in], one U.{g} [head_dim, r_g] per KV head, head_wise_ranks matching the shapes", async () => {
    const report = await run("palu", "palu-gs1", { headGroupSize: 1 });
    const ckpt = await openCheckpoint(join(dir, "palu-gs1"));
    assert.equal(ckpt.config.model_type, "palullama");
    assert.deepEqual(ckpt.config.architectures, ["PaluLlamaForCausalLM"]);
    const ranks = ckpt.config.head_wise_ranks as Record<string, number[]>;
    for (const proj of ["k_proj", "v_proj"]) {
      const base = `model.layers.1.self_attn.${proj}`;
      assert.equal(ranks[base].length, 2);
      assert.deepEqual(ckpt.tensors.get(`${base}.VT.weight`)?.shape, [ranks[base][0] + ranks[base][1], 32]);
      ranks[base].forEach((r, g) => assert.deepEqual(ckpt.tensors.get(`${base}.U.${g}.weight`)?.shape, [8, r]));
      assert.equal(ckpt.tensors.has(`${base}.weight`), false);
    }
    // Budget 0.5 of [16, 32]: floor(0.5 * 16 * 32 / (32 + 8)) = 6 units per module, split by energy.
    for (const [name, r] of Object.entries(ranks)) assert.equal(r[0] + r[1], 6, name);
    assert.equal(report.decisions.length, 2 * 2 * 2);
    assert.equal(ckpt.tensors.has("model.layers.0.self_attn.q_proj.weight"), true);
    assert.equal((await scanCheckpoint(join(dir, "palu-gs1"))).model.family, "palu");
  });

  it("palu --sizes-only deals each module's budget rank round-robin over its groups (no singular values to rank by)", async () => {
    const report = await run("palu", "palu-sparse", { headGroupSize: 1, calibrationPath: undefined, sizesOnly: true });
    const ckpt = await openCheckpoint(join(dir, "palu-sparse"));
    assert.equal(ckpt.files[0].metadata.gac_fixture, "sparse");
    assert.deepEqual((ckpt.config.head_wise_ranks as Record<string, number[]>)["model.layers.0.self_attn.k_proj"], [3, 3]);
    assert.equal(report.decisions.length, 8);
  });

  it("palu refuses a head group size that does not divide the KV heads, naming the divisor rule", async () => {
    await assert.rejects(run("palu", "palu-gs3", { headGroupSize: 3 }), /--head-group-size 3 does not divide the model's 2 KV heads/);
  });

  it("refuses a compressed input with a one-line reason", async () => {
    await assert.rejects(
      compressCheckpoint(join(dir, "svd-pairs-half"), join(dir, "again"), { method: "asvd", target: { kind: "budget", fraction: 0.5 }, align: { kind: "none" } }),
      /svdllm checkpoint: gac compress starts from a dense model/,
    );
  });
});
