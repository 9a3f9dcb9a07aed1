/**
 * The text a perplexity is measured on, as bytes. By default the bundled held-out split: the last
 * 10% of assets/data/tinyshakespeare.txt, from byte floor(0.9 * N) (the split the bundled model was
 * trained against: python/train/train_byte_llama.py holds out the same bytes). `--text FILE`
 * evaluates a whole file instead.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { GacError } from "../errors.js";

export const BUNDLED_TEXT_FILE = fileURLToPath(new URL("../../assets/data/tinyshakespeare.txt", import.meta.url));
/** Training keeps bytes [0, floor(0.9 N)); evaluation reads the rest. */
export const TRAIN_FRACTION = 0.9;

export interface EvalText {
  /** "held-out": the bundled file's last 10%; "file": a whole user file. */
  kind: "held-out" | "file";
  path: string;
  /** First byte of `bytes` in the file. */
  byteOffset: number;
  bytes: Uint8Array;
  /** sha256 of `bytes` (the evaluated bytes only), so two reports can be seen to use one text. */
  sha256: string;
}

export function heldOutStart(fileBytes: number): number {
  return Math.floor(TRAIN_FRACTION * fileBytes);
}

async function readBytes(path: string, what: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new GacError("MISSING_FILE", `${what} ${path} cannot be read (${code ?? (e as Error).message}); pass an existing file with --text`);
  }
}

/** The evaluation text: `textFile` whole, or the bundled held-out split when it is undefined. */
export async function readEvalText(textFile: string | undefined, cwd: string): Promise<EvalText> {
  const path = textFile === undefined ? BUNDLED_TEXT_FILE : resolve(cwd, textFile);
  const all = await readBytes(path, textFile === undefined ? "the bundled text" : "--text");
  const byteOffset = textFile === undefined ? heldOutStart(all.length) : 0;
  const bytes = all.subarray(byteOffset);
  return { kind: textFile === undefined ? "held-out" : "file", path, byteOffset, bytes, sha256: createHash("sha256").update(bytes).digest("hex") };
}
