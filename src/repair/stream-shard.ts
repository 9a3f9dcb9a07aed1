/**
 * Streams one safetensors file from input to output with bounded memory: the input is read front to
 * back in offset order (header, each tensor, any gap or tail), so its hash (file-hash.ts) covers
 * the whole file in one pass; every tensor is copied or transformed in blocks of whole rows of at most
 * `chunkBytes`; the output is written with positional writes and hashed as it goes.
 *
 * Pipeline: READ_AHEAD reads of the next blocks are in flight while the current one is transformed;
 * its write is queued before it is handed to the hash worker (a lagging hash never holds a write
 * back, a slow write never holds the hash back), and WRITES_IN_FLIGHT positional writes run at
 * once (each at its own offset), so reading, hashing and writing each run as far ahead as the
 * block pools allow: at most POOL_BLOCKS read blocks and OUTPUT_POOL_BLOCKS folded or
 * column-padded ones (16 MiB each, 4 MiB with one hash worker: defaultChunkBytes). Only a fold decodes;
 * row padding and padding at the end of columns are views of the read block and of shared zeros
 * (one writev), other column layouts one copy of each row.
 */
import { open, type FileHandle } from "node:fs/promises";
import { GacError, formatCount } from "../errors.js";
import { LENGTH_PREFIX_BYTES } from "../checkpoint/safetensors-header.js";
import { planSafetensorsLayout } from "../checkpoint/safetensors-write.js";
import { DTYPES, type Dtype, type SafetensorsFileInfo } from "../checkpoint/types.js";
import { MAX_VIEW_RUNS, padColumnsBlock, padColumnsFilled, padColumnsInto, padColumnsSegments, paddedColumnsBytes, repeatElement } from "./rules/pad-columns.js";
import { padRowsSegments } from "./rules/pad-rows.js";
import { foldScaleInto } from "./rules/fold-scale.js";
import type { TensorEdit } from "./tensor-edits.js";
import { BlockPool } from "./block-pool.js";
import { DEFAULT_HASH_SCHEME, type FileHash, type HashScheme } from "./file-hash.js";
import type { HashPool } from "./hash-pool.js";
import { BusyClock, since, type StreamTimings } from "./stream-timings.js";
import { SyncLane } from "./sync-lane.js";

/**
 * Bytes per streamed block with several hash workers. Their chunks hash in parallel only as far as
 * the main thread runs ahead of a chunk's worker: its queue bound plus one block (hash-pool.ts:
 * 64 / (64 - 32 - 16) = 4 workers at once with 16 MiB blocks, 2.3 with 4 MiB).
 */
export const DEFAULT_CHUNK_BYTES = 16 * 1024 * 1024;

/**
 * Bytes per streamed block with one hash worker (2 cores or fewer), where large blocks buy no hash
 * parallelism and cost CPU, the scarce thing there: every repair first touches its read blocks
 * (6 x 16 MiB: 33,500 page faults in one low-rank F16 repair of 0.39 GB on the 2-core VM, 14,000
 * with 4 MiB blocks, ~3-4 us each in that VM). Same files, 16 and 4 MiB alternating (8 rounds each,
 * load 2.0-2.8): CPU per GB -11 to -21% (low-rank F16 one file 3.16 -> 2.51 s/GB, logical F16 one
 * file 3.26 -> 2.57, MLP BF16 sharded 3.25 -> 2.90, low-rank BF16 sharded 3.15 -> 2.73), median
 * repair time -4 to -7%, peak RSS -76 to -99 MB; more than the faults alone explain, as if the
 * 24 MiB in flight stayed in the VM's 32 MiB L3 (not measured: no cache counters there). 2 MiB
 * blocks cost less CPU again but were no faster (a 12 MiB pipeline).
 */
export const ONE_WORKER_CHUNK_BYTES = 4 * 1024 * 1024;

/** The block size of a repair whose hash pool has `hashWorkers` workers. */
export function defaultChunkBytes(hashWorkers: number): number {
  return hashWorkers > 1 ? DEFAULT_CHUNK_BYTES : ONE_WORKER_CHUNK_BYTES;
}

