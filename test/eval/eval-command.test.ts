import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../../src/cli/main.js";
import { generateFixture } from "../../src/fixtures/index.js";
import { GacError } from "../../src/errors.js";
import { evalCheckpoints, type EvalReport } from "../../src/eval/eval-checkpoints.js";
import { cpuWindowsNll } from "../../src/eval/cpu-perplexity.js";
import { planWindows } from "../../src/eval/windows.js";
import { loadModel, openModel } from "../../src/verify/load-model.js";
import { captureIO } from "../helpers/capture-io.js";

const TEXT = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\nFirst Citizen:\nYou are all resolved rather to die than to famish?\n".repeat(4);

let root: string;
let textFile: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), "gac-eval-"));
  textFile = join(root, "text.txt");
  await writeFile(textFile, TEXT);
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function evalJson(args: string[]): Promise<EvalReport> {
  const io = captureIO(root);
  assert.equal(await runCli(["eval", ...args, "--text", textFile, "--context", "64", "--json"], io), 0, io.stderr);
  return JSON.parse(io.stdout) as EvalReport;
}

async function repaired(dir: string, name: string, strategy: string, scale: string): Promise<string> {
  const out = join(root, name);
  const io = captureIO(root);
  assert.equal(await runCli(["repair", dir, "--out", out, "--strategy", strategy, "--scale", scale], io), 0, io.stderr);
  return out;
}

test("gac eval --json reports loss = mean NLL over the scored targets and perplexity = exp(loss), schema gac-eval/1", async () => {
  const dir = (await generateFixture("llama-aligned", join(root, "aligned"), { seed: 3 })).dir;
  const r = await evalJson([dir, "--max-tokens", "100"]);
  assert.equal(r.schema, "gac-eval/1");
  assert.equal(r.text.bytes, Buffer.byteLength(TEXT));
  assert.equal(r.text.kind, "file");
  assert.equal(r.targets, 100);
  assert.deepEqual([r.context, r.stride, r.max_tokens, r.windows], [64, 64, 100, 2]);
  const [x] = r.results;
  assert.equal(x.precision, "float64");
  assert.equal(x.targets, 100);
  assert.ok(x.loss > 0 && Number.isFinite(x.loss));
  assert.equal(x.perplexity, Math.exp(x.loss));
  // Random weights over a 512-token vocabulary: near-uniform predictions, loss near ln(512).
  assert.ok(Math.abs(x.loss - Math.log(512)) < 1.5, `loss ${x.loss}`);
});

test("batching windows into one forward changes no bit of the NLL", async () => {
  const dir = (await generateFixture("qwen2-bias", join(root, "qwen2"), { seed: 4 })).dir;
  const model = await loadModel(await openModel(dir));
  const tokens = new Uint8Array(Buffer.from(TEXT));
  const plan = planWindows(tokens.length, 32, 24, 150);
  const one = cpuWindowsNll(model, tokens, plan.windows, { batchWindows: 1 });
  const many = cpuWindowsNll(model, tokens, plan.windows, { batchWindows: 8 });
  assert.equal(many.targets, 150);
  assert.ok(Object.is(one.nll, many.nll), `${one.nll} vs ${many.nll}`);
});

/**
 * The acceptance test of repair on perplexity: zero padding changes the NLL only by float64
 * rounding (summation over the same nonzero terms), a folded sqrt(D/d) in float32 weights by the
 * float32 rounding of q_proj (6e-8 relative per weight).
 */
for (const { kind, what } of [
  { kind: "llama-direct-svd", what: "head_dim 52 -> 56 (RoPE half-split, rope_theta^(D/d))" },
  { kind: "palu", what: "PaLU group ranks" },
  { kind: "asvd", what: "ASVD ranks" },
  { kind: "pruned-flap", what: "per-layer MLP widths and heads" },
] as const) {
  test(`a repair of ${kind} (${what}) changes the perplexity by float64 rounding only (logical), or by the fold's float32 rounding (fold)`, async () => {
    const dir = (await generateFixture(kind, join(root, kind), { seed: 5 })).dir;
    const logical = await repaired(dir, `${kind}-min-logical`, "MINIMAL", "logical");
    const fold = await repaired(dir, `${kind}-opt-fold`, "OPTIMAL", "fold");
    const r = await evalJson([dir, logical, fold, "--max-tokens", "128"]);
    const [o, l, f] = r.results;
    assert.deepEqual([l.scale_mode, f.scale_mode], ["logical", "fold"]);
    assert.ok(l.params > o.params && f.params >= l.params, "the repairs padded something");
    const rel = (x: number) => Math.abs(x - o.loss) / o.loss;
    assert.ok(rel(l.loss) <= 1e-13, `logical: loss ${o.loss} -> ${l.loss} (rel ${rel(l.loss)})`);
    assert.ok(rel(f.loss) <= (kind === "llama-direct-svd" ? 1e-6 : 1e-13), `fold: loss ${o.loss} -> ${f.loss} (rel ${rel(f.loss)})`);
  });
}

test("--random-weights on the CPU is refused with the reason (a real-size model in float64 takes hours)", async () => {
  const dir = (await generateFixture("llama-aligned", join(root, "aligned-random"), { seed: 1 })).dir;
  await assert.rejects(
    evalCheckpoints([dir], { cwd: root, textFile, device: "cpu", randomWeights: { seed: 0, strategy: "MINIMAL", scaleMode: "fold" } }),
    (e: unknown) => e instanceof GacError && /GPU only/.test(e.message),
  );
});

test("gac eval prints one row per checkpoint with the loss difference from the first in scientific notation", async () => {
  const dir = (await generateFixture("llama-direct-svd", join(root, "dsvd-text"), { seed: 2 })).dir;
  const logical = await repaired(dir, "dsvd-text-logical", "MINIMAL", "logical");
  const io = captureIO(root);
  assert.equal(await runCli(["eval", dir, logical, "--text", textFile, "--context", "32", "--max-tokens", "40"], io), 0, io.stderr);
  assert.match(io.stdout, /40 targets scored \(--max-tokens 40\)/);
  assert.match(io.stdout, /\(reference\)/);
  assert.match(io.stdout, /logical\s+float64\s+[\d.]+\s+[\d.]+\s+-?\d\.\d{3}e[+-]\d+/);
});
