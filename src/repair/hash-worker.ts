/**
 * sha256 off the main thread. Hashing input and output is ~2 x 1.5 GB/s of CPU on one core, as much
 * as the copy itself; a worker runs it beside the reads, transforms and writes. Blocks in
 * SharedArrayBuffers are shared, others are copied by postMessage (only transformed blocks).
 * At most MAX_PENDING_BYTES wait in the worker's queue, so memory stays bounded when it lags.
 */
import { Worker } from "node:worker_threads";

/** Queue bound: 4 blocks of 16 MiB. */
const MAX_PENDING_BYTES = 64 * 1024 * 1024;

const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const hashes = new Map();
parentPort.on("message", (m) => {
  if (m.op === "update") {
    let h = hashes.get(m.id);
    if (!h) { h = createHash("sha256"); hashes.set(m.id, h); }
    h.update(m.bytes);
    parentPort.postMessage({ op: "ack", bytes: m.bytes.byteLength });
  } else {
    const h = hashes.get(m.id) ?? createHash("sha256");
    hashes.delete(m.id);
    parentPort.postMessage({ op: "digest", id: m.id, hex: h.digest("hex") });
  }
});
`;

export class HashWorker {
  private readonly worker = new Worker(WORKER_SOURCE, { eval: true });
  private pending = 0;
  private drained: (() => void)[] = [];
  private digests = new Map<number, (hex: string) => void>();
  private failure: Error | undefined;
  private nextId = 0;

  constructor() {
    this.worker.on("message", (m: { op: "ack"; bytes: number } | { op: "digest"; id: number; hex: string }) => {
      if (m.op === "ack") {
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
    });
  }

  /** A new hash stream; feed it with update(), finish it with digest(). */
  open(): number {
    return this.nextId++;
  }

  /** Queues `bytes` for stream `id`; waits while the worker's queue is full. The caller must not modify `bytes` afterwards. */
  async update(id: number, bytes: Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    while (this.pending > MAX_PENDING_BYTES) {
      await new Promise<void>((wake) => this.drained.push(wake));
      if (this.failure) throw this.failure;
    }
    this.pending += bytes.byteLength;
    // A view on a SharedArrayBuffer is shared; a view on a large ArrayBuffer would be cloned whole, so copy just the view.
    const shared = bytes.buffer instanceof SharedArrayBuffer || (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength);
    this.worker.postMessage({ op: "update", id, bytes: shared ? bytes : bytes.slice() });
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

/** A buffer the worker can read without a copy. */
export function sharedBuffer(length: number): Buffer {
  return Buffer.from(new SharedArrayBuffer(length));
}
