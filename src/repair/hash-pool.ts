/**
 * The hash workers of one repair, shared by all its files: sha256 off the main thread, beside the
 * reads, transforms and writes, never a second pass.
 *
 * In the "sha256-chunks" scheme (file-hash.ts) every 64 MiB chunk of a file is its own sha256
 * stream, given to the least busy worker when it starts, so the chunks of one file hash on several
 * cores at once; the digests come back in file order whatever order the workers finish in. In the
 * "sha256" scheme a file is one stream on one worker (sequential, 1.15-1.32 GB/s per file on the GPU host we measured).
 *
 * Memory: a worker takes a new block while fewer than `pendingBound` bytes wait in its queue, so at
 * most workers x (pendingBound + one block) are queued in all. Read blocks are shared views (no
 * copy); only transformed output blocks (checksumOutput) are copied to a worker.
 */
import { availableParallelism } from "node:os";
import { isGacError } from "../errors.js";
import { chunkRanges, chunkSpans, fileHashOf, HASH_CHUNK_BYTES, type FileHash, type HashScheme } from "./file-hash.js";
import { HashWorker, type RangeHash } from "./hash-worker.js";

/** Workers: one core is left to the main thread's reads and writes; four hash ~5 GB/s, past the disks repair meets. */
export function defaultHashWorkers(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

/**
 * Queue bound per worker. One worker: one 16 MiB block (more only raised peak memory, not speed).
 * Several: half a chunk, so the main thread can feed a chunk's worker 32 MiB ahead of it and move on
 * to the next chunk on another worker (with a bound b and 64 MiB chunks, one file hashes at up to
 * 64 / (64 - b - block) workers' speed: 2x at 16 MiB, ~4x at 32 MiB with 16 MiB blocks).
 */
export function hashQueueBytes(workers: number): number {
  return workers > 1 ? HASH_CHUNK_BYTES / 2 : 16 * 1024 * 1024;
}

/** A file being hashed as it streams: update() in file order, each awaited before the next; then finish(). */
export interface HashStream {
  /**
   * Queues `bytes` (the next bytes of the file); waits while the worker's queue is full. Resolves
   * with a promise that settles once they are hashed: only then may a shared buffer be reused.
   */
  update(bytes: Uint8Array): Promise<{ hashed: Promise<void> }>;
  /** The file's hash, once every queued byte is hashed. */
  finish(): Promise<FileHash>;
  /** Seconds the workers spent on this file so far. */
  readonly busySeconds: number;
}

export class HashPool {
  private readonly workers: HashWorker[];
  private nextId = 0;
  private turn = 0;
  readonly pendingBound: number;

  /** `workers`: how many (default defaultHashWorkers()); `newWorker`: how one is made (tests pass one that fails). */
  constructor(opts: { workers?: number; newWorker?: () => HashWorker } = {}) {
    const n = Math.max(1, opts.workers ?? defaultHashWorkers());
    this.workers = Array.from({ length: n }, opts.newWorker ?? (() => new HashWorker()));
    this.pendingBound = hashQueueBytes(n);
  }

  get size(): number {
    return this.workers.length;
  }

  /** Seconds all workers have spent hashing (reading too, for hashFile), over their life. */
  get busySeconds(): number {
    return this.workers.reduce((a, w) => a + w.busySeconds, 0);
  }

  /** The worker with the fewest bytes queued (ties taken in turn, so idle workers share new work). */
  private leastBusy(): HashWorker {
    let best = this.workers[this.turn++ % this.workers.length];
    for (const w of this.workers) if (w.pendingBytes < best.pendingBytes) best = w;
    return best;
  }

  /** A new stream id, unique across the pool. */
  private newId(): number {
    return this.nextId++;
  }

  /** Hashes a file as its bytes are fed in order (streamShard); `chunkBytes` is for tests. */
  stream(scheme: HashScheme, chunkBytes: number = HASH_CHUNK_BYTES): HashStream {
    const pool = this;
    let position = 0;
    let open: { worker: HashWorker; id: number } | undefined;
    const digests: Promise<string>[] = [];
    let busy = 0;
    const close = (chunk: { worker: HashWorker; id: number }) => {
      const d = chunk.worker.digest(chunk.id);
      d.catch(() => undefined); // awaited in finish(); a failure before then must not be an unhandled rejection
      digests.push(d);
    };
    return {
      get busySeconds() {
        return busy;
      },
      async update(bytes) {
        const spans = scheme === "sha256" ? [{ offset: 0, length: bytes.byteLength, endsChunk: false }] : chunkSpans(position, bytes.byteLength, chunkBytes);
        position += bytes.byteLength;
        const acks: Promise<number>[] = [];
        for (const span of spans) {
          open ??= { worker: pool.leastBusy(), id: pool.newId() };
          const chunk = open;
          await chunk.worker.room(pool.pendingBound);
          acks.push(chunk.worker.update(chunk.id, bytes.subarray(span.offset, span.offset + span.length)));
          if (span.endsChunk) {
            close(chunk);
            open = undefined;
          }
        }
        const hashed = Promise.all(acks).then((seconds) => void (busy += seconds.reduce((a, b) => a + b, 0)));
        hashed.catch(() => undefined);
        return { hashed };
      },
      async finish() {
        // The last chunk still open, or the one chunk of an empty file.
        if (open !== undefined || digests.length === 0) close(open ?? { worker: pool.leastBusy(), id: pool.newId() });
        open = undefined;
        return fileHashOf(scheme, await Promise.all(digests));
      },
    };
  }

  /**
   * Reads and hashes the file at `path`, expected to hold `size` bytes, on the workers (a file the
   * main thread copies without reading it): each chunk is a range a worker reads by position, so
   * several workers read one file at once. The last range reads to the file's end, so `bytes`
   * (what the file held) differs from `size` when it shrank or grew; the caller compares.
   * Rejects with the read's error message.
   */
  async hashFile(path: string, size: number, scheme: HashScheme, chunkBytes: number = HASH_CHUNK_BYTES): Promise<{ hash: FileHash; bytes: number; seconds: number }> {
    const ranges = chunkRanges(scheme, size, chunkBytes);
    const results: RangeHash[] = new Array(ranges.length);
    let next = 0;
    // One range at a time per worker: a worker busy with another file's stream takes fewer.
    const drain = async (worker: HashWorker) => {
      while (next < ranges.length) {
        const i = next++;
        const r = ranges[i];
        results[i] = await worker.hashRange(this.newId(), path, r.start, r.length, i === ranges.length - 1);
      }
    };
    const lanes = Math.min(this.workers.length, ranges.length);
    const first = this.turn;
    this.turn += lanes;
    try {
      await Promise.all(Array.from({ length: lanes }, (_, k) => drain(this.workers[(first + k) % this.workers.length])));
    } catch (e) {
      if (isGacError(e)) throw e;
      throw new Error(`hashing ${path}: ${e instanceof Error ? e.message : String(e)}`);
    }
    return {
      hash: fileHashOf(
        scheme,
        results.map((r) => r.sha256),
      ),
      bytes: results.reduce((a, r) => a + r.bytes, 0),
      seconds: results.reduce((a, r) => a + r.seconds, 0),
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
  }
}