/** A file read, with its hash in the repair's scheme (file-hash.ts). */
export type FileDigest = {
  /** Path relative to the checkpoint directory. */
  name: string;
  bytes: number;
} & FileHash;

/** An output file: its size always, its hash only when asked for (`checksumOutput`). */
export type OutputFile = { name: string; bytes: number } & (FileHash | { sha256?: never; sha256Chunks?: never });

export interface StreamContext {
  chunkBytes: number;
  /** Called after each output block with the bytes it added. */
  onBytes: (n: number) => void;
  signal?: AbortSignal;
  /** Computes the hash of the input (and of the output with `checksumOutput`) beside the copy. */
  hasher: HashPool;
  /** The hash scheme of input and output (default sha256-chunks). */
  hashScheme?: HashScheme;
  /** Also hash the output: a second hash pass over every byte written (off by default). */
  checksumOutput?: boolean;
  /** Read buffers, shared by all files of one repair (made per call when absent). */
  pool?: BlockPool;
  /** Column-padding buffers, shared likewise (made per call when absent). */
  outputPool?: BlockPool;
  /**
   * Background fdatasyncs, one at a time for every file of one repair (made per call when absent):
   * this file's periodic syncs wait while another file is flushed. The stream does not wait for its
   * syncs; whoever owns the lane drains it.
   */
  syncLane?: SyncLane;
}

/** One contiguous read of the input and what to do with it. */
export type Piece =
  | { kind: "hash"; position: number; length: number }
  | { kind: "copy"; position: number; length: number }
  | { kind: "edit"; position: number; length: number; edit: TensorEdit; dtype: Dtype; firstRow: number };

function rowBytesOf(shape: readonly number[], elemBytes: number): number {
  return shape.slice(1).reduce((a, b) => a * b, 1) * elemBytes;
}

/** Reused buffers for transformBlock: the folded copy (at least the block's size) and the column-padded one. */
export interface TransformScratch {
  scale?: Uint8Array;
  cols?: Uint8Array;
  /** Column padding of few runs as views of the block instead of a copy (viewsColumns). */
  columnViews?: boolean;
}

/** True when transformBlock pads this edit's columns as views (no copy, no scratch): columns only, few runs per row. */
export function viewsColumns(edit: TensorEdit): boolean {
  return edit.fill === undefined && edit.cols !== undefined && edit.rows === undefined && edit.scale === undefined && edit.cols.runs.length <= MAX_VIEW_RUNS;
}

/**
 * Applies a tensor's edit to one block of whole source rows: scale, then columns, then rows. Returns
 * the output bytes as views, in order (of `block`, of the folded or column-padded copy, of shared
 * zeros): row padding copies nothing, only a fold decodes. The fold and the column padding write
 * into `scratch` buffers when given (reused, at least the size they need), else into fresh arrays;
 * `block` itself is never written (the hash worker may still be reading it).
 */
export function transformBlock(block: Uint8Array, firstRow: number, edit: TensorEdit, dtype: Dtype, scratch: TransformScratch = {}): Uint8Array[] {
  const elemBytes = DTYPES[dtype].bytes;
  if (edit.fill !== undefined) return transformFilled(block, firstRow, edit, dtype);
  let out = block;
  if (scratch.columnViews && viewsColumns(edit)) return padColumnsSegments(block, edit.cols!, elemBytes);
  if (edit.scale !== undefined) out = foldScaleInto(out, dtype, edit.scale, scratch.scale ?? new Uint8Array(out.length));
  if (edit.cols) out = scratch.cols ? padColumnsInto(out, edit.cols, elemBytes, scratch.cols) : padColumnsBlock(out, edit.cols, elemBytes);
  return edit.rows ? padRowsSegments(out, firstRow, edit.rows, rowBytesOf(edit.to, elemBytes)) : [out];
}

/**
 * transformBlock for an edit with a PadFill (a quantized weight's stored tensor): source values
 * rewritten, then scaled, then columns and rows padded with the fill's values. Fresh arrays: these
 * tensors are codes and small scale tables, padded at most once per block.
 */
