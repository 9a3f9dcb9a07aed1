import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GacError } from "../../src/errors.js";
import { hashBytes } from "../../src/repair/file-hash.js";
import { HashPool, hashQueueBytes } from "../../src/repair/hash-pool.js";
import { HashWorker } from "../../src/repair/hash-worker.js";
import { checkHashesUnchanged } from "../../src/repair/input-guard.js";
import { hashBacklogBlocks } from "../../src/repair/repair-shards.js";
import { defaultChunkBytes, type FileDigest } from "../../src/repair/stream-shard.js";

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), "gac-hash-pool-"));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

function sliceDigests(bytes: Uint8Array, chunk: number): string[] {
  const out: string[] = [];
  for (let at = 0; at < bytes.length; at += chunk) out.push(sha256(bytes.subarray(at, at + chunk)));
  return out;
}

/** Feeds `bytes` to a pool stream in `block`-byte views of one SharedArrayBuffer (as streamShard's read blocks are). */
async function streamed(pool: HashPool, bytes: Uint8Array, block: number, scheme: "sha256" | "sha256-chunks", chunk: number) {
  const shared = new Uint8Array(new SharedArrayBuffer(bytes.length));
  shared.set(bytes);
  const s = pool.stream(scheme, chunk);
  const hashed: Promise<void>[] = [];
  for (let at = 0; at < bytes.length; at += block) hashed.push((await s.update(shared.subarray(at, at + block))).hashed);
  await Promise.all(hashed);
  return s.finish();
}

test("chunks streamed in blocks that straddle chunk edges hash on three workers to each slice's sha256, in file order", async () => {
  const pool = new HashPool({ workers: 3 });
  try {
    const bytes = randomBytes(25_013);
    assert.deepEqual(await streamed(pool, bytes, 1_777, "sha256-chunks", 1_000), { sha256Chunks: sliceDigests(bytes, 1_000) });
    assert.deepEqual(await streamed(pool, bytes, 1_777, "sha256", 1_000), { sha256: sha256(bytes) });
    // Plain (not shared) blocks are copied to the workers: same digests.
    const s = pool.stream("sha256-chunks", 1_000);
    for (let at = 0; at < bytes.length; at += 4_001) await s.update(bytes.subarray(at, at + 4_001));
    assert.deepEqual(await s.finish(), { sha256Chunks: sliceDigests(bytes, 1_000) });
    // An empty stream is one chunk, the sha256 of nothing.
    assert.deepEqual(await pool.stream("sha256-chunks", 1_000).finish(), hashBytes(new Uint8Array(0), "sha256-chunks"));
  } finally {
    await pool.close();
  }
});

test("a file read by the workers themselves, by chunk ranges, hashes to each slice's sha256 and its size", async () => {
  const bytes = randomBytes(9_500);
  const path = join(root, "ranges.bin");
  await writeFile(path, bytes);
  const pool = new HashPool({ workers: 3 });
  try {
    const chunks = await pool.hashFile(path, bytes.length, "sha256-chunks", 1_000);
    assert.deepEqual({ hash: chunks.hash, bytes: chunks.bytes }, { hash: { sha256Chunks: sliceDigests(bytes, 1_000) }, bytes: 9_500 });
    const whole = await pool.hashFile(path, bytes.length, "sha256", 1_000);
    assert.deepEqual({ hash: whole.hash, bytes: whole.bytes }, { hash: { sha256: sha256(bytes) }, bytes: 9_500 });
  } finally {
    await pool.close();
  }
});

test("a file shorter or longer than expected reports the bytes it held, so the caller sees the change", async () => {
  const path = join(root, "changed.bin");
  await writeFile(path, randomBytes(5_000));
  const pool = new HashPool({ workers: 2 });
  try {
    assert.equal((await pool.hashFile(path, 5_000, "sha256-chunks", 1_000)).bytes, 5_000);
    await truncate(path, 2_500);
    assert.equal((await pool.hashFile(path, 5_000, "sha256-chunks", 1_000)).bytes, 2_500);
    assert.equal((await pool.hashFile(path, 1_000, "sha256-chunks", 1_000)).bytes, 2_500, "the last range reads to the end");
    assert.equal((await pool.hashFile(path, 5_000, "sha256", 1_000)).bytes, 2_500);
  } finally {
    await pool.close();
  }
});

