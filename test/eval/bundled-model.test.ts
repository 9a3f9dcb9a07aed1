/**
 * The bundled trained model (assets/models/shakespeare-byte): its tokenizer files are the byte-level
 * tokenizer gac writes, and `gac eval` on the CPU reproduces the training log's held-out loss. Its
 * compressed and repaired variants (every method, MINIMAL/OPTIMAL x fold/logical, gac verify and
 * gac eval on each) are tested in test/compress/trained-model.test.ts. Slow: ~1 minute of one core
 * for the 16,384-target evaluation.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runCli } from "../../src/cli/main.js";
import { byteTokenizerTexts } from "../../bench/write-byte-tokenizer.js";
import { heldOutStart } from "../../src/eval/text-source.js";
import type { EvalReport } from "../../src/eval/eval-checkpoints.js";
import { captureIO } from "../helpers/capture-io.js";

const MODEL = fileURLToPath(new URL("../../assets/models/shakespeare-byte", import.meta.url));
const TEXT = fileURLToPath(new URL("../../assets/data/tinyshakespeare.txt", import.meta.url));
const present = await stat(join(MODEL, "model.safetensors")).then(
  () => true,
  () => false,
);
const noModel = present ? false : "assets/models/shakespeare-byte is not committed on this branch";

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), "gac-bundled-"));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function cli(args: string[]): Promise<string> {
  const io = captureIO(root);
  assert.equal(await runCli(args, io), 0, io.stderr);
  return io.stdout;
}

async function evalJson(dirs: string[], maxTokens: number): Promise<EvalReport> {
  return JSON.parse(await cli(["eval", ...dirs, "--max-tokens", String(maxTokens), "--json"])) as EvalReport;
}

test("the bundled model's tokenizer files are exactly the byte-level tokenizer gac writes", { skip: noModel }, async () => {
  const want = await byteTokenizerTexts(MODEL);
  assert.equal(await readFile(join(MODEL, "tokenizer.json"), "utf8"), want.tokenizer);
  assert.equal(await readFile(join(MODEL, "tokenizer_config.json"), "utf8"), want.config);
});

test("gac eval on the CPU reproduces the training log's held-out loss over the first 64 windows (16,384 targets)", { skip: noModel }, async () => {
  // The number a stock loader reproduces: the log's "reloaded with AutoModelForCausalLM" line
  // (its "stored" line used a RoPE inv_freq cast to BF16 with the weights; see the model's README).
  const log = await readFile(join(MODEL, "train-log.txt"), "utf8");
  const m = /reloaded with AutoModelForCausalLM: first 64 windows fp64 ([\d.]+)/.exec(log);
  assert.ok(m, "the training log prints the reloaded model's first-64-window fp64 loss");
  const logged = Number(m[1]);
  const r = await evalJson([MODEL], 16_384);
  assert.equal(r.text.byte_offset, heldOutStart((await stat(TEXT)).size));
  assert.equal(r.windows, 64);
  const [x] = r.results;
  assert.equal(x.tokenizer, "bytes");
  // The log prints 6 decimals; transformers' float64 run keeps RoPE frequencies in float32 (~1e-7).
  assert.ok(Math.abs(x.loss - logged) <= 2e-6, `gac eval ${x.loss} vs training log ${logged}`);
});
