/**
 * What repair reads from its input besides the shards, and the proof that none of it changed while
 * gac read it.
 *
 * Change detection does not trust mtime alone: a same-size overwrite with its mtime set back
 * (touch -r, rsync -t, a careless tool) keeps size and mtime, but the kernel moves ctime on every
 * write and every utimes, and no user call can set it back. A stamp is size + mtime + ctime +
 * device + inode, taken before reading and compared before publishing. With hashing on
 * (`--checksum-output`), every input file is hashed once more at the end, in the same scheme, and
 * compared with the hash taken while it was streamed.
 */
import { open, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { GacError, escapeControls, formatCount, truncateText } from "../errors.js";
import { openRegularFile } from "../util/regular-file.js";
import { FileHasher, hashDifference, schemeOf, type HashScheme } from "./file-hash.js";
import type { HashPool } from "./hash-pool.js";
import type { FileDigest } from "./stream-shard.js";

export interface FileStamp {
  path: string;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  dev: number;
  ino: number;
}

export async function stampOf(path: string): Promise<FileStamp> {
  const s = await stat(path);
  return { path, size: s.size, mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs, dev: s.dev, ino: s.ino };
}

/** What differs between two stamps of one file, for the message; empty when nothing does. */
function differences(a: FileStamp, b: FileStamp): string[] {
  const out: string[] = [];
  if (a.size !== b.size) out.push(`size ${formatCount(a.size)} -> ${formatCount(b.size)}`);
  if (a.mtimeMs !== b.mtimeMs) out.push("mtime");
  if (a.ctimeMs !== b.ctimeMs) out.push("ctime (a write or a metadata change)");
  if (a.dev !== b.dev || a.ino !== b.ino) out.push("inode (replaced by another file)");
  return out;
}

export async function checkUnchanged(stamps: readonly FileStamp[]): Promise<void> {
  for (const before of stamps) {
    const now = await stampOf(before.path).catch(() => undefined);
    const changed = now ? differences(before, now) : ["it disappeared"];
    if (changed.length > 0) {
      throw new GacError("INPUT_CHANGED", `${before.path} changed while gac repaired it (${changed.join(", ")}); nothing was written: rerun when nothing else writes the input`);
    }
  }
}

/**
 * Hashes every input file again on the hash pool, in the scheme of the digest taken while it was
 * streamed, and compares the two.
 */
export async function checkHashesUnchanged(dir: string, digests: readonly FileDigest[], hashes: HashPool): Promise<void> {
  for (const d of digests) {
    const path = join(dir, ...d.name.split("/"));
    const now = await hashes.hashFile(path, d.bytes, schemeOf(d));
    const changed = now.bytes !== d.bytes ? `size ${formatCount(d.bytes)} -> ${formatCount(now.bytes)}` : hashDifference(d, now.hash);
    if (changed !== undefined) {
      throw new GacError("INPUT_CHANGED", `${path} changed while gac repaired it (${changed}); nothing was written: rerun when nothing else writes the input`);
    }
  }
}

/**
 * Copies a regular file byte for byte (streamed, so any size: a 2 GiB+ tokenizer or extra file
 * once failed with ERR_FS_FILE_TOO_LARGE) and returns the input's digest.
 */
export async function copyFileHashed(from: string, to: string, name: string, scheme: HashScheme): Promise<FileDigest> {
  const { fh: src, stat: s } = await openRegularFile(from, "a file to copy into the output");
  const hash = new FileHasher(scheme);
  let bytes = 0;
  try {
    const dst = await open(to, "wx");
    try {
      const buf = Buffer.allocUnsafe(Math.min(4 * 1024 * 1024, Math.max(1, s.size)));
      for (;;) {
        const { bytesRead } = await src.read(buf, 0, buf.byteLength, bytes);
        if (bytesRead === 0) break;
        const chunk = buf.subarray(0, bytesRead);
        hash.update(chunk);
        await dst.write(chunk, 0, bytesRead, bytes);
        bytes += bytesRead;
      }
    } finally {
      await dst.close();
    }
  } finally {
    await src.close();
  }
  return { name, bytes, ...hash.digest() };
}

export interface ExtraFiles {
  /** Regular files at the top level, copied byte for byte. */
  copy: string[];
  /** What was not copied, one line each, with why. */
  warnings: string[];
}

/** A directory entry's name as printed in a warning (it comes from the filesystem, so any bytes). */
function shown(name: string): string {
  return truncateText(escapeControls(name), 200);
}

/**
 * The input's other files: regular top-level files are copied, weights in other formats and
 * anything else are listed with why. `skip` names what repair writes itself (shards, config,
 * index, manifest); `shardDirs` are top-level directories that hold shards (index names like
 * "sub/model-1.safetensors"), which repair rebuilds rather than skips with a warning.
 */
export async function listExtraFiles(dir: string, skip: ReadonlySet<string>, shardDirs: ReadonlySet<string>, weightExtensions: readonly string[]): Promise<ExtraFiles> {
  const copy: string[] = [];
  const warnings: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const name = entry.name;
    if (skip.has(name) || name.startsWith(".")) continue;
    if (entry.isDirectory() && shardDirs.has(name)) {
      const others = (await readdir(join(dir, name))).filter((n) => !skip.has(`${name}/${n}`));
      if (others.length > 0) warnings.push(`${shown(name)}/: ${others.length} entries besides the shards the index names, not copied`);
    } else if (!entry.isFile()) warnings.push(`${shown(name)}: not a regular file, not copied`);
    else if (weightExtensions.some((ext) => name.endsWith(ext))) warnings.push(`${shown(name)}: weights outside the checkpoint's safetensors, not copied (they would not match the repaired shapes)`);
    else copy.push(name);
  }
  return { copy, warnings };
}
