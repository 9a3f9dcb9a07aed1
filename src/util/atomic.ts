/**
 * Crash-safe publishing: a file or a directory appears under its final name complete or not at all.
 * Both build under a temp name in the same directory (so rename(2) is atomic on one filesystem),
 * fsync the data, then rename.
 *
 * Temp names carry the writer's pid, `.<basename>.gac-tmp-<pid>-<hex>` (and `.gac-old-` for a
 * replaced directory during --force), so cleanStaleTemps can tell leftovers of dead processes from
 * the work of a live one.
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, rename, rm } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { GacError } from "../errors.js";
import { pathExists } from "./fs.js";
import { trackTempPath } from "./temp-paths.js";

function tempName(base: string, kind: "tmp" | "old"): string {
  return `.${base}.gac-${kind}-${process.pid}-${randomBytes(4).toString("hex")}`;
}

/** fsync a directory so a rename inside it survives a crash (best effort: some filesystems refuse). */
async function syncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, "r");
    await fh.sync();
  } catch {
    // EISDIR/EINVAL/EPERM on filesystems that cannot fsync directories: nothing more to do.
  } finally {
    await fh?.close();
  }
}

async function syncTree(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await syncTree(path);
    else if (entry.isFile()) {
      const fh = await open(path, "r+");
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
  }
  await syncDir(dir);
}

/** Writes `data` to `path` through a temp file in the same directory: fsync, then rename over `path`. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const target = resolve(path);
  const tmp = join(dirname(target), tempName(basename(target), "tmp"));
  const fh = await open(tmp, "wx");
  trackTempPath(tmp);
  try {
    await fh.writeFile(data);
    await fh.sync();
    await fh.close();
    await rename(tmp, target);
  } catch (e) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
  await syncDir(dirname(target));
}

export interface PublishOptions {
  /** Replace an existing target (it is moved aside first and deleted only after the new one is in place). */
  force?: boolean;
}

/**
 * Builds a directory with `build(tmpDir)` in a sibling temp dir, fsyncs it, and renames it to
 * `target`. A crash at any point never leaves a partial directory under `target`: at worst the old
 * target sits under `.<basename>.gac-old-<pid>-*`, which cleanStaleTemps moves back.
 */
export async function publishDirectoryAtomically(target: string, build: (tmpDir: string) => Promise<void>, opts: PublishOptions = {}): Promise<void> {
  const abs = resolve(target);
  const parent = dirname(abs);
  const base = basename(abs);
  const refuse = () => new GacError("OUTPUT_EXISTS", `${abs} already exists; choose another output or pass --force to replace it`);
  if (!opts.force && (await pathExists(abs))) throw refuse();
  await mkdir(parent, { recursive: true });
  await cleanStaleTemps(parent, base);

  const tmp = join(parent, tempName(base, "tmp"));
  await mkdir(tmp);
  trackTempPath(tmp);
  try {
    await build(tmp);
    await syncTree(tmp);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }

  if (await pathExists(abs)) {
    if (!opts.force) {
      await rm(tmp, { recursive: true, force: true });
      throw refuse();
    }
    const old = join(parent, tempName(base, "old"));
    await rename(abs, old);
    try {
      await rename(tmp, abs);
    } catch (e) {
      await rename(old, abs).catch(() => undefined);
      await rm(tmp, { recursive: true, force: true });
      throw e;
    }
    await syncDir(parent);
    await rm(old, { recursive: true, force: true });
  } else {
    await rename(tmp, abs);
    await syncDir(parent);
  }
}

/** Whether a process with this pid exists (EPERM: it exists but belongs to someone else). */
function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Removes temp dirs/files left by dead gac processes for `basename` in `parentDir`. A `.gac-old-`
 * directory of a dead process is the previous target of an interrupted --force replace: it is moved
 * back when the target is missing, else deleted. Returns the paths removed or restored.
 */
export async function cleanStaleTemps(parentDir: string, base: string): Promise<string[]> {
  const pattern = new RegExp(`^\\.${escapeRegExp(base)}\\.gac-(tmp|old)-(\\d+)-[0-9a-f]+$`);
  let names: string[];
  try {
    names = await readdir(parentDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
  const handled: string[] = [];
  for (const name of names) {
    const m = pattern.exec(name);
    if (!m || pidAlive(Number(m[2]))) continue;
    const path = join(parentDir, name);
    const target = join(parentDir, base);
    if (m[1] === "old" && !(await pathExists(target))) await rename(path, target);
    else await rm(path, { recursive: true, force: true });
    handled.push(path);
  }
  return handled;
}
