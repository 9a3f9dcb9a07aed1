/**
 * sha256 off the main thread. Hashing input and output is ~2 x 1.5 GB/s of CPU on one core, as much
 * as the copy itself; a worker runs it beside the reads, transforms and writes. Blocks in
 * SharedArrayBuffers are shared, others are copied by postMessage (only transformed blocks).
 * At most MAX_PENDING_BYTES wait in the worker's queue, so memory stays bounded when it lags.
 */
import { Worker } from "node:worker_threads";

/** Queue bound: one 16 MiB block (more only raised peak memory, not speed). */
const MAX_PENDING_BYTES = 16 * 1024 * 1024;

/** The worker's read size when it hashes a whole file itself (hashFile). */
const FILE_READ_BYTES = 4 * 1024 * 1024;

const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const { openSync, readSync, closeSync } = require("node:fs");
const hashes = new Map();
let fileBuffer;
// Seconds spent hashing, sent with each reply (the main thread sums them: how busy the worker was).
const now = () => performance.now() / 1000;
parentPort.on("message", (m) => {
  if (m.op === "file") {
    // A whole file read here, beside the main thread's kernel copy of it (one read by each).
    const t0 = now();
    try {
      fileBuffer ??= Buffer.allocUnsafe(${FILE_READ_BYTES});
      const h = createHash("sha256");
      const fd = openSync(m.path, "r");
      let bytes = 0;
      try {
        for (let n; (n = readSync(fd, fileBuffer, 0, fileBuffer.length, bytes)) > 0; bytes += n) h.update(fileBuffer.subarray(0, n));
      } finally {
        closeSync(fd);
      }
      parentPort.postMessage({ op: "file", id: m.id, hex: h.digest("hex"), bytes, seconds: now() - t0 });
    } catch (e) {
      parentPort.postMessage({ op: "file", id: m.id, error: String(e && e.message || e) });
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

interface FileMessage {
  op: "file";
  id: number;
  hex?: string;
  bytes?: number;
  error?: string;
  seconds?: number;
}

export class HashWorker {
  private readonly worker = new Worker(WORKER_SOURCE, { eval: true });
  private pending = 0;
  private drained: (() => void)[] = [];
  private digests = new Map<number, (hex: string) => void>();
  private failure: Error | undefined;
  private nextId = 0;
  private nextSeq = 0;
  private hashed = new Map<number, () => void>();
  private files = new Map<number, (m: FileMessage) => void>();
  /** Seconds the worker has spent hashing (reading too, for hashFile), over its life. */
  busySeconds = 0;

  constructor() {
    this.worker.on("message", (m: { op: "ack"; seq: number; bytes: number; seconds: number } | { op: "digest"; id: number; hex: string } | FileMessage) => {
      if (m.op === "file") {
        this.busySeconds += m.seconds ?? 0;
        this.files.get(m.id)?.(m);
        this.files.delete(m.id);
      } else if (m.op === "ack") {
        this.busySeconds += m.seconds;
        this.hashed.get(m.seq)?.();
        this.hashed.delete(m.seq);
        this.pending -= m.bytes;
        if (this.pending <= MAX_PENDING_BYTES) for (const wake of this.drained.splice(0)) wake();
      } else {
        this.digests.get(m.id)?.(m.hex);
        this.digests.delete(m.id);
      }
    });
    this.worker.on("error", (e) => {
      this.failure = e;
      for (const wake of this.drained.splice(0)) wake();
      for (const done of this.hashed.values()) done();
      for (const done of this.files.values()) done({ op: "file", id: -1, error: e.message });
    });
  }

  /**
   * The sha256 and size of the file at `path`, read and hashed in the worker (for a file the main
   * thread copies without reading it). Rejects with the read's error message.
   */
  async hashFile(path: string): Promise<{ sha256: string; bytes: number }> {
    if (this.failure) throw this.failure;
    const id = this.nextId++;
    const m = await new Promise<FileMessage>((resolve) => {
      this.files.set(id, resolve);
      this.worker.postMessage({ op: "file", id, path });
    });
    if (m.error !== undefined || m.hex === undefined || m.bytes === undefined) throw new Error(`hashing ${path}: ${m.error ?? "no digest"}`);
    return { sha256: m.hex, bytes: m.bytes };
  }

  /** A new hash stream; feed it with update(), finish it with digest(). */
  open(): number {
    return this.nextId++;
  }

  /**
   * Queues `bytes` for stream `id`; waits while the worker's queue is full. Resolves with a promise
   * that settles once the worker has hashed them: only then may a shared buffer be reused.
   */
  async update(id: number, bytes: Uint8Array): Promise<{ hashed: Promise<void> }> {
    if (this.failure) throw this.failure;
    while (this.pending > MAX_PENDING_BYTES) {
      await new Promise<void>((wake) => this.drained.push(wake));
      if (this.failure) throw this.failure;
    }
    this.pending += bytes.byteLength;
    // A view on a SharedArrayBuffer is shared; a view on a large ArrayBuffer would be cloned whole, so copy just the view.
    const shared = bytes.buffer instanceof SharedArrayBuffer || (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength);
    const seq = this.nextSeq++;
    const hashed = new Promise<void>((resolve) => this.hashed.set(seq, resolve));
    this.worker.postMessage({ op: "update", id, seq, bytes: shared ? bytes : bytes.slice() });
    return { hashed };
  }

  async digest(id: number): Promise<string> {
    if (this.failure) throw this.failure;
    return new Promise((resolve) => {
      this.digests.set(id, resolve);
      this.worker.postMessage({ op: "digest", id });
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

/**
 * A few buffers reused for every read (shared) or padded output block (plain). Fresh 16 MiB buffers per read were freed only
 * when V8 got round to it (peak RSS 563 MB on a 2 GB checkpoint); a fixed pool bounds the memory
 * and, by making a read wait for a free buffer, is also the pipeline's back-pressure.
 */
export class BlockPool {
  private free: (SharedArrayBuffer | ArrayBuffer)[] = [];
  private waiting: ((b: SharedArrayBuffer | ArrayBuffer) => void)[] = [];

  /**
   * `shared`: SharedArrayBuffers (read blocks: the hash worker reads them in place) or plain ones
   * (output blocks: row-by-row copies into shared memory are several times slower; with
   * checksumOutput they are copied to the worker).
   */
  constructor(
    readonly blockBytes: number,
    count: number,
    private readonly shared = true,
  ) {
    for (let i = 0; i < count; i++) this.free.push(this.newBuffer(blockBytes));
  }

  private newBuffer(bytes: number): SharedArrayBuffer | ArrayBuffer {
    return this.shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
  }

  /** A view of `length` bytes on a pooled buffer (a fresh one when `length` exceeds the block size: one row larger than a block). */
  async acquire(length: number): Promise<{ bytes: Buffer; release: () => void }> {
    if (length > this.blockBytes) return { bytes: Buffer.from(this.newBuffer(length)), release: () => undefined };
    const sab = this.free.pop() ?? (await new Promise<SharedArrayBuffer | ArrayBuffer>((resolve) => this.waiting.push(resolve)));
    let released = false;
    return {
      bytes: Buffer.from(sab, 0, length),
      release: () => {
        if (released) return;
        released = true;
        const next = this.waiting.shift();
        if (next) next(sab);
        else this.free.push(sab);
      },
    };
  }
}
