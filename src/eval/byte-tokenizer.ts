/**
 * The byte-level tokenizer: token id = byte value, vocabulary 256, nothing added. gac eval
 * tokenizes text this way; `tokenizerFiles` writes it in HF tokenizers' format so stock
 * transformers loads the bundled model with AutoTokenizer (one owner of both files, and of the
 * check that a checkpoint's tokenizer is this one).
 *
 * Format: a BPE model with no merges behind a ByteLevel pre-tokenizer without its split regex.
 * ByteLevel maps each byte to one printable character (GPT-2's bytes_to_unicode table) and the
 * vocabulary maps character k back to id k, so "Hi\n" encodes to [72, 105, 10] and decodes back.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { GacError } from "../errors.js";

export const BYTE_VOCAB_SIZE = 256;
export const TOKENIZER_FILE = "tokenizer.json";
export const TOKENIZER_CONFIG_FILE = "tokenizer_config.json";

/** GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the other 68 to U+0100.. in byte order. */
export function byteToUnicode(): string[] {
  const keep = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out: string[] = [];
  let next = 0;
  for (let b = 0; b < 256; b++) out.push(String.fromCodePoint(keep(b) ? b : 256 + next++));
  return out;
}

const BYTE_LEVEL = { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false } as const;

/** tokenizer.json and tokenizer_config.json of the byte-level tokenizer, as objects to serialize. */
export function tokenizerFiles(modelMaxLength: number): { tokenizer: Record<string, unknown>; config: Record<string, unknown> } {
  const vocab = Object.fromEntries(byteToUnicode().map((ch, id) => [ch, id]));
  const tokenizer = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: BYTE_LEVEL,
    post_processor: null,
    decoder: BYTE_LEVEL,
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: [] },
  };
  const config = {
    tokenizer_class: "PreTrainedTokenizerFast",
    model_max_length: modelMaxLength,
    clean_up_tokenization_spaces: false,
    add_bos_token: false,
    add_eos_token: false,
    bos_token: null,
    eos_token: null,
    unk_token: null,
    pad_token: null,
  };
  return { tokenizer, config };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Why `parsed` is not the byte-level tokenizer, or undefined when it is (pure; exported for tests). */
export function byteTokenizerMismatch(parsed: unknown): string | undefined {
  if (!isRecord(parsed) || !isRecord(parsed.model)) return "it has no model object";
  const m = parsed.model;
  if (m.type !== "BPE") return `its model is ${JSON.stringify(m.type)}, not a byte-level BPE`;
  if (!Array.isArray(m.merges) || m.merges.length > 0) return "it has merges (tokens longer than one byte)";
  if (!isRecord(parsed.pre_tokenizer) || parsed.pre_tokenizer.type !== "ByteLevel") return "its pre-tokenizer is not ByteLevel";
  if (parsed.normalizer !== null && parsed.normalizer !== undefined) return "it normalizes text before tokenizing";
  if (Array.isArray(parsed.added_tokens) && parsed.added_tokens.length > 0) return "it adds special tokens";
  if (!isRecord(m.vocab)) return "its vocabulary is not an object";
  const chars = byteToUnicode();
  const vocab = m.vocab;
  if (Object.keys(vocab).length !== BYTE_VOCAB_SIZE) return `its vocabulary has ${Object.keys(vocab).length} entries, not ${BYTE_VOCAB_SIZE}`;
  for (let b = 0; b < BYTE_VOCAB_SIZE; b++) if (vocab[chars[b]] !== b) return `byte ${b} does not map to id ${b}`;
  return undefined;
}

/** "bytes": the directory holds the byte-level tokenizer; "none": no tokenizer.json (ids are bytes by assumption). */
export type TokenizerKind = "bytes" | "none";

/** Refuses a checkpoint whose own tokenizer is something else: its perplexity on byte ids would mean nothing. */
export async function readTokenizerKind(dir: string): Promise<TokenizerKind> {
  const path = join(dir, TOKENIZER_FILE);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return "none";
    throw e;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new GacError("UNSUPPORTED", `${path} is not valid JSON (${(e as Error).message})`);
  }
  const why = byteTokenizerMismatch(parsed);
  if (why !== undefined) {
    throw new GacError("UNSUPPORTED", `${path} is not a byte-level tokenizer (${why}); gac eval feeds bytes as token ids, which only means something for a byte-level model`);
  }
  return "bytes";
}