function transformFilled(block: Uint8Array, firstRow: number, edit: TensorEdit, dtype: Dtype): Uint8Array[] {
  const fill = edit.fill!;
  let out = fill.mapRows ? fill.mapRows(block, firstRow) : block;
  if (edit.scale !== undefined) out = foldScaleInto(out, dtype, edit.scale, new Uint8Array(out.length));
  if (edit.cols) out = padColumnsFilled(out, edit.cols, fill.element);
  if (!edit.rows) return [out];
  const rowBytes = rowBytesOf(edit.to, DTYPES[dtype].bytes);
  const plain = repeatElement(fill.element, rowBytes / fill.element.length);
  return padRowsSegments(out, firstRow, edit.rows, rowBytes, (r) => fill.row?.(r) ?? plain);
}

/** The scratch bytes transformBlock needs for a block of `length` input bytes (0: none). */
function scratchBytes(length: number, edit: TensorEdit, dtype: Dtype, columnViews: boolean): { scale: number; cols: number } {
  if (edit.fill !== undefined) return { scale: 0, cols: 0 };
  const cols = edit.cols && !(columnViews && viewsColumns(edit)) ? paddedColumnsBytes(length, edit.cols, DTYPES[dtype].bytes) : 0;
  return { scale: edit.scale !== undefined ? length : 0, cols };
}

/** The reads that cover a whole input file in offset order. */
export function planPieces(info: SafetensorsFileInfo, edits: ReadonlyMap<string, TensorEdit>, chunkBytes: number): Piece[] {
  const pieces: Piece[] = [];
  let position = 0;
  const hashUpTo = (end: number) => {
    for (; position < end; ) {
      const length = Math.min(chunkBytes, end - position);
      pieces.push({ kind: "hash", position, length });
      position += length;
    }
  };
  hashUpTo(LENGTH_PREFIX_BYTES + info.headerLength);
  for (const t of [...info.tensors].sort((a, b) => a.start - b.start)) {
    if (t.start < position) throw new GacError("BAD_OFFSETS", `tensor '${t.name}' in ${info.path} overlaps the bytes before it`);
    hashUpTo(t.start);
    const edit = edits.get(t.name);
    const end = t.start + t.byteLength;
    if (!edit) {
      for (; position < end; ) {
        const length = Math.min(chunkBytes, end - position);
        pieces.push({ kind: "copy", position, length });
        position += length;
      }
      continue;
    }
    const elemBytes = DTYPES[t.dtype].bytes;
    const inRow = rowBytesOf(edit.from, elemBytes);
    const outRow = rowBytesOf(edit.to, elemBytes);
    const rowsPerBlock = Math.max(1, Math.floor(chunkBytes / Math.max(inRow, outRow)));
    const rows = edit.from.length === 0 ? 1 : edit.from[0]; // a 0-d tensor (a per-tensor scale) is one row
    if (rows * inRow !== t.byteLength) throw new GacError("SHAPE_SIZE_MISMATCH", `tensor '${t.name}' has ${t.byteLength} bytes, not ${rows} rows of ${inRow}`);
    for (let r = 0; r < rows; r += rowsPerBlock) {
      const n = Math.min(rowsPerBlock, rows - r);
      pieces.push({ kind: "edit", position, length: n * inRow, edit, dtype: t.dtype, firstRow: r });
      position += n * inRow;
    }
  }
  hashUpTo(info.size);
  return pieces;
}

