/**
 * Pure decoding and validation of a safetensors header: bytes in, TensorEntry list out. No disk I/O
 * here (see safetensors-read.ts), so every rule is testable on crafted bytes.
 *
 * Layout (huggingface/safetensors README, safetensors/src/tensor.rs):
 *   u64 little-endian N | N bytes of UTF-8 JSON {name: {dtype, shape, data_offsets: [b, e]}, __metadata__?} | buffer
 * Every number is distrusted: the rules follow the Rust validator and huggingface.js.
 */
import { GacError, describeValue, formatCount, quoteName } from "../errors.js";
import { DEFAULT_JSON_LIMITS, parseBoundedJson, type JsonLimits } from "../util/bounded-json.js";
import { DTYPES, type Dtype, type TensorEntry } from "./types.js";

/** The Rust reader's MAX_HEADER_SIZE: a real header is a few MB even for 100k tensors; more is hostile or corrupt. */
export const MAX_HEADER_LENGTH = 100_000_000;
/** huggingface.js caps every dim at 2^32: larger dims do not occur and would make element counts overflow. */
export const MAX_TENSOR_DIM = 2 ** 32;
/** No model tensor has more than a handful of dims; a long shape list is a corrupt header. */
export const MAX_TENSOR_RANK = 16;
/** Bytes before the JSON: the little-endian u64 header length. */
export const LENGTH_PREFIX_BYTES = 8;

/**
 * A header nests 3 levels ({name: {shape: [...]}}); 8 leaves room for unusual metadata writers and
 * refuses the 5,000-level documents that once overflowed the stack. The rest are the JSON defaults.
 */
export const HEADER_JSON_LIMITS: JsonLimits = { ...DEFAULT_JSON_LIMITS, maxDepth: 8 };

export function isDtype(s: unknown): s is Dtype {
  return typeof s === "string" && Object.hasOwn(DTYPES, s);
}

/** Element count of a shape; throws BAD_HEADER when it is not a safe integer. */
export function elementCount(shape: readonly number[], where = "shape"): number {
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (!Number.isSafeInteger(n)) {
      throw new GacError("BAD_HEADER", `${where} [${shape.join(", ")}] has more than 2^53 elements: the header is corrupt`);
    }
  }
  return n;
}

export function tensorByteLength(dtype: Dtype, shape: readonly number[], where?: string): number {
  const n = elementCount(shape, where) * DTYPES[dtype].bytes;
  if (!Number.isSafeInteger(n)) throw new GacError("BAD_HEADER", `${where ?? "shape"} [${shape.join(", ")}] needs more than 2^53 bytes: the header is corrupt`);
  return n;
}

/**
 * Reads the header length from the first 8 bytes and checks it against the file size.
 * `fileName` only appears in messages.
 */
