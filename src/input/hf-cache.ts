/**
 * Models in the Hugging Face cache, found offline and read-only: gac never downloads and never
 * writes there. The cache layout (huggingface_hub `file_download.py`):
 *
 *   <hub>/models--<org>--<name>/refs/<branch-or-tag>   the commit hash, one line
 *   <hub>/models--<org>--<name>/snapshots/<commit>/    the files, as symlinks into ../../blobs/
 *
 * `<hub>` is HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub (huggingface_hub's
 * `constants.py` order).
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, dirname, join } from "node:path";
import { GacError } from "../errors.js";

export type Env = Readonly<Record<string, string | undefined>>;

/** `org/name` or `org/name@revision`, with Hub-legal names (letters, digits, `-`, `_`, `.`). */
const REPO_ID = /^([A-Za-z0-9][\w.-]*)\/([A-Za-z0-9][\w.-]*)(?:@([\w./-]+))?$/;
const COMMIT = /^[0-9a-f]{40}$/;

export interface RepoRef {
  org: string;
  name: string;
  /** A branch, tag or commit; "main" when none was given. */
  revision: string;
}

/** "meta-llama/Llama-3.1-8B@v1" -> { org, name, revision }; undefined for anything else. */
export function parseRepoRef(text: string): RepoRef | undefined {
  const m = REPO_ID.exec(text);
  if (!m || m[1].includes("..") || m[2].includes("..")) return undefined;
  return { org: m[1], name: m[2], revision: m[3] ?? "main" };
}

export function hubCacheDir(env: Env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HF_HOME) return join(env.HF_HOME, "hub");
  return join(env.HOME ?? homedir(), ".cache", "huggingface", "hub");
}

async function isDir(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

async function listDir(path: string): Promise<string[]> {
  return readdir(path).catch(() => []);
}

/** `models--org--name`: the repo directory of the cache (or undefined when `dir` is not one). */
function isRepoCacheDirName(dir: string): boolean {
  return /^models--.+--.+$/.test(basename(dir));
}

/** The snapshot directory of `revision` inside a cache repo directory `models--org--name`. */
async function resolveSnapshot(repoDir: string, revision: string, label: string): Promise<string> {
  const snapshots = join(repoDir, "snapshots");
  const refPath = join(repoDir, "refs", ...revision.split("/"));
  const ref = await readFile(refPath, "utf8").then(
    (t) => t.trim(),
    () => undefined,
  );
  const commit = ref ?? (COMMIT.test(revision) ? revision : undefined);
  if (commit !== undefined && (await isDir(join(snapshots, commit)))) return join(snapshots, commit);
  const refs = await listDir(join(repoDir, "refs"));
  const have = await listDir(snapshots);
  const what = ref !== undefined ? `refs/${revision} points at ${ref}, which has no snapshot` : `no ref or snapshot '${revision}'`;
  throw new GacError(
    "MISSING_FILE",
    `${label} is in the HF cache (${repoDir}) but ${what}; refs: ${refs.join(", ") || "none"}; snapshots: ${have.join(", ") || "none"}. gac reads the cache offline: download it first (hf download ${label.split("@")[0]} --revision ${revision})`,
  );
}

/** The snapshot directory of `org/name[@revision]` in the cache; a one-line error when it is not there. */
export async function resolveCachedRepo(ref: RepoRef, env: Env): Promise<string> {
  const hub = hubCacheDir(env);
  const repoDir = join(hub, `models--${ref.org}--${ref.name}`);
  const label = `${ref.org}/${ref.name}@${ref.revision}`;
  if (!(await isDir(repoDir))) {
    throw new GacError(
      "MISSING_FILE",
      `${ref.org}/${ref.name} is neither a path nor a model in the HF cache (${repoDir} does not exist; set HF_HUB_CACHE or HF_HOME if the cache is elsewhere). gac never downloads: run \`hf download ${ref.org}/${ref.name}\` first`,
    );
  }
  return resolveSnapshot(repoDir, ref.revision, label);
}

/** A path inside a cache repo: `models--org--name` itself resolves to its `main` snapshot. */
export async function resolveCacheRepoDir(dir: string): Promise<string> {
  if (!isRepoCacheDirName(dir) || !(await isDir(join(dir, "snapshots")))) return dir;
  return resolveSnapshot(
    dir,
    "main",
    basename(dir)
      .replace(/^models--/, "")
      .replace("--", "/"),
  );
}

/** Whether `dir` is `.../models--org--name/snapshots/<rev>` (its files are symlinks into blobs/). */
export function isSnapshotDir(dir: string): boolean {
  return basename(dirname(dir)) === "snapshots" && isRepoCacheDirName(dirname(dirname(dir)));
}
