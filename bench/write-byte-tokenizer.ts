/**
 * Writes tokenizer.json and tokenizer_config.json of the byte-level tokenizer (src/eval/byte-tokenizer.ts)
 * into a model directory, model_max_length from its config.json's max_position_embeddings:
 *   node --import tsx bench/write-byte-tokenizer.ts assets/models/shakespeare-byte
 * test/eval/bundled-model.test.ts checks that the committed files are exactly what this writes.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tokenizerFiles, TOKENIZER_CONFIG_FILE, TOKENIZER_FILE } from "../src/eval/byte-tokenizer.js";

/** The two files' text, as committed (2-space JSON, trailing newline). */
export async function byteTokenizerTexts(dir: string): Promise<{ tokenizer: string; config: string }> {
  const cfg = JSON.parse(await readFile(join(dir, "config.json"), "utf8")) as { max_position_embeddings?: number };
  const files = tokenizerFiles(cfg.max_position_embeddings ?? 256);
  return { tokenizer: JSON.stringify(files.tokenizer, null, 2) + "\n", config: JSON.stringify(files.config, null, 2) + "\n" };
}

async function main(): Promise<void> {
  const dir = process.argv[2];
  if (!dir) throw new Error("usage: write-byte-tokenizer.ts <model-dir>");
  const t = await byteTokenizerTexts(dir);
  await writeFile(join(dir, TOKENIZER_FILE), t.tokenizer);
  await writeFile(join(dir, TOKENIZER_CONFIG_FILE), t.config);
  process.stdout.write(`wrote ${join(dir, TOKENIZER_FILE)} and ${join(dir, TOKENIZER_CONFIG_FILE)}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
