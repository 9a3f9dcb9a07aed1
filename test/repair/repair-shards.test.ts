import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateFixture } from "../../src/fixtures/index.js";
import { openCheckpoint } from "../../src/checkpoint/open.js";
import { repairCheckpoint } from "../../src/repair/repair-checkpoint.js";
import { isCopyableShard } from "../../src/repair/repair-shards.js";
import { HashPool } from "../../src/repair/hash-pool.js";
import type { RepairManifest } from "../../src/repair/manifest.js";
import type { SafetensorsFileInfo } from "../../src/checkpoint/types.js";

let root: string;
let input: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), "gac-shards-"));
  // Small shards: the embedding and lm_head get shards of their own, which no edit touches.
  input = (await generateFixture("svdllm", join(root, "in"), { seed: 5, dtype: "BF16", maxShardBytes: 100_000 })).dir;
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

async function filesOf(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await readdir(dir)).sort()) if (f !== "gac-repair.json") out[f] = sha256(await readFile(join(dir, f)));
  return out;
}

test("a shard no edit touches is copied whole: byte-identical to its input, marked copied in the manifest, its input hashed", async () => {
  const out = join(root, "copied");
  const r = await repairCheckpoint(input, out, { strategy: "MINIMAL", inputHash: "sha256" });
  const copied = r.manifest.output.files.filter((f) => f.copied);
  assert.ok(copied.length > 0, "the fixture has untouched shards");
  assert.ok(
    r.manifest.output.files.some((f) => f.name.endsWith(".safetensors") && !f.copied),
    "and edited ones",
  );
  for (const f of copied) {
    const bytes = await readFile(join(input, f.name));
    assert.deepEqual(await readFile(join(out, f.name)), bytes, f.name);
    assert.equal(r.manifest.input.files.find((i) => i.name === f.name)?.sha256, sha256(bytes));
  }
  assert.equal(r.manifest.hashes.algorithm, "sha256");
  assert.match(r.manifest.hashes.output, /^none/);
  const manifest = JSON.parse(await readFile(join(out, "gac-repair.json"), "utf8")) as RepairManifest;
  assert.deepEqual(manifest.hashes, r.manifest.hashes);
});

test("by default a copied shard's input is hashed in 64 MiB chunks: one chunk for a small file, its sha256", async () => {
  const out = join(root, "copied-chunks");
  const r = await repairCheckpoint(input, out, { strategy: "MINIMAL" });
  const copied = r.manifest.output.files.filter((f) => f.copied);
  assert.ok(copied.length > 0, "the fixture has untouched shards");
  for (const f of copied) {
    const record = r.manifest.input.files.find((i) => i.name === f.name);
    assert.equal(record?.sha256, undefined);
    assert.deepEqual(record?.sha256Chunks, [sha256(await readFile(join(input, f.name)))]);
  }
  assert.deepEqual(
    { algorithm: r.manifest.hashes.algorithm, chunkBytes: "chunkBytes" in r.manifest.hashes ? r.manifest.hashes.chunkBytes : 0 },
    { algorithm: "sha256-chunks", chunkBytes: 64 * 1024 * 1024 },
  );
  assert.match(r.manifest.hashes.input, /sha256Chunks/);
});

test("with checksumOutput a copied shard's output sha256 is read back from the copy", async () => {
  const r = await repairCheckpoint(input, join(root, "copied-sums"), { strategy: "MINIMAL", checksumOutput: true, inputHash: "sha256" });
  const onDisk = await filesOf(join(root, "copied-sums"));
  for (const f of r.manifest.output.files) assert.equal(f.sha256, onDisk[f.name], f.name);
  assert.match(r.manifest.hashes.output, /copied files read back/);
});

test("repairing four shards at once gives the same files and manifest records as one at a time", async () => {
  const one = await repairCheckpoint(input, join(root, "serial"), { strategy: "MINIMAL", shardConcurrency: 1, chunkBytes: 4096 });
  const four = await repairCheckpoint(input, join(root, "parallel"), { strategy: "MINIMAL", shardConcurrency: 4, chunkBytes: 4096 });
  assert.deepEqual(await filesOf(join(root, "parallel")), await filesOf(join(root, "serial")));
  assert.deepEqual(four.manifest.input.files, one.manifest.input.files);
  assert.deepEqual(four.manifest.output.files, one.manifest.output.files);
});

test("three hash workers (a larger read pool, chunks spread over workers) give the same files and hashes as one", async () => {
  const one = await repairCheckpoint(input, join(root, "one-worker"), { strategy: "MINIMAL", hashWorkers: 1, shardConcurrency: 1, checksumOutput: true });
  const three = await repairCheckpoint(input, join(root, "three-workers"), { strategy: "MINIMAL", hashWorkers: 3, shardConcurrency: 1, checksumOutput: true });
  assert.deepEqual(await filesOf(join(root, "three-workers")), await filesOf(join(root, "one-worker")));
  assert.deepEqual(three.manifest.input.files, one.manifest.input.files);
  assert.deepEqual(three.manifest.output.files, one.manifest.output.files);
  assert.ok(three.manifest.input.files.every((f) => f.sha256Chunks?.length === 1));
});

test("a shard with a gap between tensors, or bytes after the last, is streamed, not copied", async () => {
  const ckpt = await openCheckpoint(input);
  const info = ckpt.files.find((f) => isCopyableShard(f, new Map()))!;
  assert.ok(info, "an untouched shard");
  const withTail: SafetensorsFileInfo = { ...info, size: info.size + 8 };
  assert.equal(isCopyableShard(withTail, new Map()), false);
  const [first, ...rest] = [...info.tensors].sort((a, b) => a.start - b.start);
  if (rest.length > 0) {
    const gap: SafetensorsFileInfo = { ...info, tensors: [first, ...rest.map((t) => ({ ...t, start: t.start + 8 }))], size: info.size + 8 };
    assert.equal(isCopyableShard(gap, new Map()), false);
  }
  const edited = new Map([[first.name, { tensor: first.name, dtype: first.dtype, from: [...first.shape], to: [...first.shape], reasons: [] }]]);
  assert.equal(isCopyableShard(info, edited), false);
});

test("the hash pool hashes a whole file itself and reports a missing one", async () => {
  const hashes = new HashPool({ workers: 2 });
  try {
    const path = join(input, "config.json");
    const bytes = await readFile(path);
    const whole = await hashes.hashFile(path, bytes.length, "sha256");
    assert.deepEqual({ hash: whole.hash, bytes: whole.bytes }, { hash: { sha256: sha256(bytes) }, bytes: bytes.length });
    await assert.rejects(hashes.hashFile(join(root, "nope"), 10, "sha256-chunks"), /ENOENT/);
  } finally {
    await hashes.close();
  }
});
