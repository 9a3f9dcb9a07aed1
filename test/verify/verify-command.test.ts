import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../../src/cli/main.js";
import { verifyCommand } from "../../src/cli/commands/verify.js";
import { GacError } from "../../src/errors.js";
import { renderVerifyReport } from "../../src/verify/render-report.js";
import type { VerifyReport } from "../../src/verify/verify-checkpoints.js";
import { padHeadDim, tinyModel } from "./tiny-model.js";
import { writeTinyCheckpoint } from "./write-tiny.js";
import { captureIO } from "../helpers/capture-io.js";

const stats = { count: 64, maxAbsDiff: 0, maxRelDiff: 0, meanAbsDiff: 0, maxAbsOriginal: 3.25, argmaxAgree: 2, rows: 2 };
const summary = { dir: "/m/a", family: "dense", modelType: "llama", dtype: "F32", params: 1234567, headDim: 100, numLayers: 2 } as const;

test("the report prints every figure in scientific notation, zeros included (layout pinned)", () => {
  const report: VerifyReport = {
    original: summary,
    repaired: { ...summary, dir: "/m/b", params: 1300000, headDim: 104 },
    mode: "logits",
    scale: { manifest: "/m/b/gac-repair.json", mode: "fold" },
    seed: 0,
    tokens: 2,
    tolerance: 1e-5,
    toleranceReason: "float32 weights",
    stats,
    pass: true,
  };
  assert.equal(
    renderVerifyReport(report),
    [
      "original      /m/a (llama, dense, F32, 1,234,567 params, head_dim 100)",
      "repaired      /m/b (llama, dense, F32, 1,300,000 params, head_dim 104)",
      "compared      logits of 2 seeded random token ids (seed 0)",
      "scale         fold (/m/b/gac-repair.json): sqrt(D/d) folded into q_proj, head_dim^-0.5 on both sides; the folded q weights were rounded once to F32, part of any difference below (--scale logical keeps them bit-exact)",
      "max rel diff  0.000e+0  (max |a-b| / max |a|, a = original; max |a| = 3.250e+0)",
      "max |diff|    0.000e+0",
      "mean |diff|   0.000e+0",
      "argmax agree  2/2 positions",
      "tolerance     1.000e-5 relative: float32 weights",
      "result        PASS",
      "",
    ].join("\n"),
  );
});

test("gac verify prints the figures and exits 0 on a correct repair; --json gives the report", async () => {
  const root = await mkdtemp(join(tmpdir(), "gac-verify-cli-"));
  try {
    const m = tinyModel({ headDim: 6, seed: 5 });
    await writeTinyCheckpoint(m, join(root, "a"), "F32");
    await writeTinyCheckpoint(padHeadDim(m, { to: 8, layout: "halves", foldScale: true, adjustTheta: true }), join(root, "b"), "F32", { scaleMode: "fold" });
    const io = captureIO();
    assert.equal(await runCli(["verify", join(root, "a"), join(root, "b"), "--tokens", "4"], io, [verifyCommand]), 0);
    assert.match(io.stdout, /max rel diff {2}\d\.\d{3}e[-+]\d+/);
    assert.match(io.stdout, /result {8}PASS/);
    const json = captureIO();
    await runCli(["verify", join(root, "a"), join(root, "b"), "--json", "--seed", "9"], json, [verifyCommand]);
    const parsed = JSON.parse(json.stdout) as VerifyReport;
    assert.equal(parsed.seed, 9);
    assert.equal(parsed.pass, true);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test("gac verify fails with VERIFY_FAILED carrying the figures past the tolerance, after printing the report", async () => {
  const root = await mkdtemp(join(tmpdir(), "gac-verify-cli-"));
  try {
    const m = tinyModel({ headDim: 6, seed: 5 });
    await writeTinyCheckpoint(m, join(root, "a"), "F32");
    await writeTinyCheckpoint(padHeadDim(m, { to: 8, layout: "halves", foldScale: true, adjustTheta: false }), join(root, "b"), "F32", { scaleMode: "fold" });
    const io = captureIO();
    await assert.rejects(
      runCli(["verify", join(root, "a"), join(root, "b"), "--tokens", "4"], io, [verifyCommand]),
      (e: unknown) => e instanceof GacError && e.code === "VERIFY_FAILED" && /max rel diff \d\.\d{3}e[-+]\d+, .*argmax agree \d\/4/.test(e.message),
    );
    assert.match(io.stdout, /result {8}FAIL/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test("a non-numeric --tokens is a BAD_ARGS error", async () => {
  await assert.rejects(
    runCli(["verify", "a", "b", "--tokens", "many"], captureIO(), [verifyCommand]),
    (e: unknown) => e instanceof GacError && e.code === "BAD_ARGS" && /--tokens expects an integer/.test(e.message),
  );
});

test("gac verify draws a progress line with ETA on a terminal (logits: the two forwards; layerwise: each layer) and none in a pipe", async () => {
  const root = await mkdtemp(join(tmpdir(), "gac-verify-progress-"));
  try {
    const m = tinyModel({ headDim: 6, seed: 5 });
    await writeTinyCheckpoint(m, join(root, "a"), "F32");
    await writeTinyCheckpoint(padHeadDim(m, { to: 8, layout: "halves", foldScale: true, adjustTheta: true }), join(root, "b"), "F32", { scaleMode: "fold" });
    const tty = captureIO();
    tty.errIsTTY = true;
    assert.equal(await runCli(["verify", join(root, "a"), join(root, "b"), "--tokens", "4"], tty, [verifyCommand]), 0);
    assert.match(tty.stderr, /\] 1\/2 50% {2}ETA \d+s {2}repaired forward/);
    assert.match(tty.stderr, /\] 2\/2 100% {2}ETA 0s/);
    const layers = captureIO();
    layers.errIsTTY = true;
    assert.equal(await runCli(["verify", join(root, "a"), join(root, "b"), "--tokens", "4", "--layerwise"], layers, [verifyCommand]), 0);
    assert.match(layers.stderr, /\] 1\/\d+ \d+% {2}ETA \d+s {2}layer 1\//);
    assert.doesNotMatch(layers.stderr, /max rel diff/, "on a terminal the progress line replaces the per-layer lines");
    const pipe = captureIO();
    assert.equal(await runCli(["verify", join(root, "a"), join(root, "b"), "--tokens", "4", "--layerwise"], pipe, [verifyCommand]), 0);
    assert.doesNotMatch(pipe.stderr, /ETA/);
    assert.match(pipe.stderr, /layer 1\/\d+: max rel diff/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