/**
 * Column padding at the end of rows (MLP down, low-rank second factor, PaLU U.g) as views: each row
 * of the read block and a view of shared zeros, one writev, so those bytes are copied once, by the
 * write, like an untouched tensor's. Copied instead (issue-10-onefile to repair-cpu), every padded
 * byte took three copies (the shared block out to a staging buffer, each row into an output block,
 * then the write) and first touched 64 MiB of staging and output blocks per repair: `perf record` of
 * one low-rank F16 repair (0.39 GB, 178 MB of it column-padded) on the 2-core VM put 78-83 ms in
 * padColumnsInto's copies and ~70 ms more in faults on those fresh blocks. The writev of 2 iovecs per row costs
 * the kernel ~0.25 us per iovec (+25 ms per 177 MB of 3,276-byte rows against one flat write of the
 * same bytes). Same files, copy and views alternating (8 rounds each, load 1.5-2.4): CPU per GB
 * -20 to -28% (low-rank F16 one file 3.43 -> 2.45 s/GB, MLP F16 one file 2.89 -> 2.21, low-rank BF16
 * sharded 2.98 -> 2.31, MLP BF16 sharded 3.05 -> 2.43), median repair time -8 to -14%, peak RSS
 * -50 to -64 MB. (The views lost before the sync lane, at load 5.5: MLP BF16 one file 1.96 / 1.56 /
 * 1.44 s against 1.22 / 1.55 / 1.17 s copied.) With checksumOutput they would reach the output
 * hasher as thousands of small messages, so that case still copies.
 */
const COLUMN_VIEWS = true;

/** Read blocks in flight: two being read ahead, one being processed, the others being hashed or written. */
export const POOL_BLOCKS = 6;

/**
 * Reads started ahead of the block being processed. Two keep the reader busy while the main
 * thread transforms and queues; more only take libuv threads (4 by default) from the writes.
 */
export const READ_AHEAD = 2;

/**
 * Positional writes in flight at once. One: ext4 serialises buffered writes to one file on its inode
 * lock, so a second write does not copy in parallel; it only holds one of libuv's 4 threads, which
 * the reads and the background fdatasync need (on the 2-core VM the loop then waited 75-595 ms for
 * reads in a 0.7 s stream, against 72-116 ms with one write at a time).
 */
export const WRITES_IN_FLIGHT = 1;

/** Folded or column-padded output blocks in flight: one being filled, one being written, one being hashed (checksumOutput). */
export const OUTPUT_POOL_BLOCKS = 3;

/**
 * Unsynced written bytes that start a background fdatasync when none is running (sync-lane.ts).
 * Dirty pages are otherwise flushed only at the final fsync (the kernel starts writeback at 10% of
 * RAM, 2.4 GB on a 24 GB machine), after all the work; syncing as we go overlaps the disk with the
 * reads, hashes and transforms, and the next sync starts as soon as one ends, so each covers what
 * was written meanwhile. 16 MiB (was a fixed 64 MB step): the disk starts after the first block
 * instead of after 64 MB, ~150 ms sooner at the 2-core VM's ~450 MB/s.
 */
export const SYNC_MIN_BYTES = 16 * 1024 * 1024;

async function readExactly(fh: FileHandle, buf: Uint8Array, position: number, path: string): Promise<Uint8Array> {
  const length = buf.byteLength;
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) {
      throw new GacError(
        "INPUT_CHANGED",
        `${path} ended at byte ${formatCount(position + done)}, before the ${formatCount(length)} bytes at ${formatCount(position)} its header promised: the input changed while gac read it`,
      );
    }
    done += bytesRead;
  }
  return buf;
}

/** A counting semaphore: at most `count` holders at once, the waiting ones served in order. */
class Slots {
  private waiting: (() => void)[] = [];
  constructor(private free: number) {}

