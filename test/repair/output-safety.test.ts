/**
 * The fuzzing campaign's data-loss reproducers, with real symbolic links: an output is judged by
 * what it is, not how it is spelled, and --force deletes only gac outputs and empty directories.
 * Plus the output-side filesystem failures (disk full and read-only on a small tmpfs when running
 * as root where mount works; a name too long) and two repairs racing for one output.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repairCheckpoint } from "../../src/repair/repair-checkpoint.js";
import { GacError } from "../../src/errors.js";
import { writeBases } from "../fuzz/fuzz-cases.js";
import { exitLikeMain, treeSnapshot } from "../helpers/run-like-main.js";

let root: string;
let base: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), "gac-out-safety-"));
  base = (await writeBases(join(root, "bases"))).single;
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

let n = 0;
/** A fresh case directory holding `parent/in` (a copy of the tiny checkpoint) and `parent/sibling.txt`. */
async function scene(): Promise<{ dir: string; parent: string; input: string }> {
  const dir = join(root, `case-${n++}`);
  const parent = join(dir, "parent");
  const input = join(parent, "in");
  await mkdir(parent, { recursive: true });
  execFileSync("cp", ["-r", base, input]);
  await writeFile(join(parent, "sibling.txt"), "keep me\n");
  return { dir, parent, input };
}

async function refused(args: string[], cwd: string, code: string, needle: RegExp): Promise<void> {
  const r = await exitLikeMain(args, cwd);
  assert.equal(r.code, 1, r.detail);
  assert.ok(r.detail?.startsWith(`${code}:`), r.detail);
  assert.match(r.detail!, needle);
}

test("--force through a link to the input's parent is refused and the parent, the input and the sibling survive", async () => {
  const { dir, parent, input } = await scene();
  await symlink(parent, join(dir, "plink"));
  const before = await treeSnapshot(parent);
  await refused(["repair", "plink/in", "--out", "parent", "--force"], dir, "UNSAFE_OUTPUT", /contains the input/);
  await refused(["repair", join(dir, "plink", "in"), "--out", join(dir, "parent"), "--force", "--replace-any"], dir, "UNSAFE_OUTPUT", /contains the input/);
  assert.equal(await treeSnapshot(parent), before);
  assert.equal(await readFile(join(parent, "sibling.txt"), "utf8"), "keep me\n");
  assert.ok((await readdir(input)).includes("config.json"));
});

test("repairing through a link to the input with --out the input itself is refused", async () => {
  const { dir, parent, input } = await scene();
  await symlink(input, join(dir, "inlink"));
  const before = await treeSnapshot(parent);
  await refused(["repair", "inlink", "--out", "parent/in", "--force", "--replace-any"], dir, "UNSAFE_OUTPUT", /is the input/);
  await refused(["repair", "parent/in", "--out", "inlink", "--force"], dir, "UNSAFE_OUTPUT", /symbolic link/);
  assert.equal(await treeSnapshot(parent), before);
});

test("an output inside the input through a link (in1link/sub) is refused and nothing is written into the input", async () => {
  const { dir, parent, input } = await scene();
  await symlink(input, join(dir, "in1link"));
  const before = await treeSnapshot(parent);
  await refused(["repair", "parent/in", "--out", "in1link/sub"], dir, "UNSAFE_OUTPUT", /is inside the input/);
  await refused(["repair", "parent/in", "--out", "in1link/sub/deeper"], dir, "UNSAFE_OUTPUT", /is inside the input/);
  assert.equal(await treeSnapshot(parent), before);
});

test("an empty --out and the root are refused, even with --force (the cwd would have been replaced)", async () => {
  const { dir, parent, input } = await scene();
  const before = await treeSnapshot(dir);
  await refused(["repair", input, "--out", "", "--force", "--replace-any"], parent, "UNSAFE_OUTPUT", /empty/);
  await refused(["repair", "parent/in", "--out", "/", "--force", "--replace-any"], dir, "UNSAFE_OUTPUT", /root/);
  await refused(["repair", input, "--out", ".", "--force", "--replace-any"], join(dir, "parent", "in"), "UNSAFE_OUTPUT", /input/);
  assert.equal(await treeSnapshot(dir), before);
});

test("an output that holds a file the input reads (a shard linked from elsewhere) is refused", async () => {
  const { dir, input } = await scene();
  const store = join(dir, "blobs");
  await mkdir(store);
  execFileSync("mv", [join(input, "model.safetensors"), join(store, "blob")]);
  await symlink(join(store, "blob"), join(input, "model.safetensors"));
  await refused(["repair", input, "--out", store, "--force", "--replace-any"], dir, "UNSAFE_OUTPUT", /contains the input/);
  assert.deepEqual(await readdir(store), ["blob"]);
});

