/**
 * Disk side of the safetensors reader: reads only the length prefix and the header of a file (never
 * the buffer; shards are up to 5+ GB and a Node Buffer stops at 4 GiB), and tensor bytes by range
 * with positional reads.
 */
import type { FileHandle } from "node:fs/promises";
import { GacError, formatCount, fsError } from "../errors.js";
import { openRegularFile } from "../util/regular-file.js";
import { LENGTH_PREFIX_BYTES, decodeHeaderLength, decodeSafetensorsHeader } from "./safetensors-header.js";
import type { SafetensorsFileInfo, TensorEntry } from "./types.js";

/** Default chunk of streamTensorBytes: large enough for sequential disk throughput, small next to RAM. */
export const DEFAULT_CHUNK_BYTES = 16 * 1024 * 1024;

/** Opens a safetensors file: regular files only (a FIFO or device is refused at once, never waited on). */
export async function openForReading(path: string): Promise<FileHandle> {
  return (await openRegularFile(path, "a safetensors file")).fh;
}

/** Fills `buf` from `position`; throws INPUT_CHANGED if the file ends early (it shrank since its header was read). */
async function readExactly(fh: FileHandle, buf: Uint8Array, position: number, path: string): Promise<void> {
  let done = 0;
  while (done < buf.byteLength) {
    const { bytesRead } = await fh.read(buf, done, buf.byteLength - done, position + done);
    if (bytesRead === 0) {
      throw new GacError(
        "INPUT_CHANGED",
        `${path} ended at byte ${formatCount(position + done)} while reading ${formatCount(buf.byteLength)} bytes from ${formatCount(position)}: the file changed since its header was read`,
      );
    }
    done += bytesRead;
  }
}

export async function readSafetensorsFileInfo(path: string): Promise<SafetensorsFileInfo> {
  const { fh, stat } = await openRegularFile(path, "a safetensors file");
  try {
    const size = stat.size;
    const prefix = new Uint8Array(LENGTH_PREFIX_BYTES);
    if (size >= LENGTH_PREFIX_BYTES) await readExactly(fh, prefix, 0, path);
    const headerLength = decodeHeaderLength(prefix, size, path);
    const headerBytes = new Uint8Array(headerLength);
    await readExactly(fh, headerBytes, LENGTH_PREFIX_BYTES, path);
    const { metadata, tensors } = decodeSafetensorsHeader(headerBytes, size, path);
    return { path, size, headerLength, metadata, tensors };
  } catch (e) {
    throw fsError(e, "reading a safetensors header") ?? e;
  } finally {
    await fh.close();
  }
}

function checkRange(entry: TensorEntry, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > entry.byteLength) {
    throw new RangeError(`byte range [${offset}, ${offset + length}) is outside tensor '${entry.name}' (${entry.byteLength} bytes)`);
  }
}

/** The tensor's bytes, or `range` of them (offset relative to the tensor's first byte). */
export async function readTensorBytes(entry: TensorEntry, range?: { offset: number; length: number }): Promise<Uint8Array> {
  const offset = range?.offset ?? 0;
  const length = range?.length ?? entry.byteLength;
  checkRange(entry, offset, length);
  const buf = new Uint8Array(length);
  if (length === 0) return buf;
  const fh = await openForReading(entry.file);
  try {
    await readExactly(fh, buf, entry.start + offset, entry.file);
  } finally {
    await fh.close();
  }
  return buf;
}

/** The tensor's bytes in order, in fresh chunks of at most `chunkBytes` (memory stays bounded for multi-GB tensors). */
export async function* streamTensorBytes(entry: TensorEntry, chunkBytes: number = DEFAULT_CHUNK_BYTES): AsyncGenerator<Uint8Array> {
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes <= 0) throw new RangeError(`chunkBytes must be a positive integer, got ${chunkBytes}`);
  if (entry.byteLength === 0) return;
  const fh = await openForReading(entry.file);
  try {
    for (let done = 0; done < entry.byteLength; ) {
      const buf = new Uint8Array(Math.min(chunkBytes, entry.byteLength - done));
      await readExactly(fh, buf, entry.start + done, entry.file);
      done += buf.byteLength;
      yield buf;
    }
  } finally {
    await fh.close();
  }
}
