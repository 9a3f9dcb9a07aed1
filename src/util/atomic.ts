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
import { link, lstat, mkdir, open, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
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
  /**
   * Run before building and again just before the rename into place (links and directories can
   * change while a long build runs); throws to refuse. The output-path rules live here.
   */
  check?: () => Promise<void>;
}

/** The lock file that claims `base` in its parent while one process builds it. */
function lockName(base: string): string {
  return `.${base}.gac-lock`;
}

/**
 * Claims the output name: `.<base>.gac-lock` created with O_EXCL holding the pid. A lock whose
 * process is dead is taken over; a live one is OUTPUT_BUSY, so two runs never race on one output
 * (they used to collide at the final rename with ENOTEMPTY and leave a full temp copy behind).
 */
async function claimOutput(parent: string, base: string, target: string): Promise<() => Promise<void>> {
  const path = join(parent, lockName(base));
  for (let attempt = 0; attempt < 2; attempt++) {
    // Written under a private name, then hard-linked to the lock name: the claim is atomic (link
    // fails with EEXIST) and a lock is never seen without its pid.
    const draft = join(parent, tempName(base, "tmp"));
    await writeFile(draft, `${process.pid}\n`, { flag: "wx" });
    try {
      await link(draft, path);
      return () => rm(path, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    } finally {
      await rm(draft, { force: true });
    }
    const pid = Number.parseInt((await readFile(path, "utf8").catch(() => "")).trim(), 10);
    if (Number.isSafeInteger(pid) && pid > 0 && pidAlive(pid)) {
      throw new GacError("OUTPUT_BUSY", `another gac (pid ${pid}) is writing ${target}; wait for it to finish or choose another output`);
    }
    // A dead owner's lock: remove it and claim once more (link decides a race between two claimants).
    await rm(path, { force: true });
  }
  throw new GacError("OUTPUT_BUSY", `another gac is writing ${target}; wait for it to finish or choose another output`);
}

/**
 * Builds a directory with `build(tmpDir)` in a sibling temp dir, fsyncs it, and renames it to
 * `target`. A crash at any point never leaves a partial directory under `target`: at worst the old
 * target sits under `.<basename>.gac-old-<pid>-*`, which cleanStaleTemps moves back. The temp
 * directory is removed on every failure path, and the output name is claimed for the whole run.
 */
export async function publishDirectoryAtomically(target: string, build: (tmpDir: string) => Promise<void>, opts: PublishOptions = {}): Promise<void> {
  const abs = resolve(target);
  const parent = dirname(abs);
  const base = basename(abs);
  const refuse = () => new GacError("OUTPUT_EXISTS", `${abs} already exists; choose another output or pass --force to replace it`);
  await opts.check?.();
  if (!opts.force && (await pathExists(abs))) throw refuse();
  await mkdir(parent, { recursive: true });
  const release = await claimOutput(parent, base, abs);
  try {
    await cleanStaleTemps(parent, base);
    const tmp = join(parent, tempName(base, "tmp"));
    await mkdir(tmp);
    trackTempPath(tmp);
    try {
      await build(tmp);
      await syncTree(tmp);
      await opts.check?.();
      await moveIntoPlace(tmp, abs, opts.force === true, refuse);
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      throw e;
    }
  } finally {
    await release();
  }
}

/** Renames `tmp` to `abs`; an existing `abs` (when forced) is moved aside first and deleted only after. */
async function moveIntoPlace(tmp: string, abs: string, force: boolean, refuse: () => GacError): Promise<void> {
  const parent = dirname(abs);
  const before = await lstat(abs).catch(() => undefined);
  if (!before) {
    await rename(tmp, abs);
    await syncDir(parent);
    return;
  }
  if (!force) throw refuse();
  const old = join(parent, tempName(basename(abs), "old"));
  await rename(abs, old);
  // What was moved aside must be what was checked: a swap in between puts it back and stops.
  const moved = await lstat(old);
  if (moved.dev !== before.dev || moved.ino !== before.ino) {
    await rename(old, abs).catch(() => undefined);
    throw new GacError("OUTPUT_BUSY", `${abs} was replaced by something else while gac wrote its output; nothing was changed`);
  }
  try {
    await rename(tmp, abs);
  } catch (e) {
    await rename(old, abs).catch(() => undefined);
    throw e;
  }
  await syncDir(parent);
  await rm(old, { recursive: true, force: true });
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