test("--force replaces a gac output and an empty directory, refuses anything else unless --replace-any", async () => {
  const { dir, input } = await scene();
  const out = join(dir, "out");
  assert.equal((await exitLikeMain(["repair", input, "--out", out], dir)).code, 0);
  // A gac output (it holds gac-repair.json): replaced.
  assert.equal((await exitLikeMain(["repair", input, "--out", out, "--force"], dir)).code, 0);
  // An empty directory: replaced.
  const empty = join(dir, "empty");
  await mkdir(empty);
  assert.equal((await exitLikeMain(["repair", input, "--out", empty, "--force"], dir)).code, 0);
  assert.ok((await readdir(empty)).includes("gac-repair.json"));
  // Someone's data: refused with --force alone, the files stay; replaced with --replace-any.
  const data = join(dir, "data");
  await mkdir(data);
  await writeFile(join(data, "thesis.tex"), "years of work\n");
  await refused(["repair", input, "--out", data, "--force"], dir, "OUTPUT_EXISTS", /not a gac output.*--replace-any/);
  assert.deepEqual(await readdir(data), ["thesis.tex"]);
  // A plain file in the way is not a gac output either.
  await writeFile(join(dir, "file"), "x");
  await refused(["repair", input, "--out", join(dir, "file"), "--force"], dir, "OUTPUT_EXISTS", /not a gac output/);
  assert.equal((await exitLikeMain(["repair", input, "--out", data, "--force", "--replace-any"], dir)).code, 0);
  assert.ok((await readdir(data)).includes("gac-repair.json"));
  assert.deepEqual((await readdir(dir)).sort(), ["data", "empty", "file", "out", "parent"]);
});

test("two repairs racing for one output: one publishes, the other is OUTPUT_BUSY, and no temp copy is left", async () => {
  const { dir, input } = await scene();
  const out = join(dir, "out");
  const results = await Promise.allSettled([repairCheckpoint(input, out, { strategy: "OPTIMAL" }), repairCheckpoint(input, out, { strategy: "OPTIMAL" })]);
  const ok = results.filter((r) => r.status === "fulfilled");
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
  assert.equal(ok.length, 1);
  assert.equal(failed.length, 1);
  assert.ok(failed[0].reason instanceof GacError && ["OUTPUT_BUSY", "OUTPUT_EXISTS"].includes(failed[0].reason.code), String(failed[0].reason));
  assert.deepEqual((await readdir(dir)).sort(), ["out", "parent"]);
});

test("an output name longer than the filesystem allows is NAME_TOO_LONG, one line", async () => {
  const { dir, input } = await scene();
  await refused(["repair", input, "--out", join(dir, "x".repeat(300))], dir, "NAME_TOO_LONG", /too long/);
  assert.deepEqual((await readdir(dir)).sort(), ["parent"]);
});

/** A small tmpfs, when this process is root and may mount; undefined otherwise (the tests skip). */
function mountTmpfs(at: string, size: string): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", at], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

test("a full disk is DISK_FULL, one line, with no temp output left (tmpfs of 64 KiB with 8 KiB free; root only)", async (t) => {
  const { dir, input } = await scene();
  const mnt = join(dir, "small");
  await mkdir(mnt);
  if (!mountTmpfs(mnt, "64k")) return t.skip("needs root and mount");
  try {
    // The tiny checkpoint is ~20 KB: 8 KiB free runs out in the middle of its first shard.
    await writeFile(join(mnt, "filler"), Buffer.alloc(56 * 1024));
    await refused(["repair", input, "--out", join(mnt, "out")], dir, "DISK_FULL", /disk is full.*ENOSPC/);
    assert.deepEqual(await readdir(mnt), ["filler"]);
  } finally {
    execFileSync("umount", [mnt]);
  }
});

test("a read-only filesystem is READ_ONLY_FS, one line (read-only tmpfs; root only)", async (t) => {
  const { dir, input } = await scene();
  const mnt = join(dir, "ro");
  await mkdir(mnt);
  if (!mountTmpfs(mnt, "1m")) return t.skip("needs root and mount");
  try {
    execFileSync("mount", ["-o", "remount,ro", mnt]);
    await refused(["repair", input, "--out", join(mnt, "out")], dir, "READ_ONLY_FS", /read-only.*EROFS/);
  } finally {
    execFileSync("umount", [mnt]);
  }
});

test("gac fixtures follows the same output rules: no empty or root output, --force replaces only a fixture or an empty directory", async () => {
  const { dir } = await scene();
  await refused(["fixtures", "llama-aligned", "--out", "", "--force"], dir, "UNSAFE_OUTPUT", /empty/);
  await refused(["fixtures", "llama-aligned", "--out", "/", "--force"], dir, "UNSAFE_OUTPUT", /root/);
  await refused(["fixtures", "llama-aligned", "--out", "parent", "--force"], dir, "OUTPUT_EXISTS", /not a gac output \(no gac-fixture.json\)/);
  assert.equal(await readFile(join(dir, "parent", "sibling.txt"), "utf8"), "keep me\n");
  assert.equal((await exitLikeMain(["fixtures", "llama-aligned", "--out", "fx"], dir)).code, 0);
  assert.equal((await exitLikeMain(["fixtures", "llama-aligned", "--out", "fx", "--force"], dir)).code, 0);
});
