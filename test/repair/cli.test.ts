import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../../src/cli/main.js";
import { generateFixture } from "../../src/fixtures/index.js";
import { GacError } from "../../src/errors.js";
import { captureIO } from "../helpers/capture-io.js";
import type { RepairManifest } from "../../src/repair/manifest.js";

/** The whole-file sha256 of a written file (a file under one 64 MiB chunk: also its one chunk digest). */
async function sha256Of(path: string): Promise<string> {
  const { readFile } = await import("node:fs/promises");
  const { createHash } = await import("node:crypto");
  return createHash("sha256")
    .update(await readFile(path))
    .digest("hex");
}

let root: string;
let palu: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), "gac-repair-cli-"));
  palu = (await generateFixture("demo", join(root, "demo"), { seed: 1 })).dir;
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

test("gac plan folds per-layer and per-group repeats into one line each and prints the total overhead", async () => {
  const io = captureIO();
  assert.equal(await runCli(["plan", palu, "--strategy", "MINIMAL"], io), 0);
  assert.match(io.stdout, /layers\.\{0-3\}\.self_attn\.k_proj\.rank\.g\{0-3\}/);
  assert.match(io.stdout, /\(\d+ dims\)/);
  assert.match(io.stdout, /Total: [\d,]+ -> [\d,]+ bytes \(\+[\d.]+ MiB, \+[\d.]+%\)/);
  assert.ok(io.stdout.split("\n").length < 40, "no line per tensor");
});

test("gac plan --json gives the changes and tensor edits as data", async () => {
  const io = captureIO();
  await runCli(["plan", palu, "--strategy", "MINIMAL", "--json"], io);
  const plan = JSON.parse(io.stdout) as { changes: unknown[]; tensors: { tensor: string }[]; strategy: string };
  assert.equal(plan.strategy, "MINIMAL");
  assert.ok(plan.changes.length > 0);
  assert.ok(plan.tensors.some((t) => t.tensor.endsWith("k_proj.VT.weight")));
});

test("gac repair --dry-run prints the plan and writes nothing", async () => {
  const io = captureIO();
  const out = join(root, "dry");
  assert.equal(await runCli(["repair", palu, "--out", out, "--dry-run"], io), 0);
  assert.match(io.stdout, /Dim changes/);
  await assert.rejects(readdir(out), /ENOENT/);
});

test("gac repair prints the plan, writes the output, and draws progress with ETA on a terminal only", async () => {
  const io = captureIO();
  io.errIsTTY = true;
  const out = join(root, "out");
  assert.equal(await runCli(["repair", palu, "-o", out, "--strategy", "OPTIMAL"], io), 0);
  assert.match(io.stderr, /repair: .* MiB \/ .* MiB \(100%\), \d+ MiB\/s, ETA \d+s\n$/);
  assert.match(io.stdout, /Wrote .*out .*MiB\/s/);
  const plain = captureIO();
  assert.equal(await runCli(["repair", palu, "-o", join(root, "out-plain"), "--strategy", "OPTIMAL"], plain), 0);
  assert.equal(plain.stderr, "", "no progress in a log or a pipe");
  assert.ok((await readdir(out)).includes("gac-repair.json"));
});

test("gac repair without --out, with an unknown strategy or an unknown hash scheme are argument errors", async () => {
  await assert.rejects(runCli(["repair", palu], captureIO()), (e: unknown) => e instanceof GacError && e.code === "BAD_ARGS" && /--out/.test(e.message));
  await assert.rejects(
    runCli(["repair", palu, "--out", join(root, "bad-hash"), "--hash", "md5"], captureIO()),
    (e: unknown) => e instanceof GacError && e.code === "BAD_ARGS" && /--hash must be one of sha256-chunks, sha256, got 'md5'/.test(e.message),
  );
  await assert.rejects(runCli(["plan", palu, "--strategy", "FASTEST"], captureIO()), (e: unknown) => e instanceof GacError && e.code === "BAD_ARGS" && /MINIMAL/.test(e.message));
});

test("gac repair --checksum-output records each output file's chunk digests beside the input's (one chunk per small file: its sha256)", async () => {
  const { readFile } = await import("node:fs/promises");
  const out = join(root, "with-chunk-sums");
  assert.equal(await runCli(["repair", palu, "--out", out, "--strategy", "MINIMAL", "--checksum-output"], captureIO()), 0);
  const manifest = JSON.parse(await readFile(join(out, "gac-repair.json"), "utf8")) as RepairManifest;
  assert.equal(manifest.hashes.algorithm, "sha256-chunks");
  assert.ok(manifest.input.files.every((f) => f.sha256 === undefined && f.sha256Chunks?.length === 1 && /^[0-9a-f]{64}$/.test(f.sha256Chunks[0])));
  for (const f of manifest.output.files) {
    assert.equal(f.sha256, undefined, f.name);
    assert.deepEqual(f.sha256Chunks, [await sha256Of(join(out, f.name))], f.name);
  }
});

test("gac repair --hash sha256 --checksum-output records each output file's whole sha256 beside the input checksums", async () => {
  const { readFile } = await import("node:fs/promises");
  const out = join(root, "with-sums");
  assert.equal(await runCli(["repair", palu, "--out", out, "--strategy", "MINIMAL", "--checksum-output", "--hash", "sha256"], captureIO()), 0);
  const manifest = JSON.parse(await readFile(join(out, "gac-repair.json"), "utf8")) as RepairManifest;
  assert.equal(manifest.hashes.algorithm, "sha256");
  assert.ok(manifest.input.files.every((f) => f.sha256Chunks === undefined && /^[0-9a-f]{64}$/.test(f.sha256 ?? "")));
  for (const f of manifest.output.files) {
    assert.equal(f.sha256, await sha256Of(join(out, f.name)), f.name);
  }
});
