import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../../src/cli/main.js";
import { rowBlocks } from "../../src/gguf/quant-blocks.js";
import { scanGguf, type GgufScanReport } from "../../src/gguf/scan-gguf.js";
import { GacError } from "../../src/errors.js";
import { captureIO } from "../helpers/capture-io.js";
import { writeGguf } from "../helpers/write-gguf.js";

const F16 = 1;
let root: string;
let file: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), "gac-gguf-"));
  file = join(root, "model-f16.gguf");
  // head_dim 4000/40 = 100: not a llama.cpp FA head size. Rows (ne[0]): 4000 misses 256 only; 11000 misses 256 and 32.
  await writeGguf(
    file,
    [
      { key: "general.architecture", value: "llama" },
      { key: "llama.embedding_length", u32: 4000 },
      { key: "llama.attention.head_count", u32: 40 },
    ],
    [
      { name: "token_embd.weight", shape: [4096, 64], type: F16, bytes: 4096 * 64 * 2 },
      { name: "blk.0.attn_q.weight", shape: [4000, 4000], type: F16, bytes: 64 },
      { name: "blk.0.ffn_down.weight", shape: [11000, 4000], type: F16, bytes: 64 },
      { name: "blk.0.attn_norm.weight", shape: [4000], type: 0, bytes: 16000 },
    ],
  );
});
after(() => rm(root, { recursive: true, force: true }));

test("a row length blocks the quant types whose block does not divide it, and says where to pad", () => {
  assert.deepEqual(rowBlocks(4096), { blocked: [], padTo: {} });
  const r4000 = rowBlocks(4000);
  assert.ok(r4000.blocked.includes("Q4_K") && r4000.blocked.includes("Q6_K") && !r4000.blocked.includes("Q4_0"));
  assert.deepEqual(r4000.padTo, { 256: 4096 });
  const r11000 = rowBlocks(11000);
  assert.ok(r11000.blocked.includes("Q4_0") && r11000.blocked.includes("Q8_0") && r11000.blocked.includes("Q4_K"));
  assert.deepEqual(r11000.padTo, { 256: 11008, 32: 11008 });
});

test("gac scan of a GGUF file reports each misaligned row with the quant types it blocks and the FA head size", async () => {
  const io = captureIO(root);
  assert.equal(await runCli(["scan", "model-f16.gguf", "--json"], io), 0);
  const r = JSON.parse(io.stdout) as GgufScanReport;
  assert.equal(r.schema, "gac-gguf-scan/1");
  assert.equal(r.architecture, "llama");
  assert.equal(r.tensor_count, 4);
  assert.deepEqual(
    r.misaligned.map((m) => [m.tensor, m.row_length, Object.keys(m.pad_to).sort()]),
    [
      ["blk.0.attn_q.weight", 4000, ["256"]],
      ["blk.0.ffn_down.weight", 11000, ["256", "32"]],
    ],
  );
  const down = r.misaligned[1];
  assert.ok(down.blocked_types.includes("Q4_K") && down.blocked_types.includes("Q6_K") && down.blocked_types.includes("Q4_0") && down.blocked_types.includes("Q8_0"));
  assert.deepEqual(down.fallback, { Q4_K: "F16", Q5_K: "F16", Q6_K: "F16" });
  assert.deepEqual(r.misaligned[0].fallback, { Q4_K: "Q5_0", Q5_K: "Q5_1", Q6_K: "Q8_0" });
  assert.equal(r.attention.head_dim, 100);
  assert.equal(r.attention.flash_attn_ok, false);

  const text = captureIO(root);
  assert.equal(await runCli(["scan", "model-f16.gguf", "--fail-on", "collapse"], text), 4);
  assert.match(
    text.stdout,
    /blk\.0\.ffn_down\.weight \[11000, 4000\] F16: row 11000: no Q4_K\/Q6_K\/IQ and no Q4_0\/Q8_0 \(llama\.cpp falls back Q4_K -> F16\); pad to 11008 for 256-blocks, pad to 11008 for 32-blocks/,
  );
});

test("a file that is not GGUF is a one-line error", async () => {
  const { writeFile } = await import("node:fs/promises");
  const bad = join(root, "bad.gguf");
  await writeFile(bad, "not a gguf file at all");
  await assert.rejects(scanGguf(bad), (e: unknown) => e instanceof GacError && e.code === "BAD_HEADER" && e.message.startsWith(`${bad} is not a readable GGUF file`));
});
