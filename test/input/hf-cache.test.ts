import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { GacError } from "../../src/errors.js";
import { generateFixture } from "../../src/fixtures/index.js";
import { hubCacheDir, parseRepoRef } from "../../src/input/hf-cache.js";
import { resolveModelInput } from "../../src/input/resolve-input.js";
import { scanCheckpoint } from "../../src/scan/scan-checkpoint.js";
import { runGac } from "../cli/run-gac.js";

const COMMIT = "0123456789abcdef0123456789abcdef01234567";
let root: string;
let hub: string;
let repoDir: string;

/**
 * A cache tree as huggingface_hub writes it: files in blobs/ named by their hash, the snapshot
 * holding relative symlinks to them, refs/main naming the commit. The checkpoint is sharded, so
 * the index's shard names resolve through links into blobs/.
 */
async function writeCachedRepo(org: string, name: string): Promise<string> {
  const src = (await generateFixture("palu", join(root, "src"), { maxShardBytes: 200_000 })).dir;
  const repo = join(hub, `models--${org}--${name}`);
  const snapshot = join(repo, "snapshots", COMMIT);
  await mkdir(join(repo, "blobs"), { recursive: true });
  await mkdir(snapshot, { recursive: true });
  await mkdir(join(repo, "refs"));
  await writeFile(join(repo, "refs", "main"), COMMIT);
  for (const file of await readdir(src)) {
    const hash = createHash("sha256")
      .update(await readFile(join(src, file)))
      .digest("hex");
    await rename(join(src, file), join(repo, "blobs", hash));
    await symlink(join("..", "..", "blobs", hash), join(snapshot, file));
  }
  return repo;
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), "gac-hf-cache-"));
  hub = join(root, "hf-home", "hub");
  repoDir = await writeCachedRepo("acme", "tiny-palu");
});
after(() => rm(root, { recursive: true, force: true }));

test("org/name[@revision] parses; paths and odd names do not", () => {
  assert.deepEqual(parseRepoRef("acme/tiny-palu"), { org: "acme", name: "tiny-palu", revision: "main" });
  assert.deepEqual(parseRepoRef("acme/tiny-palu@v1.0"), { org: "acme", name: "tiny-palu", revision: "v1.0" });
  for (const s of ["./acme/x", "a/b/c", "acme/..", "/abs/path", "acme"]) assert.equal(parseRepoRef(s), undefined, s);
});

test("the hub cache is HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub", () => {
  assert.equal(hubCacheDir({ HF_HUB_CACHE: "/c", HF_HOME: "/h", HOME: "/u" }), "/c");
  assert.equal(hubCacheDir({ HF_HOME: "/h", HOME: "/u" }), "/h/hub");
  assert.equal(hubCacheDir({ HOME: "/u" }), "/u/.cache/huggingface/hub");
});

test("org/name, org/name@commit, the repo directory and the snapshot path all scan the cached snapshot", async () => {
  const snapshot = join(repoDir, "snapshots", COMMIT);
  for (const input of ["acme/tiny-palu", `acme/tiny-palu@${COMMIT}`, repoDir, snapshot]) {
    const r = await resolveModelInput(input, { env: { HF_HUB_CACHE: hub } });
    assert.deepEqual(r, { kind: "checkpoint", dir: snapshot, source: input });
  }
  const report = await scanCheckpoint("acme/tiny-palu", { env: { HF_HUB_CACHE: hub }, gpu: "h200" });
  assert.equal(report.model.family, "palu");
  assert.equal(report.gpu.name, "h200 (sm90)");
});

test("a model not in the cache or a missing revision is a one-line error that says gac never downloads", async () => {
  await assert.rejects(
    resolveModelInput("acme/other", { env: { HF_HUB_CACHE: hub } }),
    (e: unknown) => e instanceof GacError && /never downloads: run `hf download acme\/other`/.test(e.message) && !e.message.includes("\n"),
  );
  await assert.rejects(
    resolveModelInput("acme/tiny-palu@v9", { env: { HF_HUB_CACHE: hub } }),
    (e: unknown) => e instanceof GacError && /no ref or snapshot 'v9'; refs: main; snapshots: 0123/.test(e.message),
  );
});

test("gac scan org/name finds the model through HF_HOME, read-only", async () => {
  const r = await runGac(["scan", "acme/tiny-palu", "--json"], { env: { HF_HOME: join(root, "hf-home"), HF_HUB_CACHE: "" } });
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.schema, "gac-scan/1");
  assert.equal(doc.model.family, "palu");
  assert.deepEqual((await readdir(repoDir)).sort(), ["blobs", "refs", "snapshots"], "nothing was written into the cache");
});
