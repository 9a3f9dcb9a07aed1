/**
 * One sha256 worker thread of the hash pool (hash-pool.ts). It runs two kinds of work: streams fed
 * block by block from the main thread (update, then digest), and byte ranges of a file it reads
 * itself by position (a file the main thread copies without reading it). Blocks in
 * SharedArrayBuffers are shared, others are copied by postMessage (only transformed blocks).
 *
 * Failure: a worker that throws or exits while work is pending rejects every pending promise with
 * one GacError (never a hang), and every later call with the same error.
 */
import { Worker } from "node:worker_threads";
import { GacError } from "../errors.js";

/** The worker's read size when it reads a file range itself. */
const FILE_READ_BYTES = 4 * 1024 * 1024;

export const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const { openSync, readSync, closeSync } = require("node:fs");
const hashes = new Map();
let fileBuffer;
// Seconds spent hashing, sent with each reply (the main thread sums them: how busy the worker was).
const now = () => performance.now() / 1000;
parentPort.on("message", (m) => {
  if (m.op === "range") {
    // Bytes [start, start + length) of a file (to its end when toEnd), read here by position.
    const t0 = now();
    try {
      fileBuffer ??= Buffer.allocUnsafe(${FILE_READ_BYTES});
      const h = createHash("sha256");
      const fd = openSync(m.path, "r");
      let bytes = 0;
      try {
        for (;;) {
          const want = m.toEnd ? fileBuffer.length : Math.min(fileBuffer.length, m.length - bytes);
          if (want <= 0) break;
          const n = readSync(fd, fileBuffer, 0, want, m.start + bytes);
          if (n === 0) break;
          h.update(fileBuffer.subarray(0, n));
          bytes += n;
        }
      } finally {
        closeSync(fd);
      }
      parentPort.postMessage({ op: "range", id: m.id, hex: h.digest("hex"), bytes, seconds: now() - t0 });
    } catch (e) {
      parentPort.postMessage({ op: "range", id: m.id, error: String(e && e.message || e), seconds: now() - t0 });
    }
  } else if (m.op === "update") {
    const t0 = now();
    let h = hashes.get(m.id);
    if (!h) { h = createHash("sha256"); hashes.set(m.id, h); }
    h.update(m.bytes);
    parentPort.postMessage({ op: "ack", seq: m.seq, bytes: m.bytes.byteLength, seconds: now() - t0 });
  } else {
    const h = hashes.get(m.id) ?? createHash("sha256");
    hashes.delete(m.id);
    parentPort.postMessage({ op: "digest", id: m.id, hex: h.digest("hex") });
  }
});
`;

type Reply =
  | { op: "ack"; seq: number; bytes: number; seconds: number }
  | { op: "digest"; id: number; hex: string }
  | { op: "range"; id: number; hex?: string; bytes?: number; error?: string; seconds: number };

export interface RangeHash {
  sha256: string;
  bytes: number;
  seconds: number;
}

interface Pending<T> {
  resolve: (value: T) => void;
  reject: (error: Error) => void;
}

export class HashWorker {
  private readonly worker: Worker;
  /** Bytes posted and not yet hashed (the pool's back-pressure and its choice of worker). */
  pendingBytes = 0;
  private failure: GacError | undefined;
  private closing = false;
  private nextSeq = 0;
  private readonly acks = new Map<number, Pending<number>>();
  private readonly digests = new Map<number, Pending<string>>();
  private readonly ranges = new Map<number, Pending<RangeHash>>();
  private readonly drained: Pending<void>[] = [];
  /** Seconds the worker has spent hashing (reading too, for ranges), over its life. */
  busySeconds = 0;

  /** `source`: the worker's code (tests pass one that fails). */
  constructor(source: string = WORKER_SOURCE) {
    this.worker = new Worker(source, { eval: true });
    this.worker.on("message", (m: Reply) => this.onReply(m));
    this.worker.on("error", (e) => this.fail(`a hash worker failed: ${e.message}`));
    this.worker.on("exit", (code) => {
      if (!this.closing) this.fail(`a hash worker exited (code ${code}) with work pending`);
    });
  }

  private onReply(m: Reply): void {
    if (m.op === "ack") {
      this.busySeconds += m.seconds;
      this.pendingBytes -= m.bytes;
      take(this.acks, m.seq)?.resolve(m.seconds);
      for (const w of this.drained.splice(0)) w.resolve();
    } else if (m.op === "digest") {
      take(this.digests, m.id)?.resolve(m.hex);
    } else {
      this.busySeconds += m.seconds;
      const p = take(this.ranges, m.id);
      if (m.error !== undefined || m.hex === undefined || m.bytes === undefined) p?.reject(new Error(m.error ?? "no digest"));
      else p?.resolve({ sha256: m.hex, bytes: m.bytes, seconds: m.seconds });
    }
  }

  private fail(message: string): void {
    this.failure ??= new GacError("WORKER_FAILED", `${message}; nothing was written: rerun, and report it if it happens again`);
    const all: Pending<never>[] = [...this.acks.values(), ...this.digests.values(), ...this.ranges.values(), ...this.drained.splice(0)];
    this.acks.clear();
    this.digests.clear();
    this.ranges.clear();
    for (const p of all) p.reject(this.failure);
  }

  private check(): void {
    if (this.failure) throw this.failure;
    if (this.closing) throw new Error("the hash worker is closed");
  }

  /** Resolves once fewer than `bound` bytes wait in this worker's queue. */
  async room(bound: number): Promise<void> {
    this.check();
    while (this.pendingBytes > bound) await new Promise<void>((resolve, reject) => this.drained.push({ resolve, reject }));
  }

  /**
   * Queues `bytes` for stream `id` (any number, unique per stream within this worker) and returns a
   * promise that settles once they are hashed (with the seconds that took): only then may a shared
   * buffer be reused.
   */
  update(id: number, bytes: Uint8Array): Promise<number> {
    this.check();
    this.pendingBytes += bytes.byteLength;
    // A view on a SharedArrayBuffer is shared; a view on a large ArrayBuffer would be cloned whole, so copy just the view.
    const shared = bytes.buffer instanceof SharedArrayBuffer || (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength);
    const seq = this.nextSeq++;
    const hashed = new Promise<number>((resolve, reject) => this.acks.set(seq, { resolve, reject }));
    this.worker.postMessage({ op: "update", id, seq, bytes: shared ? bytes : bytes.slice() });
    return hashed;
  }

  /** The sha256 of everything stream `id` was fed (of nothing, for a stream never fed). */
  digest(id: number): Promise<string> {
    this.check();
    return new Promise((resolve, reject) => {
      this.digests.set(id, { resolve, reject });
      this.worker.postMessage({ op: "digest", id });
    });
  }

  /**
   * The sha256 of bytes [start, start + length) of the file at `path` (to its end with `toEnd`),
   * how many bytes there were (fewer than `length` when the file is shorter) and the seconds it took.
   * Rejects with the read's error message.
   */
  hashRange(id: number, path: string, start: number, length: number, toEnd: boolean): Promise<RangeHash> {
    this.check();
    return new Promise((resolve, reject) => {
      this.ranges.set(id, { resolve, reject });
      this.worker.postMessage({ op: "range", id, path, start, length, toEnd });
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.worker.terminate();
  }
}

function take<T>(map: Map<number, T>, key: number): T | undefined {
  const v = map.get(key);
  map.delete(key);
  return v;
}
