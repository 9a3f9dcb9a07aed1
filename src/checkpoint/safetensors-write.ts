/**
 * safetensors and checkpoint writers. The layout is planned by a pure function (header bytes and
 * offsets from names, dtypes and shapes); the writers then stream each tensor's bytes after it.
 *
 * Order: tensors are written in input order (the Python writer sorts by dtype alignment then name;
 * gac keeps the caller's order so a repaired file lists tensors as the original did). With mixed
 * dtypes a tensor may then start at an offset that is not a multiple of its element size; readers
 * (safetensors, transformers, gac) copy or handle that, and all tensors of one dtype stay aligned.
 * The header is padded with spaces to a multiple of 8, as the Python writer does.
 */
import { mkdir, open, rm } from "node:fs/promises";
import { join } from "node:path";
import { GacError, formatCount } from "../errors.js";
import { writeFileAtomic } from "../util/atomic.js";
import { LENGTH_PREFIX_BYTES, MAX_HEADER_LENGTH, tensorByteLength } from "./safetensors-header.js";
import { CONFIG_FILE, INDEX_FILE, SINGLE_FILE } from "./open.js";
import type { Dtype } from "./types.js";

export interface TensorLayout {
  name: string;
  dtype: Dtype;
  shape: readonly number[];
}

export interface WritableTensor extends TensorLayout {
  /** The bytes, or a factory of a stream of them (called once, when the tensor is written). */
  data: Uint8Array | (() => AsyncIterable<Uint8Array>);
}

export interface SafetensorsLayout {
  /** Everything before the data: the 8-byte length and the space-padded JSON. Data starts at header.byteLength. */
  header: Uint8Array;
  /** Data offsets [begin, end) of each tensor, relative to the end of the header (as stored in the JSON). */
  offsets: Map<string, [number, number]>;
  /** Size of the whole file in bytes. */
  totalSize: number;
}

/** Pure: the header bytes and data offsets of a file holding `tensors` in this order. */
export function planSafetensorsLayout(tensors: readonly TensorLayout[], metadata?: Record<string, string>): SafetensorsLayout {
  const offsets = new Map<string, [number, number]>();
  const parts: string[] = [];
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") throw new TypeError(`metadata['${k}'] must be a string, got ${typeof v}`);
    }
    parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  }
  let cursor = 0;
  for (const t of tensors) {
    if (t.name === "" || t.name === "__metadata__") throw new TypeError(`tensor name ${JSON.stringify(t.name)} is reserved or empty`);
    if (offsets.has(t.name)) throw new TypeError(`tensor '${t.name}' is listed twice`);
    for (const d of t.shape) {
      if (!Number.isSafeInteger(d) || d < 0) throw new TypeError(`tensor '${t.name}' has dim ${d}; dims are non-negative integers`);
    }
    const end = cursor + tensorByteLength(t.dtype, t.shape, `tensor '${t.name}'`);
    offsets.set(t.name, [cursor, end]);
    parts.push(`${JSON.stringify(t.name)}:${JSON.stringify({ dtype: t.dtype, shape: t.shape, data_offsets: [cursor, end] })}`);
    cursor = end;
  }
  const json = new TextEncoder().encode(`{${parts.join(",")}}`);
  const padded = Math.ceil(json.byteLength / 8) * 8;
  if (padded > MAX_HEADER_LENGTH) throw new RangeError(`header of ${formatCount(padded)} bytes exceeds the ${formatCount(MAX_HEADER_LENGTH)}-byte limit readers accept`);
  const header = new Uint8Array(LENGTH_PREFIX_BYTES + padded).fill(0x20);
  new DataView(header.buffer).setBigUint64(0, BigInt(padded), true);
  header.set(json, LENGTH_PREFIX_BYTES);
  return { header, offsets, totalSize: header.byteLength + cursor };
}

async function* chunksOf(t: WritableTensor): AsyncIterable<Uint8Array> {
  if (t.data instanceof Uint8Array) yield t.data;
  else yield* t.data();
}

/**
 * Writes one safetensors file (not atomically: build into a temp dir with publishDirectoryAtomically,
 * or use writeFileAtomic for small files). Each tensor's byte count is checked against its dtype and
 * shape; on any failure the partial file is removed.
 */
export async function writeSafetensorsFile(path: string, tensors: WritableTensor[], metadata?: Record<string, string>): Promise<void> {
  const layout = planSafetensorsLayout(tensors, metadata);
  const fh = await open(path, "w");
  let ok = false;
  try {
    await fh.write(layout.header, 0, layout.header.byteLength, 0);
    let position = layout.header.byteLength;
    for (const t of tensors) {
      const [begin, end] = layout.offsets.get(t.name)!;
      const expected = end - begin;
      let written = 0;
      let tooMany = false;
      for await (const chunk of chunksOf(t)) {
        if (written + chunk.byteLength > expected) {
          tooMany = true;
          break;
        }
        await fh.write(chunk, 0, chunk.byteLength, position);
        position += chunk.byteLength;
        written += chunk.byteLength;
      }
      if (tooMany || written !== expected) {
        throw new GacError(
          "SHAPE_SIZE_MISMATCH",
          `tensor '${t.name}' supplied ${tooMany ? `more than ${formatCount(expected)}` : formatCount(written)} bytes but ${t.dtype} [${t.shape.join(", ")}] needs ${formatCount(expected)}: refusing to write a corrupt ${path}`,
        );
      }
    }
    await fh.sync();
    ok = true;
  } finally {
    await fh.close();
    if (!ok) await rm(path, { force: true });
  }
}

