import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { GacError, type GacErrorCode } from "../../src/errors.js";
import { readSafetensorsFileInfo } from "../../src/checkpoint/safetensors-read.js";
import { openCheckpoint } from "../../src/checkpoint/open.js";
import { CONFIG, rawSafetensors, tempDir, writeRaw } from "./craft.js";

/** Runs `fn`, which must reject with a GacError of `code` whose message is one line mentioning `needle`. */
async function rejectsWith(fn: () => Promise<unknown>, code: GacErrorCode, needle: string | RegExp): Promise<void> {
  await assert.rejects(fn, (e: unknown) => {
    assert.ok(e instanceof GacError, `expected GacError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.ok(!e.message.includes("\n"), "message is one line");
    if (typeof needle === "string") assert.ok(e.message.includes(needle), `'${e.message}' should mention '${needle}'`);
    else assert.match(e.message, needle);
    return true;
  });
}

async function fileWith(bytes: Uint8Array | string, name = "model.safetensors"): Promise<string> {
  return writeRaw(await tempDir(), name, bytes);
}

const f32 = (name: string, shape: number[], begin: number, end: number) => ({ [name]: { dtype: "F32", shape, data_offsets: [begin, end] } });

test("an empty file is reported as truncated", async () => {
  await rejectsWith(async () => readSafetensorsFileInfo(await fileWith(new Uint8Array(0))), "TRUNCATED", "has 0 bytes");
});

test("a file shorter than the length prefix is reported as truncated", async () => {
  await rejectsWith(async () => readSafetensorsFileInfo(await fileWith(new Uint8Array(5))), "TRUNCATED", "fewer than the 8-byte");
});

test("a header length past the end of the file is reported as truncated", async () => {
  const bytes = rawSafetensors(f32("a", [1], 0, 4), 4, 1000n);
  await rejectsWith(async () => readSafetensorsFileInfo(await fileWith(bytes)), "TRUNCATED", "declares a 1,000-byte header");
});

test("a huge header length (2^60) is refused before any allocation", async () => {
  const bytes = rawSafetensors(f32("a", [1], 0, 4), 4, 2n ** 60n);
  await rejectsWith(async () => readSafetensorsFileInfo(await fileWith(bytes)), "HEADER_TOO_LARGE", "1,152,921,504,606,846,976-byte header");
});

test("a zero header length is a bad header", async () => {
  await rejectsWith(async () => readSafetensorsFileInfo(await fileWith(rawSafetensors("", 0))), "BAD_HEADER", "empty header");
});

test("a header that is not JSON is a bad header", async () => {
  await rejectsWith(async () => readSafetensorsFileInfo(await fileWith(rawSafetensors("{not json", 0))), "BAD_HEADER", "not valid JSON");
});

test("a header that is a JSON array is a bad header", async () => {
  await rejectsWith(async () => readSafetensorsFileInfo(await fileWith(rawSafetensors([1, 2], 0))), "BAD_HEADER", "a JSON array");
});

test("a header with invalid UTF-8 is a bad header", async () => {
  const bytes = rawSafetensors("{}", 0);
  bytes[9] = 0xff;
  await rejectsWith(async () => readSafetensorsFileInfo(await fileWith(bytes)), "BAD_HEADER", "UTF-8");
});

test("a tensor entry without data_offsets is a bad header naming the tensor", async () => {
  const bytes = rawSafetensors({ w: { dtype: "F32", shape: [1] } }, 4);
  await rejectsWith(async () => readSafetensorsFileInfo(await fileWith(bytes)), "BAD_HEADER", "tensor 'w'");
});

test("negative and fractional dims are bad headers", async () => {
  for (const shape of [[-1], [1.5], ["2"]]) {
    const bytes = rawSafetensors({ w: { dtype: "F32", shape, data_offsets: [0, 4] } }, 4);
    await rejectsWith(async () => readSafetensorsFileInfo(await fileWith(bytes)), "BAD_HEADER", "dim");
  }
});

test("a shape whose element count overflows 2^53 is a bad header, not a wrong number", async () => {
  const bytes = rawSafetensors({ w: { dtype: "F32", shape: [2 ** 32, 2 ** 32], data_offsets: [0, 4] } }, 4);
  await rejectsWith(async () => readSafetensorsFileInfo(await fileWith(bytes)), "BAD_HEADER", "2^53");
});

test("__metadata__ with a non-string value is a bad header", async () => {
  const bytes = rawSafetensors({ __metadata__: { format: 1 }, ...f32("a", [1], 0, 4) }, 4);
  await rejectsWith(async () => readSafetensorsFileInfo(await fileWith(bytes)), "BAD_HEADER", "__metadata__['format']");
});

test("an unknown dtype is refused naming the tensor and the dtype", async () => {
  const bytes = rawSafetensors({ w: { dtype: "F4", shape: [2], data_offsets: [0, 1] } }, 1);
  await rejectsWith(async () => readSafetensorsFileInfo(await fileWith(bytes)), "BAD_DTYPE", `tensor 'w'`);
});

test("a byte span that disagrees with dtype x shape is a shape/size mismatch", async () => {
  const bytes = rawSafetensors(f32("w", [3], 0, 8), 8);
  await rejectsWith(async () => readSafetensorsFileInfo(await fileWith(bytes)), "SHAPE_SIZE_MISMATCH", "spans 8 bytes but F32 [3] needs 12");
});

test("offsets with begin after end are bad offsets", async () => {
  const bytes = rawSafetensors(f32("w", [0], 4, 0), 4);
  await rejectsWith(async () => readSafetensorsFileInfo(await fileWith(bytes)), "BAD_OFFSETS", "begin after end");
});

test("non-integer offsets are bad offsets", async () => {
  const bytes = rawSafetensors({ w: { dtype: "F32", shape: [1], data_offsets: [0, "4"] } }, 4);
  await rejectsWith(async () => readSafetensorsFileInfo(await fileWith(bytes)), "BAD_OFFSETS", "data_offsets");
});

test("overlapping tensors are bad offsets naming both tensors", async () => {
  const bytes = rawSafetensors({ ...f32("a", [2], 0, 8), ...f32("b", [2], 4, 12) }, 12);
  await rejectsWith(async () => readSafetensorsFileInfo(await fileWith(bytes)), "BAD_OFFSETS", /'b'.*'a'.*overlap/);
});

test("a gap between tensors is bad offsets", async () => {
  const bytes = rawSafetensors({ ...f32("a", [1], 0, 4), ...f32("b", [1], 8, 12) }, 12);
  await rejectsWith(async () => readSafetensorsFileInfo(await fileWith(bytes)), "BAD_OFFSETS", "4-byte gap");
});

test("data that does not start at offset 0 is bad offsets", async () => {
  const bytes = rawSafetensors(f32("a", [1], 4, 8), 8);
  await rejectsWith(async () => readSafetensorsFileInfo(await fileWith(bytes)), "BAD_OFFSETS", "gap");
});

test("a tensor ending past the end of the file is truncated, with positions in the message", async () => {
  const header = JSON.stringify(f32("x", [4], 0, 16));
  const bytes = rawSafetensors(header, 8);
  const path = await fileWith(bytes);
  const fileSize = 8 + header.length + 8;
  await rejectsWith(() => readSafetensorsFileInfo(path), "TRUNCATED", `tensor 'x' ends at byte ${8 + header.length + 16} but ${path} has ${fileSize} bytes: the file is truncated`);
});

test("extra bytes after the last tensor are bad offsets", async () => {
  const bytes = rawSafetensors(f32("a", [1], 0, 4), 6);
  await rejectsWith(async () => readSafetensorsFileInfo(await fileWith(bytes)), "BAD_OFFSETS", "2 bytes after the last tensor");
});

test("a directory in place of model.safetensors is refused, not crashed on", async () => {
  const dir = await tempDir();
  await mkdir(join(dir, "model.safetensors"));
  await rejectsWith(() => readSafetensorsFileInfo(join(dir, "model.safetensors")), "IS_A_DIRECTORY", "directory");
});

// ---- checkpoint directories ----

async function shardedDir(weightMap: Record<string, string>, shards: Record<string, Uint8Array> = {}): Promise<string> {
  const dir = await tempDir();
  await writeFile(join(dir, "config.json"), JSON.stringify(CONFIG));
  await writeFile(join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: { total_size: 4 }, weight_map: weightMap }));
  for (const [name, bytes] of Object.entries(shards)) await writeFile(join(dir, name), bytes);
  return dir;
}

const oneTensor = () => rawSafetensors(f32("a", [1], 0, 4), 4);

test("a shard name with .. is refused as escaping the directory", async () => {
  const dir = await shardedDir({ a: "../x.safetensors" });
  await rejectsWith(() => openCheckpoint(dir), "SHARD_ESCAPE", "'../x.safetensors'");
});

test("an absolute shard path is refused as escaping the directory", async () => {
  const outside = await fileWith(oneTensor(), "x.safetensors");
  const dir = await shardedDir({ a: outside });
  await rejectsWith(() => openCheckpoint(dir), "SHARD_ESCAPE", "not a plain file name");
});

test("a URL as shard name is refused", async () => {
  const dir = await shardedDir({ a: "https://example.com/x.safetensors" });
  await rejectsWith(() => openCheckpoint(dir), "SHARD_ESCAPE", "https://");
});

test("a shard that is a symlink to a file outside the directory is refused", async () => {
  const outside = await fileWith(oneTensor(), "x.safetensors");
  const dir = await shardedDir({ a: "model-00001-of-00001.safetensors" });
  await symlink(outside, join(dir, "model-00001-of-00001.safetensors"));
  await rejectsWith(() => openCheckpoint(dir), "SHARD_ESCAPE", "outside the checkpoint directory");
});

test("an index naming a missing shard is reported as a missing shard", async () => {
  const dir = await shardedDir({ a: "model-00001-of-00002.safetensors" });
  await rejectsWith(() => openCheckpoint(dir), "MISSING_SHARD", "model-00001-of-00002.safetensors");
});

test("a tensor in the index but absent from its shard is a bad index", async () => {
  const dir = await shardedDir({ a: "s1.safetensors", b: "s1.safetensors" }, { "s1.safetensors": oneTensor() });
  await rejectsWith(() => openCheckpoint(dir), "BAD_INDEX", "'b'");
});

test("a tensor in a shard but absent from the index is a bad index", async () => {
  const two = rawSafetensors({ ...f32("a", [1], 0, 4), ...f32("b", [1], 4, 8) }, 8);
  const dir = await shardedDir({ a: "s1.safetensors" }, { "s1.safetensors": two });
  await rejectsWith(() => openCheckpoint(dir), "BAD_INDEX", "tensor 'b' is in shard s1.safetensors but not in");
});

test("the same tensor in two shards is a bad index", async () => {
  const dir = await shardedDir(
    { a: "s1.safetensors", c: "s2.safetensors" },
    {
      "s1.safetensors": oneTensor(),
      "s2.safetensors": rawSafetensors({ ...f32("a", [1], 0, 4), ...f32("c", [1], 4, 8) }, 8),
    },
  );
  await rejectsWith(() => openCheckpoint(dir), "BAD_INDEX", "stored in both");
});

test("an index without weight_map is a bad index", async () => {
  const dir = await tempDir();
  await writeFile(join(dir, "config.json"), "{}");
  await writeFile(join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: {} }));
  await rejectsWith(() => openCheckpoint(dir), "BAD_INDEX", "weight_map");
});

test("an index that is not JSON is a bad index", async () => {
  const dir = await tempDir();
  await writeFile(join(dir, "config.json"), "{}");
  await writeFile(join(dir, "model.safetensors.index.json"), "{");
  await rejectsWith(() => openCheckpoint(dir), "BAD_INDEX", "not valid JSON");
});

test("a missing config.json is a missing file", async () => {
  const dir = await tempDir();
  await writeFile(join(dir, "model.safetensors"), oneTensor());
  await rejectsWith(() => openCheckpoint(dir), "MISSING_FILE", "config.json");
});

test("a config.json that is not JSON is a bad config", async () => {
  const dir = await tempDir();
  await writeFile(join(dir, "config.json"), "{,}");
  await writeFile(join(dir, "model.safetensors"), oneTensor());
  await rejectsWith(() => openCheckpoint(dir), "BAD_CONFIG", "config.json is not valid JSON");
});

test("several .safetensors files without an index are refused with what was found", async () => {
  const dir = await tempDir();
  await writeFile(join(dir, "config.json"), "{}");
  await writeFile(join(dir, "a.safetensors"), oneTensor());
  await writeFile(join(dir, "b.safetensors"), oneTensor());
  await rejectsWith(() => openCheckpoint(dir), "MISSING_FILE", "found 2 .safetensors files but no index");
});

test("a checkpoint path that does not exist is a missing file", async () => {
  await rejectsWith(async () => openCheckpoint(join(await tempDir(), "nope")), "MISSING_FILE", "does not exist");
});
