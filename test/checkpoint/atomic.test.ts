import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GacError } from "../../src/errors.js";
import { cleanStaleTemps, publishDirectoryAtomically, writeFileAtomic } from "../../src/util/atomic.js";
import { tempDir } from "./craft.js";

/** A pid that no process has (Linux pid_max is at most 2^22). */
const DEAD_PID = 2 ** 22 + 17;

test("writeFileAtomic replaces a file's content and leaves no temp file behind", async () => {
  const dir = await tempDir();
  const path = join(dir, "a.json");
  await writeFile(path, "old");
  await writeFileAtomic(path, "new");
  await writeFileAtomic(join(dir, "b.bin"), Uint8Array.from([1, 2, 3]));
  assert.equal(await readFile(path, "utf8"), "new");
  assert.deepEqual([...(await readFile(join(dir, "b.bin")))], [1, 2, 3]);
  assert.deepEqual((await readdir(dir)).sort(), ["a.json", "b.bin"]);
});

test("a published directory appears complete under its name with nothing else left in the parent", async () => {
  const parent = await tempDir();
  const target = join(parent, "out");
  let seenTmp = "";
  await publishDirectoryAtomically(target, async (tmp) => {
    seenTmp = tmp;
    assert.match(tmp, /\/\.out\.gac-tmp-\d+-[0-9a-f]+$/);
    await writeFile(join(tmp, "x.txt"), "hello");
    await mkdir(join(tmp, "sub"));
    await writeFile(join(tmp, "sub", "y.txt"), "world");
  });
  assert.ok(seenTmp !== "");
  assert.deepEqual(await readdir(parent), ["out"]);
  assert.equal(await readFile(join(target, "x.txt"), "utf8"), "hello");
  assert.equal(await readFile(join(target, "sub", "y.txt"), "utf8"), "world");
});

test("publishing over an existing directory without force is refused before building", async () => {
  const parent = await tempDir();
  const target = join(parent, "out");
  await mkdir(target);
  await writeFile(join(target, "keep.txt"), "mine");
  let built = false;
  await assert.rejects(
    () => publishDirectoryAtomically(target, async () => void (built = true)),
    (e: unknown) => e instanceof GacError && e.code === "OUTPUT_EXISTS" && e.message.includes("--force"),
  );
  assert.equal(built, false);
  assert.equal(await readFile(join(target, "keep.txt"), "utf8"), "mine");
});

test("publishing with force replaces the old directory and removes it", async () => {
  const parent = await tempDir();
  const target = join(parent, "out");
  await mkdir(target);
  await writeFile(join(target, "old.txt"), "old");
  await publishDirectoryAtomically(target, async (tmp) => writeFile(join(tmp, "new.txt"), "new"), { force: true });
  assert.deepEqual(await readdir(target), ["new.txt"]);
  assert.deepEqual(await readdir(parent), ["out"]);
});

test("a failing build removes its temp dir, rethrows, and leaves an existing target untouched", async () => {
  const parent = await tempDir();
  const target = join(parent, "out");
  await mkdir(target);
  await writeFile(join(target, "old.txt"), "old");
  await assert.rejects(
    () =>
      publishDirectoryAtomically(
        target,
        async (tmp) => {
          await writeFile(join(tmp, "half.txt"), "partial");
          throw new Error("disk full");
        },
        { force: true },
      ),
    /disk full/,
  );
  assert.deepEqual(await readdir(parent), ["out"]);
  assert.deepEqual(await readdir(target), ["old.txt"]);
});

test("cleanStaleTemps removes temp dirs of dead processes but not of live ones or other names", async () => {
  const parent = await tempDir();
  const dead = `.out.gac-tmp-${DEAD_PID}-abcd1234`;
  const live = `.out.gac-tmp-${process.pid}-abcd1234`;
  const other = `.other.gac-tmp-${DEAD_PID}-abcd1234`;
  for (const d of [dead, live, other]) await mkdir(join(parent, d));
  const removed = await cleanStaleTemps(parent, "out");
  assert.deepEqual(removed, [join(parent, dead)]);
  assert.deepEqual((await readdir(parent)).sort(), [live, other].sort());
});

test("cleanStaleTemps moves an interrupted --force replace's old directory back when the target is missing", async () => {
  const parent = await tempDir();
  const old = `.out.gac-old-${DEAD_PID}-00ff00ff`;
  await mkdir(join(parent, old));
  await writeFile(join(parent, old, "model.txt"), "previous");
  await cleanStaleTemps(parent, "out");
  assert.deepEqual(await readdir(parent), ["out"]);
  assert.equal(await readFile(join(parent, "out", "model.txt"), "utf8"), "previous");
});

test("a live process's lock on the output name makes a second publisher OUTPUT_BUSY; a dead one's lock is taken over", async () => {
  const parent = await mkdtemp(join(tmpdir(), "gac-lock-"));
  try {
    const target = join(parent, "out");
    // A live owner: pid 1 (init) always exists.
    await writeFile(join(parent, ".out.gac-lock"), "1\n");
    await assert.rejects(
      publishDirectoryAtomically(target, async (tmp) => writeFile(join(tmp, "f"), "x")),
      (e: unknown) => e instanceof GacError && e.code === "OUTPUT_BUSY" && /pid 1\b/.test(e.message),
    );
    assert.deepEqual(await readdir(parent), [".out.gac-lock"]);
    // A dead owner's lock.
    await writeFile(join(parent, ".out.gac-lock"), `${DEAD_PID}\n`);
    await publishDirectoryAtomically(target, async (tmp) => writeFile(join(tmp, "f"), "x"));
    assert.deepEqual(await readdir(parent), ["out"], "the lock is released after publishing");
  } finally {
    await rm(parent, { recursive: true, force: true });
  }
});

test("publishing runs the check before building and again before the rename, and a refusal there leaves nothing", async () => {
  const parent = await mkdtemp(join(tmpdir(), "gac-check-"));
  try {
    let calls = 0;
    await assert.rejects(
      publishDirectoryAtomically(join(parent, "out"), async (tmp) => writeFile(join(tmp, "f"), "x"), {
        check: async () => {
          if (++calls === 2) throw new GacError("UNSAFE_OUTPUT", "changed meanwhile");
        },
      }),
      (e: unknown) => e instanceof GacError && e.code === "UNSAFE_OUTPUT",
    );
    assert.equal(calls, 2);
    assert.deepEqual(await readdir(parent), []);
  } finally {
    await rm(parent, { recursive: true, force: true });
  }
});