/** HF shard file name: model-00001-of-00003.safetensors. */
export function shardFileName(i: number, count: number): string {
  return `model-${String(i + 1).padStart(5, "0")}-of-${String(count).padStart(5, "0")}.safetensors`;
}

/**
 * Splits tensors into shards like huggingface_hub's split_state_dict_into_shards: in order, a new
 * shard starts when the next tensor would push the current one past `maxShardBytes` (a tensor larger
 * than the limit gets a shard of its own).
 */
export function planShards<T extends TensorLayout>(tensors: readonly T[], maxShardBytes: number): T[][] {
  const shards: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const t of tensors) {
    const bytes = tensorByteLength(t.dtype, t.shape, `tensor '${t.name}'`);
    if (current.length > 0 && size + bytes > maxShardBytes) {
      shards.push(current);
      current = [];
      size = 0;
    }
    current.push(t);
    size += bytes;
  }
  if (current.length > 0 || shards.length === 0) shards.push(current);
  return shards;
}

export interface WriteCheckpointOptions {
  config: Record<string, unknown>;
  tensors: WritableTensor[];
  /** Tensor bytes per shard; when the tensors exceed it, shards and an index are written. */
  maxShardBytes?: number;
  /** Extra index metadata (total_size is always computed). */
  indexMetadata?: Record<string, unknown>;
  /** `__metadata__` of every safetensors file (transformers writes {"format": "pt"}). */
  fileMetadata?: Record<string, string>;
}

/**
 * Writes config.json and the tensors into `dir` (created if missing): one model.safetensors, or
 * model-0000i-of-0000N.safetensors shards plus model.safetensors.index.json when `maxShardBytes` is
 * exceeded. Not atomic by itself: call it inside publishDirectoryAtomically's build.
 */
export async function writeCheckpoint(dir: string, opts: WriteCheckpointOptions): Promise<void> {
  const fileMetadata = opts.fileMetadata ?? { format: "pt" };
  await writeShardedCheckpoint(dir, opts, (path, shard) => writeSafetensorsFile(path, [...shard], fileMetadata));
}

/**
 * config.json, then the tensors in one `model.safetensors` or in shards with
 * `model.safetensors.index.json` when they exceed maxShardBytes. `writeFile` writes one file's
 * tensors: streamed bytes (writeCheckpoint) or a header and a hole (writeSparseSafetensorsFile).
 */
export async function writeShardedCheckpoint<T extends TensorLayout>(
  dir: string,
  opts: { config: Record<string, unknown>; tensors: readonly T[]; maxShardBytes?: number; indexMetadata?: Record<string, unknown> },
  writeFile: (path: string, shard: readonly T[]) => Promise<void>,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, CONFIG_FILE), JSON.stringify(opts.config, null, 2) + "\n");
  const max = opts.maxShardBytes;
  if (max !== undefined && (!Number.isSafeInteger(max) || max <= 0)) throw new RangeError(`maxShardBytes must be a positive integer, got ${max}`);
  const shards = max === undefined ? [opts.tensors] : planShards(opts.tensors, max);
  if (shards.length === 1) {
    await writeFile(join(dir, SINGLE_FILE), opts.tensors);
    return;
  }
  const weightMap: Record<string, string> = {};
  let totalSize = 0;
  for (const [i, shard] of shards.entries()) {
    const name = shardFileName(i, shards.length);
    await writeFile(join(dir, name), shard);
    for (const t of shard) {
      weightMap[t.name] = name;
      totalSize += tensorByteLength(t.dtype, t.shape);
    }
  }
  const index = { metadata: { ...opts.indexMetadata, total_size: totalSize }, weight_map: weightMap };
  await writeFileAtomic(join(dir, INDEX_FILE), JSON.stringify(index, null, 2) + "\n");
}

/**
 * A sparse safetensors file: its real header, then ftruncate to the full size, so the data is a
 * hole that reads as zeros and takes no disk. Headers are all `gac scan` and `gac plan` read.
 */
export async function writeSparseSafetensorsFile(path: string, tensors: readonly TensorLayout[], metadata?: Record<string, string>): Promise<void> {
  const layout = planSafetensorsLayout(tensors, metadata);
  const fh = await open(path, "w");
  try {
    await fh.write(layout.header, 0, layout.header.byteLength, 0);
    await fh.truncate(layout.totalSize);
  } finally {
    await fh.close();
  }
}
