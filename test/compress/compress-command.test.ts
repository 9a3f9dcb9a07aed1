import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runCli } from "../../src/cli/main.js";
import { captureIO } from "../helpers/capture-io.js";
import { tinyModel } from "../verify/tiny-model.js";
import { writeTinyCheckpoint } from "../verify/write-tiny.js";

describe("gac compress (CLI)", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gac-compress-cli-"));
    await writeTinyCheckpoint(tinyModel({ hidden: 24, vocab: 256, layers: 1, heads: 2, kvHeads: 1, headDim: 12, intermediate: 36, seed: 9 }), join(dir, "dense"), "F32");
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("prints gac-compress/1 JSON with every decision rounded to a multiple of 8 under --align 8", async () => {
    const io = captureIO(dir);
    assert.equal(await runCli(["compress", "dense", "--out", "pairs", "--method", "svd-pairs", "--budget", "0.5", "--align", "8", "--json"], io), 0);
    const report = JSON.parse(io.stdout);
    assert.equal(report.schema, "gac-compress/1");
    assert.equal(report.decisions.length, 7);
    for (const d of report.decisions) assert.ok(d.chosen % 8 === 0 && "kept_energy_chosen" in d && "why" in d, JSON.stringify(d));
  });

  it("prints the notes and one table row per size with the reason", async () => {
    const io = captureIO(dir);
    assert.equal(await runCli(["compress", "dense", "--out", "heads", "--method", "svd-heads", "--budget", "0.5"], io), 0);
    assert.match(io.stdout, /RoPE: pairs \d+\.\.\d+ of 6 kept/);
    assert.match(io.stdout, /self_attn\.head_dim\s+12\s+6\s+6\s+no .* as the method picks it/);
  });

  for (const [args, message] of [
    [["--method", "svd-pairs", "--budget", "0.5", "--energy", "0.9"], /not both/],
    [["--method", "tucker", "--budget", "0.5"], /--method expects one of svd-heads, svd-pairs, asvd, palu, prune-mlp, got 'tucker'/],
    [["--method", "asvd", "--budget", "0.5", "--align", "12"], /--align expects none, 8, 16 or profile, got '12'/],
    [["--method", "asvd", "--budget", "1.5"], /--budget expects a fraction in \(0, 1\], got '1.5'/],
    [["--method", "asvd"], /needs --budget/],
  ] as const) {
    it(`refuses ${args.join(" ")} with one line`, async () => {
      await assert.rejects(runCli(["compress", "dense", "--out", "x", ...args], captureIO(dir)), message);
    });
  }
});