test("with --checksum-output the final re-hash finds a changed input in either scheme and names the chunk", async () => {
  const bytes = randomBytes(3_000);
  await writeFile(join(root, "a.bin"), bytes);
  const pool = new HashPool({ workers: 2 });
  try {
    for (const scheme of ["sha256", "sha256-chunks"] as const) {
      await writeFile(join(root, "a.bin"), bytes);
      const digest: FileDigest = { name: "a.bin", bytes: bytes.length, ...hashBytes(bytes, scheme) };
      await checkHashesUnchanged(root, [digest], pool);
      const changed = Buffer.from(bytes);
      changed[2_999] ^= 1;
      await writeFile(join(root, "a.bin"), changed);
      await assert.rejects(
        checkHashesUnchanged(root, [digest], pool),
        (e: unknown) => e instanceof GacError && e.code === "INPUT_CHANGED" && (scheme === "sha256" ? /its sha256 is/ : /chunk 0 of 1/).test(e.message),
      );
      await writeFile(join(root, "a.bin"), bytes.subarray(0, 100));
      await assert.rejects(checkHashesUnchanged(root, [digest], pool), (e: unknown) => e instanceof GacError && e.code === "INPUT_CHANGED" && /size 3,000 -> 100/.test(e.message));
    }
  } finally {
    await pool.close();
  }
});

for (const [what, source] of [
  ["throws", `require("node:worker_threads").parentPort.on("message", () => { throw new Error("boom"); });`],
  ["exits", `require("node:worker_threads").parentPort.on("message", () => process.exit(3));`],
] as const) {
  // The timeout turns a hang into a failure.
  test(`a hash worker that ${what} fails the stream and the file read with WORKER_FAILED, without hanging`, { timeout: 20_000 }, async () => {
    const pool = new HashPool({ workers: 2, newWorker: () => new HashWorker(source) });
    const failed = (e: unknown) => e instanceof GacError && e.code === "WORKER_FAILED" && /a hash worker (failed: boom|exited \(code 3\))/.test(e.message);
    try {
      const s = pool.stream("sha256-chunks", 1_000);
      const first = await s.update(new Uint8Array(1_500));
      await assert.rejects(first.hashed, failed);
      await assert.rejects(
        (async () => {
          await s.update(new Uint8Array(10));
          await s.finish();
        })(),
        failed,
      );
      await writeFile(join(root, "w.bin"), randomBytes(100));
      await assert.rejects(pool.hashFile(join(root, "w.bin"), 100, "sha256-chunks"), failed);
    } finally {
      await pool.close();
    }
  });
}

test("one worker queues one 16 MiB block; several queue half a chunk, and a one-file stream holds their backlog in read blocks", () => {
  assert.equal(hashQueueBytes(1), 16 * 1024 * 1024);
  assert.equal(hashQueueBytes(4), 32 * 1024 * 1024);
  const mib = 1024 * 1024;
  assert.equal(hashBacklogBlocks("sha256-chunks", 4, 32 * mib, 1, 16 * mib), 6);
  assert.equal(hashBacklogBlocks("sha256-chunks", 4, 32 * mib, 4, 4 * mib), 6);
  assert.equal(hashBacklogBlocks("sha256", 4, 32 * mib, 1, 16 * mib), 0);
  assert.equal(hashBacklogBlocks("sha256-chunks", 1, 16 * mib, 1, 16 * mib), 0);
});

test("a repair with one hash worker streams in 4 MiB blocks; with several, in 16 MiB blocks so that a file's chunks still hash four at once", () => {
  const mib = 1024 * 1024;
  assert.equal(defaultChunkBytes(1), 4 * mib);
  assert.equal(defaultChunkBytes(4), 16 * mib);
  // The main thread runs a queue bound plus one block ahead of a chunk's worker (hash-pool.ts).
  const chunksAtOnce = (workers: number) => 64 / (64 - hashQueueBytes(workers) / mib - defaultChunkBytes(workers) / mib);
  assert.equal(chunksAtOnce(4), 4);
});