  async take(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  /** Hands the slot to the first waiter, or frees it. */
  give(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

/**
 * Writes the repaired copy of `info` to `outputPath` (a new file). Returns the digests of both;
 * tensors keep their input order, edited ones take their new shapes.
 */
export async function streamShard(
  info: SafetensorsFileInfo,
  names: { input: string; output: string },
  outputPath: string,
  edits: ReadonlyMap<string, TensorEdit>,
  ctx: StreamContext,
): Promise<{ input: FileDigest; output: OutputFile; timings: StreamTimings }> {
  const t0 = performance.now();
  const clocks = { read: new BusyClock(), write: new BusyClock(), sync: new BusyClock() };
  const waits = { transform: 0, waitRead: 0, waitHash: 0, waitOutputBlock: 0 };
  const timed = async <T>(key: keyof typeof waits, p: Promise<T>): Promise<T> => {
    const t = performance.now();
    try {
      return await p;
    } finally {
      waits[key] += since(t);
    }
  };
  const ordered = [...info.tensors].sort((a, b) => a.start - b.start);
  const layout = planSafetensorsLayout(
    ordered.map((t) => ({ name: t.name, dtype: t.dtype, shape: edits.get(t.name)?.to ?? t.shape })),
    info.metadata,
  );
  const pieces = planPieces(info, edits, ctx.chunkBytes);
  const scheme = ctx.hashScheme ?? DEFAULT_HASH_SCHEME;
  const inHash = ctx.hasher.stream(scheme);
  const outHash = ctx.checksumOutput ? ctx.hasher.stream(scheme) : undefined;
  const input = await open(info.path, "r");
  let output: FileHandle | undefined;
  // Writes queued or in flight (WRITES_IN_FLIGHT at once); all awaited before returning.
  const writes = new Set<Promise<unknown>>();
  // Background fdatasyncs through the lane (SYNC_MIN_BYTES); without a lane of the caller's, drained before returning.
  const ownLane = ctx.syncLane === undefined;
  const lane = ctx.syncLane ?? new SyncLane();
  let stopSyncing = (): void => undefined;
  try {
    output = await open(outputPath, "wx");
    const out = output;
    let outPos = 0;
    let bytesWritten = 0;
    let syncedUpTo = 0;
    let writeFailure: { error: unknown } | undefined;
    const syncWhenDue = () => {
      if (lane.hasRoom && bytesWritten - syncedUpTo >= SYNC_MIN_BYTES) {
        syncedUpTo = bytesWritten;
        lane.sync(outputPath, clocks.sync);
      }
    };
    stopSyncing = lane.whenRoom(syncWhenDue);
    const slots = new Slots(WRITES_IN_FLIGHT);
    // With checksumOutput, blocks reach the output hash in output order, whatever order the writes end in.
    let outHashQueued: Promise<unknown> = Promise.resolve();
    /**
     * Queues `segments` to be written at the current end (its own offset: up to WRITES_IN_FLIGHT
     * writes run at once) and returns at once: reading and hashing run ahead of a slow write, as far
     * as the block pools allow. `done` settles when they are written (and hashed, with checksumOutput).
     */
    const write = (segments: Uint8Array[]): { done: Promise<unknown> } => {
      const at = outPos;
      const length = segments.reduce((n, b) => n + b.byteLength, 0);
      outPos += length;
      const written = started(
        (async () => {
          await slots.take();
          try {
            await clocks.write.time<unknown>(() => (segments.length === 1 ? out.write(segments[0], 0, length, at) : out.writev(segments, at)));
          } finally {
            slots.give();
          }
          ctx.onBytes(length);
          bytesWritten += length;
          syncWhenDue();
        })(),
      );
      written.catch((error: unknown) => (writeFailure ??= { error }));
      writes.add(written);
      void written.then(
        () => writes.delete(written),
        () => writes.delete(written),
      );
      if (outHash === undefined) return { done: written };
      const hashes: Promise<void>[] = [];
      outHashQueued = started(
        outHashQueued.then(async () => {
          for (const bytes of segments) hashes.push((await outHash.update(bytes)).hashed);
        }),
      );
      return { done: started(Promise.all([written, outHashQueued.then(() => Promise.all(hashes))])) };
    };
    // A read or write that fails while another step is awaited must not become an unhandled rejection:
    // each promise gets a no-op handler and is still awaited (and its error thrown) in order.
    function started<T>(p: Promise<T>): Promise<T> {
      p.catch(() => undefined);
      return p;
    }
    write([layout.header]);

    const pool = ctx.pool ?? new BlockPool(ctx.chunkBytes, POOL_BLOCKS);
    const outputPool = ctx.outputPool ?? new BlockPool(ctx.chunkBytes, OUTPUT_POOL_BLOCKS, false);
    const readPiece = async (p: Piece) => {
      const block = await pool.acquire(p.length);
      try {
        return { bytes: await clocks.read.time(() => readExactly(input, block.bytes, p.position, info.path)), release: block.release };
      } catch (e) {
        block.release();
        throw e;
      }
    };
    const releaseAfter = (work: Promise<unknown>[], release: () => void) => void Promise.all(work).then(release, release);
    // Reads in offset order: the one of the current piece and up to READ_AHEAD after it.
    const reads: ReturnType<typeof readPiece>[] = [];
    let nextRead = 0;
    for (let i = 0; i < pieces.length; i++) {
      if (ctx.signal?.aborted) throw new GacError("ABORTED", `repair of ${names.input} was interrupted`);
      if (writeFailure) throw writeFailure.error;
      for (; nextRead < pieces.length && nextRead <= i + READ_AHEAD; nextRead++) reads.push(started(readPiece(pieces[nextRead])));
      const piece = pieces[i];
      const block = await timed("waitRead", reads.shift()!);
      // The write is queued before the block goes to the hash worker, so a full hash queue never holds it back.
      let written: Promise<unknown> | undefined;
      if (piece.kind === "copy") {
        written = write([block.bytes]).done;
      } else if (piece.kind === "edit") {
        const columnViews = COLUMN_VIEWS && outHash === undefined;
        const need = scratchBytes(piece.length, piece.edit, piece.dtype, columnViews);
        const scale = need.scale > 0 ? await timed("waitOutputBlock", outputPool.acquire(need.scale)) : undefined;
        const cols = need.cols > 0 ? await timed("waitOutputBlock", outputPool.acquire(need.cols)) : undefined;
        // Row padding hands out views of the input block (or of the folded copy): they stay held until the write is done.
        const tt = performance.now();
        const segments = transformBlock(block.bytes, piece.firstRow, piece.edit, piece.dtype, { scale: scale?.bytes, cols: cols?.bytes, columnViews });
        waits.transform += since(tt);
        written = write(segments).done;
        if (scale) releaseAfter([written], scale.release);
        if (cols) releaseAfter([written], cols.release);
      }
      const inDone = (await timed("waitHash", inHash.update(block.bytes))).hashed;
      releaseAfter(written ? [inDone, written] : [inDone], block.release);
    }
    while (writes.size > 0) await Promise.all(writes);
    stopSyncing();
    if (ownLane) await lane.drain();
    if (outPos !== layout.totalSize) {
      throw new GacError("SHAPE_SIZE_MISMATCH", `${names.output}: wrote ${formatCount(outPos)} bytes but its header describes ${formatCount(layout.totalSize)}: a bug in repair`);
    }
    const inputDigest: FileDigest = { name: names.input, bytes: info.size, ...(await inHash.finish()) };
    const outputFile: OutputFile = { name: names.output, bytes: outPos, ...(outHash === undefined ? {} : await outHash.finish()) };
    const timings: StreamTimings = {
      stream: since(t0),
      readBusy: clocks.read.seconds,
      writeBusy: clocks.write.seconds,
      syncBusy: clocks.sync.secondsSoFar(),
      hashBusy: inHash.busySeconds + (outHash?.busySeconds ?? 0),
      ...waits,
    };
    return { input: inputDigest, output: outputFile, timings };
  } finally {
    stopSyncing();
    // After a failure, writes may still be running on the handles: let them end first.
    await Promise.all([...writes].map((p) => p.catch(() => undefined)));
    if (ownLane) await lane.drain().catch(() => undefined);
    await input.close();
    await output?.close();
  }
}

/** The size of the repaired file, known before any byte is written (for progress totals). */
export function repairedFileSize(info: SafetensorsFileInfo, edits: ReadonlyMap<string, TensorEdit>): number {
  const ordered = [...info.tensors].sort((a, b) => a.start - b.start);
  return planSafetensorsLayout(
    ordered.map((t) => ({ name: t.name, dtype: t.dtype, shape: edits.get(t.name)?.to ?? t.shape })),
    info.metadata,
  ).totalSize;
}
