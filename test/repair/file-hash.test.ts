import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { chunkCount, chunkRanges, chunkSpans, FileHasher, hashBytes, hashDifference, HASH_CHUNK_BYTES } from "../../src/repair/file-hash.js";

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** The sha256 of each `chunk`-byte slice of `bytes`, computed the obvious way. */
function sliceDigests(bytes: Uint8Array, chunk: number): string[] {
  const out: string[] = [];
  for (let at = 0; at < bytes.length; at += chunk) out.push(sha256(bytes.subarray(at, at + chunk)));
  return out;
}

test("a block straddling chunk edges is split at each edge, and the span reaching an edge ends its chunk", () => {
  assert.deepEqual(chunkSpans(900, 1300, 1000), [
    { chunk: 0, offset: 0, length: 100, endsChunk: true },
    { chunk: 1, offset: 100, length: 1000, endsChunk: true },
    { chunk: 2, offset: 1100, length: 200, endsChunk: false },
  ]);
  assert.deepEqual(chunkSpans(2000, 0, 1000), []);
});

test("a file is at least one chunk, and one ending on a chunk edge has no empty chunk after it", () => {
  assert.deepEqual(
    [0, 1, 1000, 1001, 2000].map((n) => chunkCount(n, 1000)),
    [1, 1, 1, 2, 2],
  );
  assert.deepEqual(chunkRanges("sha256-chunks", 2500, 1000), [
    { start: 0, length: 1000 },
    { start: 1000, length: 1000 },
    { start: 2000, length: 500 },
  ]);
  assert.deepEqual(chunkRanges("sha256", 2500, 1000), [{ start: 0, length: 2500 }]);
  assert.deepEqual(chunkRanges("sha256-chunks", 0, 1000), [{ start: 0, length: 0 }]);
});

test("chunk digests of a file fed in odd blocks equal the sha256 of each slice, in file order", () => {
  const bytes = randomBytes(10_321);
  const hasher = new FileHasher("sha256-chunks", 1000);
  for (let at = 0; at < bytes.length; at += 777) hasher.update(bytes.subarray(at, at + 777));
  assert.deepEqual(hasher.digest(), { sha256Chunks: sliceDigests(bytes, 1000) });
  assert.equal(sliceDigests(bytes, 1000).length, 11);
});

test("a file of at most one chunk has one digest, its whole sha256; the empty file's is the sha256 of nothing", () => {
  const bytes = randomBytes(1000);
  assert.deepEqual(hashBytes(bytes, "sha256-chunks", 1000), { sha256Chunks: [sha256(bytes)] });
  assert.deepEqual(hashBytes(bytes.subarray(0, 10), "sha256-chunks"), { sha256Chunks: [sha256(bytes.subarray(0, 10))] });
  assert.deepEqual(hashBytes(new Uint8Array(0), "sha256-chunks"), { sha256Chunks: ["e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"] });
  assert.deepEqual(hashBytes(new Uint8Array(0), "sha256"), { sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" });
});

test("the whole-file scheme is one sha256 of every byte, whatever the blocks", () => {
  const bytes = randomBytes(5000);
  const hasher = new FileHasher("sha256", 1000);
  hasher.update(bytes.subarray(0, 1500)).update(bytes.subarray(1500));
  assert.deepEqual(hasher.digest(), { sha256: sha256(bytes) });
});

test("at the real 64 MiB chunk size a file one byte past the edge has two chunks, the second of one byte", () => {
  const bytes = new Uint8Array(HASH_CHUNK_BYTES + 1);
  bytes[HASH_CHUNK_BYTES] = 7;
  const hasher = new FileHasher("sha256-chunks");
  for (let at = 0; at < bytes.length; at += 24 * 1024 * 1024) hasher.update(bytes.subarray(at, at + 24 * 1024 * 1024));
  assert.deepEqual(hasher.digest(), { sha256Chunks: [sha256(bytes.subarray(0, HASH_CHUNK_BYTES)), sha256(Uint8Array.of(7))] });
});

test("a difference names the first chunk that differs and its byte range; equal hashes have none", () => {
  const a = { sha256Chunks: ["a".repeat(64), "b".repeat(64), "c".repeat(64)] };
  assert.equal(hashDifference(a, { sha256Chunks: [...a.sha256Chunks] }), undefined);
  assert.match(
    hashDifference(a, { sha256Chunks: ["a".repeat(64), "d".repeat(64), "c".repeat(64)] }) ?? "",
    /bytes 64 MiB-128 MiB \(chunk 1 of 3\) is dddddddddddd\.\.\. now, bbbbbbbbbbbb\.\.\. when read/,
  );
  assert.match(hashDifference(a, { sha256Chunks: a.sha256Chunks.slice(0, 2) }) ?? "", /chunk 2 of 2/);
  assert.match(hashDifference({ sha256: "e".repeat(64) }, { sha256: "f".repeat(64) }) ?? "", /its sha256 is ffffffffffff\.\.\. now, eeeeeeeeeeee\.\.\. when read/);
  assert.equal(hashDifference({ sha256: "e".repeat(64) }, { sha256: "e".repeat(64) }), undefined);
});
