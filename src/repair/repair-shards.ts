/**
 * Writes the repaired copy of every safetensors file of a checkpoint, several at a time, hashing
 * every input file on the repair's hash pool while it is copied (hash-pool.ts; never a second pass).
 *
 * A file that no edit touches and whose data is one contiguous run after its header (no gaps, no
 * tail) is copied whole with fs.copyFile (a reflink where the filesystem has them, else the
 * kernel's in-kernel copy: the bytes never pass through gac), while the hash workers read and hash
 * the input's chunks beside it; the copy keeps the input's own header, so the file is byte-identical to its
 * input. Every other file streams through streamShard: headers rewritten, untouched tensors copied
 * in blocks, padded ones as views and zeros, only folded ones decoded.
 *
 * Concurrency: a quarter of the cores' worth of files at once (1 on a 2-core machine, 4 on 16
 * cores): each in-flight file keeps the main thread's reads and writes and the hash workers busy.
 * Memory: each in-flight streamed file has its own block pools (9 blocks, plus the chunk hashes'
 * backlog: hashBacklogBlocks), so blocks shrink to 4 MiB above two files at once, keeping the pools
 * at 144 MiB for four files (288 MiB for two) plus a backlog of 96 MiB in all with four hash workers.
 */
import { constants } from "node:fs";
import { copyFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { GacError, formatCount } from "../errors.js";
import { LENGTH_PREFIX_BYTES } from "../checkpoint/safetensors-header.js";
import type { SafetensorsFileInfo } from "../checkpoint/types.js";
import { BlockPool } from "./block-pool.js";
import type { HashScheme } from "./file-hash.js";
import type { HashPool } from "./hash-pool.js";
import { OUTPUT_POOL_BLOCKS, POOL_BLOCKS, streamShard, type FileDigest, type OutputFile } from "./stream-shard.js";
import type { TensorEdit } from "./tensor-edits.js";
import { emptyStreamTimings, since, type StreamTimings } from "./stream-timings.js";
import { SyncLane } from "./sync-lane.js";

export interface ShardJob {
  info: SafetensorsFileInfo;
  /** Path relative to the checkpoint directory (same in input and output). */
  name: string;
  outputPath: string;
}

export interface ShardsOptions {
  chunkBytes: number;
  onBytes: (n: number) => void;
  signal?: AbortSignal;
  checksumOutput: boolean;
  /** The repair's hash workers (shared by every file) and the scheme they hash in. */
  hashes: HashPool;
  hashScheme: HashScheme;
  /** Files in flight at once (default: availableParallelism() / 4, between 1 and 4). */
  concurrency?: number;
}

/** How each output file was made, for the manifest. */
export type ShardMethod = "copied" | "streamed";

export interface ShardResult {
  input: FileDigest;
  output: OutputFile;
  method: ShardMethod;
  /** Where the file's time went (a copied file: the copy's wall time as `stream`, the workers' hash as `hashBusy`). */
  timings: StreamTimings;
}

/**
 * Above two files in flight, blocks are at most this size: each file holds POOL_BLOCKS +
 * OUTPUT_POOL_BLOCKS = 9 blocks, so four files hold 144 MiB (sequential throughput is flat above a
 * few MiB per read).
 */
const CONCURRENT_CHUNK_BYTES = 4 * 1024 * 1024;

export function defaultShardConcurrency(): number {
  return Math.max(1, Math.min(4, Math.floor(availableParallelism() / 4)));
}

/** True when no edit touches the file and its tensors fill it exactly, header to end (the copy is then the repaired file). */
export function isCopyableShard(info: SafetensorsFileInfo, edits: ReadonlyMap<string, TensorEdit>): boolean {
  if (info.tensors.some((t) => edits.has(t.name))) return false;
  let position = LENGTH_PREFIX_BYTES + info.headerLength;
  for (const t of [...info.tensors].sort((a, b) => a.start - b.start)) {
    if (t.start !== position) return false;
    position += t.byteLength;
  }
  return position === info.size;
}

/**
 * Read blocks a streamed file holds beyond POOL_BLOCKS so that its chunks hash on several workers at
 * once: the main thread runs up to a queue bound ahead of each chunk's worker (hash-pool.ts), so
 * (workers - 1) queue bounds of blocks wait to be hashed, shared among the files in flight. None for
 * one worker or the whole-file scheme (one stream per file: no gain). Four workers, one file, 16 MiB
 * blocks: 6 more blocks (96 MiB).
 */
export function hashBacklogBlocks(scheme: HashScheme, workers: number, queueBytes: number, filesInFlight: number, blockBytes: number): number {
  if (scheme === "sha256" || workers <= 1) return 0;
  return Math.ceil(((workers - 1) * queueBytes) / filesInFlight / blockBytes);
}

/** Copies an untouched file with the cheapest call while the hash workers read and hash the input; fsyncs in the background. */
async function copyShard(job: ShardJob, opts: ShardsOptions, lane: SyncLane): Promise<ShardResult> {
  const { info, name, outputPath } = job;
  const { hashes, hashScheme, checksumOutput } = opts;
  const t0 = performance.now();
  const [, hashed] = await Promise.all([copyFile(info.path, outputPath, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE), hashes.hashFile(info.path, info.size, hashScheme)]);
  if (hashed.bytes !== info.size) {
    throw new GacError("INPUT_CHANGED", `${info.path} has ${formatCount(hashed.bytes)} bytes now but ${formatCount(info.size)} when its header was read: the input changed while gac read it`);
  }
  lane.sync(outputPath);
  let output: OutputFile = { name, bytes: info.size };
  let outSeconds = 0;
  if (checksumOutput) {
    // Opt-in second read, of the output (the copy never passed through gac, so it is read back to be hashed).
    const out = await hashes.hashFile(outputPath, info.size, hashScheme);
    output = { name, bytes: out.bytes, ...out.hash };
    outSeconds = out.seconds;
  }
  const timings = { ...emptyStreamTimings(), stream: since(t0), hashBusy: hashed.seconds + outSeconds };
  return { input: { name, bytes: info.size, ...hashed.hash }, output, method: "copied", timings };
}

/**
 * Repairs every file of `jobs` (in any order, `concurrency` at a time); results come back in the
 * jobs' order. After a failure no new file starts; the ones in flight finish, then the first error
 * is thrown.
 */
export async function repairShards(jobs: readonly ShardJob[], edits: ReadonlyMap<string, TensorEdit>, opts: ShardsOptions): Promise<ShardResult[]> {
  const concurrency = Math.max(1, Math.min(jobs.length, opts.concurrency ?? defaultShardConcurrency()));
  const chunkBytes = concurrency > 2 ? Math.min(opts.chunkBytes, CONCURRENT_CHUNK_BYTES) : opts.chunkBytes;
  const results: ShardResult[] = new Array(jobs.length);
  // One sync per file in flight for the whole repair (sync-lane.ts): a finished file is flushed while
  // the next streams, and the final fsync of the output tree then finds the data clean.
  const lane = new SyncLane(concurrency);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const readBlocks = POOL_BLOCKS + hashBacklogBlocks(opts.hashScheme, opts.hashes.size, opts.hashes.pendingBound, concurrency, chunkBytes);
  const slot = async () => {
    let pools: { pool: BlockPool; outputPool: BlockPool } | undefined;
    try {
      while (failure === undefined && next < jobs.length) {
        const i = next++;
        const job = jobs[i];
        if (opts.signal?.aborted) throw new GacError("ABORTED", `repair of ${job.name} was interrupted`);
        if (isCopyableShard(job.info, edits)) {
          results[i] = await copyShard(job, opts, lane);
          opts.onBytes(job.info.size);
        } else {
          pools ??= { pool: new BlockPool(chunkBytes, readBlocks), outputPool: new BlockPool(chunkBytes, OUTPUT_POOL_BLOCKS, false) };
          const d = await streamShard(job.info, { input: job.name, output: job.name }, job.outputPath, edits, {
            chunkBytes,
            onBytes: opts.onBytes,
            signal: opts.signal,
            hasher: opts.hashes,
            hashScheme: opts.hashScheme,
            ...pools,
            syncLane: lane,
            checksumOutput: opts.checksumOutput,
          });
          results[i] = { ...d, method: "streamed" };
          // The part written after streamShard's last background fdatasync is still dirty.
          lane.sync(job.outputPath);
        }
      }
    } catch (e) {
      failure ??= { error: e };
    }
  };
  await Promise.all(Array.from({ length: concurrency }, slot));
  const synced = await lane.drain().then(
    () => undefined,
    (error: unknown) => ({ error }),
  );
  if (failure) throw failure.error;
  if (synced) throw synced.error;
  return results;
}
