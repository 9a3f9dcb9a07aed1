/**
 * Opens a HuggingFace checkpoint directory: config.json plus either `model.safetensors` or
 * `model.safetensors.index.json` and its shards. Headers only; every shard name and every
 * index entry is checked against the shards' own headers.
 *
 * Which file wins: like transformers (`_get_resolved_checkpoint_files`), `model.safetensors` is
 * used when present, else the index. A directory with several *.safetensors and no index is
 * refused: transformers would not load it either, so gac would scan or repair something no
 * runtime serves.
 */
import { realpath, readdir, stat } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { isSnapshotDir } from "../input/hf-cache.js";
import { GacError, describeValue, formatCount, fsError, quoteName, withFsErrors } from "../errors.js";
import { readJsonFile } from "../util/read-json-file.js";
import { pathExists } from "../util/fs.js";
import { readSafetensorsFileInfo } from "./safetensors-read.js";
import type { Checkpoint, SafetensorsFileInfo, TensorEntry, TensorShapes } from "./types.js";

export const CONFIG_FILE = "config.json";
export const SINGLE_FILE = "model.safetensors";
export const INDEX_FILE = "model.safetensors.index.json";
/** huggingface.js's MAX_INDEX_BYTES: the largest real index (Kimi, ~500k tensors) is ~60 MB. */
export const MAX_INDEX_BYTES = 250_000_000;
/** huggingface.js caps shard count at 10,000; real checkpoints have at most a few hundred. */
export const MAX_SHARDS = 10_000;
/** config.json is a few KB; a larger file is not a config. */
export const MAX_CONFIG_BYTES = 16_000_000;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

async function readJsonObject(path: string, maxBytes: number, code: "BAD_CONFIG" | "BAD_INDEX", what: string): Promise<Record<string, unknown>> {
  const json = await readJsonFile(path, { code, what, maxBytes });
  if (!isPlainObject(json)) throw new GacError(code, `${path} is not a JSON object`);
  return json;
}

/**
 * Resolves a shard name from the index inside `dir`, refusing anything that could reach outside it:
 * absolute paths, `..`, URLs, and symlinks whose target lies outside (checked through realpath).
 */
