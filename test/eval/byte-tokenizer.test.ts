import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { byteToUnicode, byteTokenizerMismatch, readTokenizerKind, tokenizerFiles } from "../../src/eval/byte-tokenizer.js";
import { GacError } from "../../src/errors.js";

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** What HF tokenizers does with this tokenizer.json: ByteLevel maps bytes to characters, the BPE vocabulary (no merges) maps each character to an id. */
function encodeLikeTokenizers(tokenizer: Record<string, unknown>, text: string): number[] {
  const table = byteToUnicode();
  const vocab = (tokenizer.model as { vocab: Record<string, number> }).vocab;
  return [...Buffer.from(text, "utf8")].map((b) => vocab[table[b]]);
}

test("the byte-to-character table is GPT-2's: printable bytes are themselves, the rest start at U+0100 in byte order", () => {
  const t = byteToUnicode();
  assert.equal(new Set(t).size, 256);
  assert.equal(t[0x41], "A");
  assert.equal(t[0x20], "\u0120"); // space is 'Ġ'
  assert.equal(t[0x0a], "\u010a"); // newline is 'Ċ'
  assert.equal(t[0x00], "\u0100");
  assert.equal(t[0xad], "\u0143"); // the soft hyphen is the 68th remapped byte
});

test("the tokenizer gives token id = byte value for ASCII and multi-byte UTF-8 alike", () => {
  const { tokenizer } = tokenizerFiles(256);
  assert.deepEqual(encodeLikeTokenizers(tokenizer, "Hi\n"), [72, 105, 10]);
  assert.deepEqual(encodeLikeTokenizers(tokenizer, "é"), [0xc3, 0xa9]);
});

test("tokenizer.json has the structure HF tokenizers loads: BPE without merges behind ByteLevel without its regex, no special tokens", () => {
  const { tokenizer, config } = tokenizerFiles(256);
  assert.equal(byteTokenizerMismatch(tokenizer), undefined);
  assert.deepEqual(tokenizer.pre_tokenizer, { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false });
  assert.deepEqual(tokenizer.decoder, tokenizer.pre_tokenizer);
  const model = tokenizer.model as Record<string, unknown>;
  assert.equal(model.type, "BPE");
  assert.deepEqual(model.merges, []);
  assert.equal(Object.keys(model.vocab as object).length, 256);
  assert.equal(config.tokenizer_class, "PreTrainedTokenizerFast");
  assert.equal(config.model_max_length, 256);
  assert.equal(config.add_bos_token, false);
});

test("a tokenizer with merges, another vocabulary or special tokens is not the byte-level one", () => {
  const { tokenizer } = tokenizerFiles(256);
  const model = tokenizer.model as Record<string, unknown>;
  assert.match(byteTokenizerMismatch({ ...tokenizer, model: { ...model, merges: ["Ġ t"] } }) ?? "", /merges/);
  assert.match(byteTokenizerMismatch({ ...tokenizer, added_tokens: [{ id: 256, content: "<s>" }] }) ?? "", /special/);
  const vocab = { ...(model.vocab as Record<string, number>), A: 66 };
  assert.match(byteTokenizerMismatch({ ...tokenizer, model: { ...model, vocab } }) ?? "", /byte 65/);
});

test("gac eval refuses a checkpoint whose tokenizer.json is not byte-level and accepts one without a tokenizer", async () => {
  const dir = await mkdtemp(join(tmpdir(), "gac-tok-"));
  dirs.push(dir);
  assert.equal(await readTokenizerKind(dir), "none");
  await writeFile(join(dir, "tokenizer.json"), JSON.stringify(tokenizerFiles(256).tokenizer));
  assert.equal(await readTokenizerKind(dir), "bytes");
  await writeFile(join(dir, "tokenizer.json"), JSON.stringify({ model: { type: "Unigram" } }));
  await assert.rejects(readTokenizerKind(dir), (e: unknown) => e instanceof GacError && /not a byte-level tokenizer/.test(e.message));
});
