import { test } from "node:test";
import assert from "node:assert/strict";
import { open, readFile, readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { GacError } from "../../src/errors.js";
import { planSafetensorsLayout, planShards, writeCheckpoint, writeSafetensorsFile, type WritableTensor } from "../../src/checkpoint/safetensors-write.js";
import { readSafetensorsFileInfo, readTensorBytes, streamTensorBytes } from "../../src/checkpoint/safetensors-read.js";
import { openCheckpoint, tensorShapes } from "../../src/checkpoint/open.js";
import { decodeSafetensorsHeader } from "../../src/checkpoint/safetensors-header.js";
import { tempDir } from "./craft.js";

function bytesOf(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7) & 0xff;
  return b;
}

const sample = (): WritableTensor[] => [
  { name: "z.first", dtype: "F32", shape: [3, 5], data: bytesOf(60, 1) },
  { name: "a.second", dtype: "BF16", shape: [7], data: bytesOf(14, 2) },
  { name: "empty", dtype: "F16", shape: [0, 4], data: new Uint8Array(0) },
  { name: "scalar", dtype: "I64", shape: [], data: bytesOf(8, 3) },
];

test("a written file reads back with the same names, dtypes, shapes, metadata and bytes, in input order", async () => {
  const path = join(await tempDir(), "model.safetensors");
  const tensors = sample();
  await writeSafetensorsFile(path, tensors, { format: "pt" });
  const info = await readSafetensorsFileInfo(path);
  assert.deepEqual(info.metadata, { format: "pt" });
  assert.deepEqual(
    info.tensors.map((t) => t.name),
    ["z.first", "a.second", "empty", "scalar"],
  );
  for (const t of tensors) {
    const e = info.tensors.find((x) => x.name === t.name)!;
    assert.equal(e.dtype, t.dtype);
    assert.deepEqual(e.shape, t.shape);
    assert.deepEqual(await readTensorBytes(e), t.data);
  }
  assert.equal(info.size, (await stat(path)).size);
});

test("the header is padded with spaces to a multiple of 8 and the plan matches the file", async () => {
  const path = join(await tempDir(), "x.safetensors");
  const tensors = sample();
  const layout = planSafetensorsLayout(tensors);
  await writeSafetensorsFile(path, tensors);
  const file = new Uint8Array(await readFile(path));
  assert.equal(file.byteLength, layout.totalSize);
  const n = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  assert.equal(n % 8, 0);
  assert.deepEqual(file.subarray(0, layout.header.byteLength), layout.header);
  const text = new TextDecoder().decode(file.subarray(8, 8 + n));
  assert.match(text, /^\{.*\} *$/);
  assert.deepEqual(layout.offsets.get("a.second"), [60, 74]);
  assert.deepEqual(layout.offsets.get("scalar"), [74, 82]);
});

test("a streamed tensor is written chunk by chunk and reads back identical", async () => {
  const path = join(await tempDir(), "s.safetensors");
  const whole = bytesOf(4000, 9);
  const stream = async function* () {
    for (let i = 0; i < whole.byteLength; i += 333) yield whole.subarray(i, i + 333);
  };
  await writeSafetensorsFile(path, [{ name: "w", dtype: "F32", shape: [10, 100], data: stream }]);
  const [entry] = (await readSafetensorsFileInfo(path)).tensors;
  assert.deepEqual(await readTensorBytes(entry), whole);
  const chunks: Uint8Array[] = [];
  for await (const c of streamTensorBytes(entry, 1024)) chunks.push(c);
  assert.deepEqual(
    chunks.map((c) => c.byteLength),
    [1024, 1024, 1024, 928],
  );
  assert.deepEqual(Buffer.concat(chunks), Buffer.from(whole));
  assert.deepEqual(await readTensorBytes(entry, { offset: 100, length: 7 }), whole.subarray(100, 107));
  await assert.rejects(() => readTensorBytes(entry, { offset: 3999, length: 2 }), RangeError);
});

test("a stream that delivers too few or too many bytes is refused and leaves no file", async () => {
  const dir = await tempDir();
  for (const n of [7, 9]) {
    const path = join(dir, `bad${n}.safetensors`);
    const data = async function* () {
      yield new Uint8Array(n);
    };
    await assert.rejects(
      () => writeSafetensorsFile(path, [{ name: "w", dtype: "F32", shape: [2], data }]),
      (e: unknown) => e instanceof GacError && e.code === "SHAPE_SIZE_MISMATCH" && e.message.includes("tensor 'w'") && e.message.includes("needs 8"),
    );
  }
  assert.deepEqual(await readdir(dir), []);
});

test("shards split in order when the next tensor would pass the limit; an oversized tensor gets its own shard", () => {
  const t = (name: string, n: number) => ({ name, dtype: "U8" as const, shape: [n] });
  const shards = planShards([t("a", 40), t("b", 50), t("c", 20), t("d", 500), t("e", 1)], 100);
  assert.deepEqual(
    shards.map((s) => s.map((x) => x.name)),
    [["a", "b"], ["c"], ["d"], ["e"]],
  );
});