export function decodeHeaderLength(prefix: Uint8Array, fileSize: number, fileName: string): number {
  if (fileSize < LENGTH_PREFIX_BYTES || prefix.byteLength < LENGTH_PREFIX_BYTES) {
    throw new GacError("TRUNCATED", `${fileName} has ${formatCount(fileSize)} bytes, fewer than the 8-byte header length: the file is truncated or not safetensors`);
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, LENGTH_PREFIX_BYTES).getBigUint64(0, true);
  if (n === 0n) throw new GacError("BAD_HEADER", `${fileName} declares an empty header (length 0): not a safetensors file`);
  if (n > BigInt(MAX_HEADER_LENGTH)) {
    throw new GacError("HEADER_TOO_LARGE", `${fileName} declares a ${formatCount(n)}-byte header, over the ${formatCount(MAX_HEADER_LENGTH)}-byte limit: the file is corrupt or not safetensors`);
  }
  const length = Number(n);
  if (LENGTH_PREFIX_BYTES + length > fileSize) {
    throw new GacError("TRUNCATED", `${fileName} declares a ${formatCount(length)}-byte header but has only ${formatCount(fileSize)} bytes: the file is truncated`);
  }
  return length;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export interface DecodedHeader {
  metadata: Record<string, string>;
  /** Sorted by position in the file. */
  tensors: TensorEntry[];
}

/**
 * Decodes and validates the JSON header. `headerBytes` are the N bytes after the length prefix;
 * `path` is stored in each TensorEntry and named in messages.
 */
export function decodeSafetensorsHeader(headerBytes: Uint8Array, fileSize: number, path: string): DecodedHeader {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(headerBytes);
  } catch {
    throw new GacError("BAD_HEADER", `${path}: the header is not valid UTF-8: the file is corrupt or not safetensors`);
  }
  const json = parseBoundedJson(text, `${path}: the header`, "BAD_HEADER", HEADER_JSON_LIMITS);
  if (!isPlainObject(json)) {
    throw new GacError("BAD_HEADER", `${path}: the header is ${Array.isArray(json) ? "a JSON array" : `JSON ${json === null ? "null" : typeof json}`}, not an object of tensors`);
  }

  const dataStart = LENGTH_PREFIX_BYTES + headerBytes.byteLength;
  const dataLength = fileSize - dataStart;
  let metadata: Record<string, string> = {};
  const tensors: (TensorEntry & { begin: number; end: number })[] = [];

  for (const [name, raw] of Object.entries(json)) {
    if (name === "__metadata__") {
      metadata = decodeMetadata(raw, path);
      continue;
    }
    const where = `tensor ${quoteName(name)} in ${path}`;
    if (!isPlainObject(raw)) throw new GacError("BAD_HEADER", `${where} is not an object with dtype, shape and data_offsets`);
    for (const key of ["dtype", "shape", "data_offsets"]) {
      if (!(key in raw)) throw new GacError("BAD_HEADER", `${where} has no '${key}' field`);
    }
    const { dtype, shape, data_offsets: offsets } = raw;
    if (!isDtype(dtype)) {
      throw new GacError("BAD_DTYPE", `${where} has dtype ${describeValue(dtype)}; gac reads ${Object.keys(DTYPES).join(", ")}`);
    }
    if (!Array.isArray(shape) || shape.length > MAX_TENSOR_RANK) {
      throw new GacError("BAD_HEADER", `${where} has shape ${describeValue(shape)}, not a list of at most ${MAX_TENSOR_RANK} dims`);
    }
    for (const d of shape) {
      if (typeof d !== "number" || !Number.isInteger(d) || d < 0 || d > MAX_TENSOR_DIM) {
        throw new GacError("BAD_HEADER", `${where} has dim ${describeValue(d)} in shape ${describeValue(shape)}; dims are integers in [0, 2^32]`);
      }
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => typeof o === "number" && Number.isSafeInteger(o) && o >= 0)) {
      throw new GacError("BAD_OFFSETS", `${where} has data_offsets ${describeValue(offsets)}; expected [begin, end] with non-negative integers`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end) throw new GacError("BAD_OFFSETS", `${where} has data_offsets [${begin}, ${end}] with begin after end`);
    const dims = shape as number[];
    const byteLength = tensorByteLength(dtype, dims, where);
    if (end - begin !== byteLength) {
      throw new GacError("SHAPE_SIZE_MISMATCH", `${where} spans ${formatCount(end - begin)} bytes but ${dtype} [${dims.join(", ")}] needs ${formatCount(byteLength)}: the header is inconsistent`);
    }
    if (end > dataLength) {
      throw new GacError("TRUNCATED", `tensor ${quoteName(name)} ends at byte ${formatCount(dataStart + end)} but ${path} has ${formatCount(fileSize)} bytes: the file is truncated`);
    }
    tensors.push({ name, dtype, shape: dims, file: path, start: dataStart + begin, byteLength, begin, end });
  }

  // The buffer must be covered exactly: contiguous from 0, no holes, no overlap, nothing after the last tensor.
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let previous = "";
  for (const t of tensors) {
    if (t.begin > cursor) {
      throw new GacError(
        "BAD_OFFSETS",
        `tensor ${quoteName(t.name)} in ${path} starts at offset ${formatCount(t.begin)} but the previous data ends at ${formatCount(cursor)}: a ${formatCount(t.begin - cursor)}-byte gap`,
      );
    }
    if (t.begin < cursor) {
      throw new GacError(
        "BAD_OFFSETS",
        `tensor ${quoteName(t.name)} in ${path} starts at offset ${formatCount(t.begin)}, inside tensor ${quoteName(previous)} which ends at ${formatCount(cursor)}: tensors overlap`,
      );
    }
    cursor = t.end;
    previous = t.name;
  }
  if (cursor !== dataLength) {
    throw new GacError(
      "BAD_OFFSETS",
      `${path} has ${formatCount(dataLength - cursor)} bytes after the last tensor's data (buffer ends at ${formatCount(dataStart + cursor)}, file has ${formatCount(fileSize)}): extra trailing bytes`,
    );
  }
  return { metadata, tensors: tensors.map(({ begin: _b, end: _e, ...entry }) => entry) };
}

function decodeMetadata(raw: unknown, path: string): Record<string, string> {
  if (!isPlainObject(raw)) throw new GacError("BAD_HEADER", `${path}: __metadata__ is not an object of strings`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== "string") throw new GacError("BAD_HEADER", `${path}: __metadata__[${quoteName(k)}] is ${describeValue(v)}, not a string`);
    out[k] = v;
  }
  return out;
}