export async function resolveShardPath(dir: string, name: string, realDir: string): Promise<string> {
  const where = `${INDEX_FILE} in ${dir} names shard ${quoteName(name)}`;
  const parts = name.split(/[\\/]/);
  if (name.length === 0 || isAbsolute(name) || /^[a-zA-Z]:/.test(name) || name.includes("://") || parts.includes("..") || name.includes("\0")) {
    throw new GacError("SHARD_ESCAPE", `${where}, which is not a plain file name inside the checkpoint directory`);
  }
  // "a/", "a//b", "./a", "a\\b": not one canonical relative name, so scan and repair could disagree on the file.
  if (parts.some((p) => p === "" || p === ".") || name.includes("\\")) {
    throw new GacError("BAD_INDEX", `${where}, which is not a canonical file name ('/'-separated, no empty, '.' or trailing parts): fix the index`);
  }
  const path = resolve(dir, name);
  const rel = relative(dir, path);
  if (rel === "" || rel.startsWith("..") || isAbsolute(rel)) throw new GacError("SHARD_ESCAPE", `${where}, which resolves outside the checkpoint directory`);
  let real: string;
  try {
    real = await realpath(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new GacError("MISSING_SHARD", `${where}, which does not exist: the checkpoint is incomplete`);
    throw fsError(e, `resolving a shard of ${dir}`) ?? e;
  }
  if (!real.startsWith(realDir + sep)) throw new GacError("SHARD_ESCAPE", `${where}, a link to ${real} outside the checkpoint directory`);
  return path;
}

function parseIndex(json: Record<string, unknown>, indexPath: string): { metadata: Record<string, unknown>; weightMap: Record<string, string> } {
  const { weight_map: weightMap, metadata = {} } = json;
  if (!isPlainObject(weightMap)) throw new GacError("BAD_INDEX", `${indexPath} has no 'weight_map' object`);
  if (!isPlainObject(metadata)) throw new GacError("BAD_INDEX", `${indexPath}: 'metadata' is not an object`);
  const out: Record<string, string> = {};
  for (const [tensor, file] of Object.entries(weightMap)) {
    if (typeof file !== "string") throw new GacError("BAD_INDEX", `${indexPath}: weight_map[${quoteName(tensor)}] is ${describeValue(file)}, not a file name`);
    out[tensor] = file;
  }
  return { metadata, weightMap: out };
}

export async function openCheckpoint(dir: string): Promise<Checkpoint> {
  return withFsErrors(() => openCheckpointDir(resolve(dir)), `opening checkpoint ${resolve(dir)}`);
}

async function openCheckpointDir(abs: string): Promise<Checkpoint> {
  let dirStat;
  try {
    dirStat = await stat(abs);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new GacError("MISSING_FILE", `checkpoint directory ${abs} does not exist`);
    throw fsError(e, "opening the checkpoint directory") ?? e;
  }
  if (!dirStat.isDirectory()) throw new GacError("MISSING_FILE", `${abs} is not a directory: a checkpoint is a directory with config.json and *.safetensors`);
  const config = await readJsonObject(join(abs, CONFIG_FILE), MAX_CONFIG_BYTES, "BAD_CONFIG", "config.json");

  const singlePath = join(abs, SINGLE_FILE);
  if (await pathExists(singlePath)) {
    const info = await readSafetensorsFileInfo(singlePath);
    return { dir: abs, config, files: [info], tensors: new Map(info.tensors.map((t) => [t.name, t])) };
  }
  const indexPath = join(abs, INDEX_FILE);
  if (!(await pathExists(indexPath))) {
    const loose = (await readdir(abs)).filter((f) => f.endsWith(".safetensors"));
    const found = loose.length === 0 ? "no .safetensors files" : `${loose.length} .safetensors files but no index`;
    throw new GacError("MISSING_FILE", `${abs} has neither ${SINGLE_FILE} nor ${INDEX_FILE} (found ${found}): not a loadable HF checkpoint`);
  }
  const index = parseIndex(await readJsonObject(indexPath, MAX_INDEX_BYTES, "BAD_INDEX", "a safetensors index"), indexPath);

  // Shards in order of first mention, each resolved and read once.
  const shardNames = [...new Set(Object.values(index.weightMap))];
  if (shardNames.length === 0) throw new GacError("BAD_INDEX", `${indexPath} has an empty weight_map`);
  if (shardNames.length > MAX_SHARDS) throw new GacError("BAD_INDEX", `${indexPath} names ${formatCount(shardNames.length)} shards, over the ${formatCount(MAX_SHARDS)} limit`);
  // An HF cache snapshot's files are links into the repo's blobs/ (src/input/hf-cache.ts): inside the repo is inside.
  const realDir = await realpath(isSnapshotDir(abs) ? dirname(dirname(abs)) : abs);
  const files: SafetensorsFileInfo[] = [];
  const fileByName = new Map<string, SafetensorsFileInfo>();
  for (const name of shardNames) {
    const info = await readSafetensorsFileInfo(await resolveShardPath(abs, name, realDir));
    files.push(info);
    fileByName.set(name, info);
  }

  const tensors = new Map<string, TensorEntry>();
  for (const [name, info] of fileByName) {
    for (const t of info.tensors) {
      const other = tensors.get(t.name);
      if (other) throw new GacError("BAD_INDEX", `tensor ${quoteName(t.name)} is stored in both ${other.file} and ${t.file}: the checkpoint is ambiguous`);
      const listed = index.weightMap[t.name];
      if (listed === undefined) throw new GacError("BAD_INDEX", `tensor ${quoteName(t.name)} is in shard ${name} but not in ${INDEX_FILE}'s weight_map`);
      if (listed !== name) throw new GacError("BAD_INDEX", `tensor ${quoteName(t.name)} is in shard ${name} but ${INDEX_FILE} maps it to ${listed}`);
      tensors.set(t.name, t);
    }
  }
  for (const [tensor, name] of Object.entries(index.weightMap)) {
    if (!tensors.has(tensor)) throw new GacError("BAD_INDEX", `${INDEX_FILE} maps tensor ${quoteName(tensor)} to ${name}, whose header has no such tensor`);
  }
  return { dir: abs, config, files, tensors, index };
}

export function tensorShapes(ckpt: Checkpoint): TensorShapes {
  return new Map([...ckpt.tensors].map(([name, t]) => [name, { dtype: t.dtype, shape: t.shape }]));
}