test("a sharded checkpoint is written with HF names and an index, and opens back with the same tensors", async () => {
  const dir = join(await tempDir(), "ckpt");
  const tensors: WritableTensor[] = [
    { name: "model.embed_tokens.weight", dtype: "F32", shape: [8, 4], data: bytesOf(128, 1) },
    { name: "model.layers.0.self_attn.q_proj.weight", dtype: "F32", shape: [4, 4], data: bytesOf(64, 2) },
    { name: "model.norm.weight", dtype: "F32", shape: [4], data: bytesOf(16, 3) },
    { name: "lm_head.weight", dtype: "F32", shape: [8, 4], data: bytesOf(128, 4) },
  ];
  await writeCheckpoint(dir, { config: { model_type: "llama" }, tensors, maxShardBytes: 150 });
  assert.deepEqual((await readdir(dir)).sort(), [
    "config.json",
    "model-00001-of-00003.safetensors",
    "model-00002-of-00003.safetensors",
    "model-00003-of-00003.safetensors",
    "model.safetensors.index.json",
  ]);
  const index = JSON.parse(await readFile(join(dir, "model.safetensors.index.json"), "utf8"));
  assert.equal(index.metadata.total_size, 336);
  assert.equal(index.weight_map["model.norm.weight"], "model-00002-of-00003.safetensors");
  const ckpt = await openCheckpoint(dir);
  assert.deepEqual(ckpt.config, { model_type: "llama" });
  assert.equal(ckpt.files.length, 3);
  assert.deepEqual(ckpt.index?.weightMap, index.weight_map);
  for (const t of tensors) assert.deepEqual(await readTensorBytes(ckpt.tensors.get(t.name)!), t.data);
  const shapes = tensorShapes(ckpt);
  assert.deepEqual(shapes.get("model.norm.weight"), { dtype: "F32", shape: [4] });
  assert.equal(shapes.size, 4);
});

test("a checkpoint under the shard limit is one model.safetensors with no index", async () => {
  const dir = join(await tempDir(), "one");
  await writeCheckpoint(dir, { config: { a: 1 }, tensors: [{ name: "w", dtype: "F16", shape: [2], data: bytesOf(4, 5) }], maxShardBytes: 1000 });
  assert.deepEqual((await readdir(dir)).sort(), ["config.json", "model.safetensors"]);
  const ckpt = await openCheckpoint(dir);
  assert.equal(ckpt.index, undefined);
  assert.deepEqual(await readTensorBytes(ckpt.tensors.get("w")!), bytesOf(4, 5));
});

test("duplicate tensor names are refused when planning a layout", () => {
  assert.throws(
    () =>
      planSafetensorsLayout([
        { name: "w", dtype: "F32", shape: [1] },
        { name: "w", dtype: "F32", shape: [1] },
      ]),
    /listed twice/,
  );
});

test("the header decoder is a pure function of header bytes and file size", () => {
  const json = new TextEncoder().encode(JSON.stringify({ __metadata__: { a: "b" }, w: { dtype: "I32", shape: [2], data_offsets: [0, 8] } }));
  const decoded = decodeSafetensorsHeader(json, 8 + json.byteLength + 8, "mem.safetensors");
  assert.deepEqual(decoded, {
    metadata: { a: "b" },
    tensors: [{ name: "w", dtype: "I32", shape: [2], file: "mem.safetensors", start: 8 + json.byteLength, byteLength: 8 }],
  });
});

test("a 6 GB sparse file is opened from its header alone and read by range at its end", async () => {
  // Node buffers stop at 4 GiB: reading the whole file would throw; only the header and the range are read.
  const path = join(await tempDir(), "big.safetensors");
  const tensors = [
    { name: "huge", dtype: "BF16" as const, shape: [3 * 1024, 1024 * 1024] },
    { name: "tail", dtype: "F32" as const, shape: [4] },
  ];
  const layout = planSafetensorsLayout(tensors);
  const fh = await open(path, "w");
  await fh.write(layout.header, 0, layout.header.byteLength, 0);
  await fh.truncate(layout.totalSize);
  await fh.write(Uint8Array.from([1, 2, 3, 4]), 0, 4, layout.totalSize - 4);
  await fh.close();
  const info = await readSafetensorsFileInfo(path);
  assert.equal(info.size, layout.totalSize);
  assert.ok(info.size > 6 * 2 ** 30);
  const tail = info.tensors.find((t) => t.name === "tail")!;
  assert.deepEqual([...(await readTensorBytes(tail, { offset: 12, length: 4 }))], [1, 2, 3, 4]);
  const huge = info.tensors.find((t) => t.name === "huge")!;
  assert.deepEqual([...(await readTensorBytes(huge, { offset: huge.byteLength - 2, length: 2 }))], [0, 0]);
  await rm(path);
});
