/**
 * The one way gac reads a JSON file it did not just write: a regular file (regular-file.ts), its
 * size checked before reading, UTF-8 checked, parsed within bounded-json.ts's limits. Every
 * failure is a GacError of the caller's code naming the file and the limit.
 */
import { GacError, formatCount, type GacErrorCode } from "../errors.js";
import { DEFAULT_JSON_LIMITS, parseBoundedJson, type JsonLimits } from "./bounded-json.js";
import { readRegularFile } from "./regular-file.js";

export interface JsonFileOptions {
  /** Error code for content problems (BAD_CONFIG, BAD_INDEX, BAD_MANIFEST, ...). */
  code: GacErrorCode;
  /** What the file is, for messages: "config.json", "a safetensors index". */
  what: string;
  maxBytes: number;
  limits?: JsonLimits;
}

/** Decodes UTF-8 strictly: a file with invalid bytes is not JSON. */
export function decodeUtf8(bytes: Uint8Array, where: string, code: GacErrorCode): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new GacError(code, `${where} is not valid UTF-8 text`);
  }
}

/** A regular file of at most `maxBytes` as UTF-8 text. */
export async function readUtf8File(path: string, opts: Omit<JsonFileOptions, "limits">): Promise<string> {
  const bytes = await readRegularFile(
    path,
    opts.what,
    opts.maxBytes,
    (size) => new GacError(opts.code, `${path} has ${formatCount(size)} bytes, over the ${formatCount(opts.maxBytes)}-byte limit for ${opts.what}`),
  );
  return decodeUtf8(bytes, path, opts.code);
}

export async function readJsonFile(path: string, opts: JsonFileOptions): Promise<unknown> {
  return parseBoundedJson(await readUtf8File(path, opts), path, opts.code, opts.limits ?? DEFAULT_JSON_LIMITS);
}
