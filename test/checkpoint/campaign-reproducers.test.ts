/**
 * The input-side reproducers of the fuzzing campaign (issue 8), each through the CLI as a user
 * runs it: deep JSON anywhere, FIFOs, control characters and huge names in messages, links that
 * loop, permissions (as an unprivileged child process, since root reads everything), shards in
 * index subdirectories and names ending in '/', files changed or deleted mid-repair, config
 * numbers that JSON cannot hold, a config that grows past gac's own limit, unknown model types and
 * duplicate keys. Every refusal must be exit 1 with one line, and leave the input as it was.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openCheckpoint, MAX_CONFIG_BYTES } from "../../src/checkpoint/open.js";
import { repairCheckpoint } from "../../src/repair/repair-checkpoint.js";
import { GacError } from "../../src/errors.js";
import { writeBases, type Bases } from "../fuzz/fuzz-cases.js";
import { exitLikeMain, treeSnapshot } from "../helpers/run-like-main.js";

let root: string;
let bases: Bases;
before(async () => {
  root = await mkdtemp(join(tmpdir(), "gac-campaign-"));
  bases = await writeBases(join(root, "bases"));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

let n = 0;
async function copyOf(kind: "single" | "sharded"): Promise<string> {
  const dir = join(root, `case-${n++}`, "in");
  await cp(bases[kind], dir, { recursive: true });
  return dir;
}

async function editJson(path: string, edit: (text: string) => string): Promise<void> {
  await writeFile(path, edit(await readFile(path, "utf8")));
}

/** Rewrites a safetensors file's header text, keeping its data. */
async function editHeader(path: string, edit: (header: string) => string): Promise<void> {
  const bytes = await readFile(path);
  const len = Number(bytes.readBigUInt64LE(0));
  const header = Buffer.from(edit(bytes.subarray(8, 8 + len).toString("utf8")));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(header.byteLength));
  await writeFile(path, Buffer.concat([prefix, header, bytes.subarray(8 + len)]));
}

const deep = (levels: number) => "[".repeat(levels) + "]".repeat(levels);
const firstShard = async (dir: string) => join(dir, (await readdir(dir)).filter((f) => f.endsWith(".safetensors")).sort()[0]);

/** scan, plan and repair of `input` each end in exit 1 with one line matching `needle`; the input is unchanged. */
async function allRefuse(input: string, code: string, needle: RegExp, commands: string[] = ["scan", "plan", "repair"]): Promise<void> {
  const before = await treeSnapshot(input);
  const outParent = join(input, "..", "out");
  await mkdir(outParent, { recursive: true });
  for (const command of commands) {
    const args = command === "repair" ? ["repair", input, "--out", join(outParent, "r")] : [command, input];
    const r = await exitLikeMain(args, root, 10_000);
    assert.equal(r.code, 1, `${command}: ${r.detail}`);
    assert.ok(r.detail!.startsWith(`${code}:`), `${command}: ${r.detail}`);
    assert.match(r.detail!, needle, command);
    assert.ok(!r.detail!.includes("\n"), "one line");
  }
  assert.equal(await treeSnapshot(input), before, "the input is unchanged");
  assert.deepEqual(await readdir(outParent), [], "nothing left behind");
}

// ---- deep JSON -------------------------------------------------------------------------------

test("5,000-level nesting in a header's __metadata__, dtype, shape or data_offsets is BAD_HEADER, not a stack overflow", async () => {
  const places: [string, (h: string) => string][] = [
    ["__metadata__", (h) => h.replace('"__metadata__":{', `"__metadata__":{"deep":${deep(5000)},`)],
    ["dtype", (h) => h.replace('"dtype":"F32"', `"dtype":${deep(5000)}`)],
    ["shape", (h) => h.replace(/"shape":\[[^\]]*\]/, `"shape":${deep(5000)}`)],
    ["data_offsets", (h) => h.replace(/"data_offsets":\[[^\]]*\]/, `"data_offsets":${deep(5000)}`)],
  ];
  for (const [, edit] of places) {
    const input = await copyOf("single");
    await editHeader(join(input, "model.safetensors"), edit);
    await allRefuse(input, "BAD_HEADER", /nesting deeper than 8 levels/);
  }
});

test("deep nesting in config.json values or unrelated keys is BAD_CONFIG for scan, plan and repair", async () => {
  for (const edit of [(t: string) => t.replace('"rope_theta":', `"rope_theta": ${deep(6000)}, "was":`), (t: string) => t.replace("{", `{"unrelated": ${deep(6000)},`)]) {
    const input = await copyOf("single");
    await editJson(join(input, "config.json"), edit);
    await allRefuse(input, "BAD_CONFIG", /nesting deeper than 64 levels/);
  }
});

test("deep nesting in an index weight_map value is BAD_INDEX", async () => {
  const input = await copyOf("sharded");
  await editJson(join(input, "model.safetensors.index.json"), (t) => t.replace(/("weight_map": \{\s*"[^"]+": )"[^"]+"/, `$1${deep(6000)}`));
  await allRefuse(input, "BAD_INDEX", /nesting deeper/);
});

test("deep nesting in gac-repair.json is BAD_MANIFEST", async () => {
  const input = await copyOf("single");
  await writeFile(join(input, "gac-repair.json"), `{"format": 1, "logical": ${deep(6000)}}`);
  await allRefuse(input, "BAD_MANIFEST", /nesting deeper/, ["plan", "repair"]);
});

test("a 98 MB nested header under the 100 MB cap is refused at the depth limit without building it", async () => {
  const input = await copyOf("single");
  const levels = 49_000_000;
  await editHeader(join(input, "model.safetensors"), (h) => h.replace('"__metadata__":{', `"__metadata__":{"deep":${deep(levels)},`));
  const rssBefore = process.resourceUsage().maxRSS;
  await allRefuse(input, "BAD_HEADER", /nesting deeper than 8 levels at character/, ["scan"]);
  // Reading the 98 MB is all it costs (it used to peak at 4.9 GB before crashing).
  const grownMb = (process.resourceUsage().maxRSS - rssBefore) / 1024;
  assert.ok(grownMb < 1000, `peak RSS grew by ${grownMb.toFixed(0)} MB`);
});

// ---- FIFOs, links, permissions ---------------------------------------------------------------

test("a FIFO as shard, config.json or index is NOT_REGULAR_FILE at once, never a hang", async () => {
  for (const [kind, name] of [
    ["single", "model.safetensors"],
    ["single", "config.json"],
    ["sharded", "model.safetensors.index.json"],
    ["sharded", "model-00001-of-00004.safetensors"],
  ] as const) {
    const input = await copyOf(kind);
    assert.ok((await readdir(input)).includes(name), name);
    await rm(join(input, name));
    execFileSync("mkfifo", [join(input, name)]);
    await allRefuse(input, "NOT_REGULAR_FILE", /FIFO/);
  }
});

test("a FIFO as --profile is refused at once", async () => {
  const input = await copyOf("single");
  const fifo = join(input, "..", "profile.json");
  execFileSync("mkfifo", [fifo]);
  const r = await exitLikeMain(["scan", input, "--profile", fifo], root, 10_000);
  assert.equal(r.code, 1, r.detail);
  assert.match(r.detail!, /^NOT_REGULAR_FILE: .*FIFO/);
});

test("a symbolic-link loop as config.json is SYMLINK_LOOP, one line", async () => {
  const input = await copyOf("single");
  await rm(join(input, "config.json"));
  await symlink("loop-b", join(input, "config.json"));
  await symlink("config.json", join(input, "loop-b"));
  await allRefuse(input, "SYMLINK_LOOP", /loop.*ELOOP/);
});

/** Runs the CLI as the unprivileged user `nobody` (root reads every file, so EACCES needs another user). */
function runAsNobody(args: string[]): { status: number | null; stderr: string } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const loader = new URL("../../node_modules/tsx/dist/loader.mjs", import.meta.url).href;
  const entry = new URL("../helpers/main-entry.ts", import.meta.url).pathname;
  const r = spawnSync(process.execPath, ["--import", loader, entry, ...args], { uid: 65534, gid: 65534, encoding: "utf8", timeout: 30_000, cwd: "/" });
  return r.error ? undefined : { status: r.status, stderr: r.stderr };
}

test("unreadable config.json, shard and checkpoint directory are PERMISSION_DENIED (not 'not valid JSON'), as user nobody", async (t) => {
  const probe = runAsNobody(["--version"]);
  if (!probe || probe.status !== 0) return t.skip(`needs root to start a child as nobody${probe ? `: ${probe.stderr.slice(0, 200)}` : ""}`);
  for (const target of ["config.json", "model.safetensors", "."]) {
    const input = await copyOf("single");
    await chmod(join(input, ".."), 0o755);
    await chmod(join(input, target), target === "." ? 0o300 : 0o000);
    try {
      const r = runAsNobody(["scan", input])!;
      assert.equal(r.status, 1, r.stderr);
      const lines = r.stderr.trim().split("\n");
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], /^gac: cannot .*permission denied \(EACCES\)/);
      assert.doesNotMatch(lines[0], /not valid JSON/);
    } finally {
      await chmod(join(input, target), target === "." ? 0o755 : 0o644);
    }
  }
});

// ---- messages stay one line ------------------------------------------------------------------

test("newlines and terminal escapes in tensor names and metadata keys are escaped: one line, no raw control characters", async () => {
  const names = ['"a\\nb\\u001b[31m"', '"\\u001b[2J\\u0007x"'];
  for (const name of names) {
    const input = await copyOf("single");
    // A hostile name on a tensor whose dtype is also bad, so the message echoes it.
    await editHeader(join(input, "model.safetensors"), (h) => h.replace(/"model\.norm\.weight":\{"dtype":"F32"/, `${name}:{"dtype":"F99"`));
    const r = await exitLikeMain(["scan", input], root);
    assert.equal(r.code, 1, r.detail);
    assert.ok(!/[\u0000-\u001f\u007f]/.test(r.detail!), JSON.stringify(r.detail));
    assert.match(r.detail!, /\\x1b/);
  }
  const input = await copyOf("single");
  await editHeader(join(input, "model.safetensors"), (h) => h.replace('"__metadata__":{', '"__metadata__":{"k\\ney\\u001b":7,'));
  const r = await exitLikeMain(["scan", input], root);
  assert.equal(r.code, 1, r.detail);
  assert.match(r.detail!, /__metadata__\['k\\ney\\x1b'\] is 7, not a string/);
});

test("a 500,000-character tensor name is echoed cut, with its length; a 2 MB one is over the string limit", async () => {
  const input = await copyOf("single");
  const long = "n".repeat(500_000);
  await editHeader(join(input, "model.safetensors"), (h) => h.replace(/"model\.norm\.weight":\{"dtype":"F32"/, `"${long}":{"dtype":"F99"`));
  const r = await exitLikeMain(["scan", input], root);
  assert.equal(r.code, 1, r.detail);
  assert.ok(r.detail!.length < 2100, `${r.detail!.length} characters`);
  assert.match(r.detail!, /\[500,000 chars\]/);
  const huge = await copyOf("single");
  await editHeader(join(huge, "model.safetensors"), (h) => h.replace('"__metadata__":{', `"__metadata__":{"v":"${"v".repeat(2_000_000)}",`));
  await allRefuse(huge, "BAD_HEADER", /a string of 2,000,000 characters, over the 1,048,576 limit/, ["scan"]);
});

// ---- shard names -----------------------------------------------------------------------------

test("a shard in a subdirectory of the index is scanned and repaired alike, its path kept", async () => {
  const input = await copyOf("sharded");
  const shard = "model-00002-of-00004.safetensors";
  await mkdir(join(input, "sub"));
  execFileSync("mv", [join(input, shard), join(input, "sub", shard)]);
  await editJson(join(input, "model.safetensors.index.json"), (t) => t.split(`"${shard}"`).join(`"sub/${shard}"`));
  assert.equal((await exitLikeMain(["scan", input], root)).code, 0);
  const out = join(input, "..", "out");
  const r = await exitLikeMain(["repair", input, "--out", out], root);
  assert.equal(r.code, 0, r.detail);
  assert.deepEqual(await readdir(join(out, "sub")), [shard]);
  const repaired = await openCheckpoint(out);
  assert.ok(repaired.files.some((f) => f.path === join(out, "sub", shard)));
  assert.equal((await exitLikeMain(["verify", input, out], root)).code, 0);
});

test("index shard names ending in '/', with '//' or './' are BAD_INDEX in scan, plan and repair", async () => {
  for (const rename of [(s: string) => `${s}/`, (s: string) => `./${s}`, (s: string) => `sub//${s}`]) {
    const input = await copyOf("sharded");
    const shard = "model-00001-of-00004.safetensors";
    await editJson(join(input, "model.safetensors.index.json"), (t) => t.split(`"${shard}"`).join(JSON.stringify(rename(shard))));
    await allRefuse(input, "BAD_INDEX", /not a canonical file name/);
  }
});

// ---- the input changing under a repair -------------------------------------------------------

test("a shard deleted during the repair is a one-line error and nothing is published", async () => {
  const input = await copyOf("sharded");
  const out = join(input, "..", "out");
  let done = false;
  await assert.rejects(
    repairCheckpoint(input, out, {
      strategy: "OPTIMAL",
      chunkBytes: 512,
      onProgress: () => {
        if (!done) execFileSync("rm", [join(input, "model-00003-of-00004.safetensors")]);
        done = true;
      },
    }),
    (e: unknown) => e instanceof GacError && ["MISSING_FILE", "INPUT_CHANGED"].includes(e.code) && !e.message.includes("\n"),
  );
  assert.deepEqual(await readdir(join(input, "..")), ["in"]);
});

test("a same-size overwrite of a shard with its mtime set back is INPUT_CHANGED (ctime moves)", async () => {
  const input = await copyOf("sharded");
  const shard = join(input, "model-00001-of-00004.safetensors");
  const out = join(input, "..", "out");
  let done = false;
  await assert.rejects(
    repairCheckpoint(input, out, {
      strategy: "OPTIMAL",
      chunkBytes: 512,
      onProgress: () => {
        if (done) return;
        done = true;
        // Same size, one byte different, mtime put back to the nanosecond (touch -r): only ctime tells.
        const was = statSync(shard, { bigint: true });
        execFileSync("touch", ["-r", shard, `${shard}.ref`]);
        const bytes = readFileSync(shard);
        bytes[bytes.length - 1] ^= 0xff;
        writeFileSync(shard, bytes);
        execFileSync("touch", ["-r", `${shard}.ref`, shard]);
        execFileSync("rm", [`${shard}.ref`]);
        const now = statSync(shard, { bigint: true });
        assert.equal(now.mtimeNs, was.mtimeNs);
        assert.equal(now.size, was.size);
      },
    }),
    (e: unknown) => e instanceof GacError && e.code === "INPUT_CHANGED" && /ctime/.test(e.message),
  );
  assert.deepEqual(await readdir(join(input, "..")), ["in"]);
});

test("with --checksum-output the input is hashed again at the end and compared", async () => {
  const input = await copyOf("single");
  const out = join(input, "..", "out");
  const r = await repairCheckpoint(input, out, { strategy: "OPTIMAL", checksumOutput: true });
  assert.ok(r.manifest.input.files.every((f) => f.sha256Chunks?.length === 1 && /^[0-9a-f]{64}$/.test(f.sha256Chunks[0])));
});

// ---- config numbers and size -----------------------------------------------------------------

test("rope_theta 1e308 and 1e-300 are refused when head_dim padding would need theta^(D/d); never written as null or 0", async () => {
  for (const theta of ["1e308", "1e-300"]) {
    const input = await copyOf("single");
    await editJson(join(input, "config.json"), (t) => t.replace(/"rope_theta": [^,\n]+/, `"rope_theta": ${theta}`));
    await allRefuse(input, "UNSUPPORTED", /rope_theta .* is not a finite positive number/, ["plan", "repair"]);
  }
});

test("a 14 MB config.json repairs to a config that gac's own 16 MB limit accepts", async () => {
  const input = await copyOf("single");
  const extra = Object.fromEntries(Array.from({ length: 820_000 }, (_, i) => [`k${i}`, 1234567]));
  const config = { ...JSON.parse(await readFile(join(input, "config.json"), "utf8")), extra };
  await writeFile(join(input, "config.json"), JSON.stringify(config));
  const size = (await stat(join(input, "config.json"))).size;
  assert.ok(size > 14_000_000 && size < MAX_CONFIG_BYTES, String(size));
  const out = join(input, "..", "out");
  await repairCheckpoint(input, out, { strategy: "OPTIMAL" });
  assert.ok((await stat(join(out, "config.json"))).size <= MAX_CONFIG_BYTES);
  const repaired = await openCheckpoint(out);
  assert.equal(Object.keys(repaired.config.extra as object).length, 820_000);
});

// ---- model types and duplicate keys ----------------------------------------------------------

test("an unknown model_type that fits the Llama layout gets a note in scan and plan, and repair --strict refuses it", async () => {
  for (const type of ["gpt2", "gemma", "phi3", "mixtral", "deepseek_v3", "qwen3", ""]) {
    const input = await copyOf("single");
    await editJson(join(input, "config.json"), (t) => t.replace('"model_type": "llama"', `"model_type": ${JSON.stringify(type)}`));
    const scan = await exitLikeMain(["scan", input, "--json"], root);
    assert.equal(scan.code, 0, scan.detail);
    const notes = (JSON.parse(scan.stdout) as { model: { notes: string[] } }).model.notes;
    assert.equal(notes.length, 1);
    assert.match(notes[0], type === "" ? /no model_type/ : new RegExp(`model_type '${type}' is not one gac knows`));
    assert.match((await exitLikeMain(["plan", input], root)).stdout, /^note: .*reads it as Llama/m);
    const strict = await exitLikeMain(["repair", input, "--out", join(input, "..", "out"), "--strict"], root);
    assert.equal(strict.code, 1, strict.detail);
    assert.match(strict.detail!, /^UNKNOWN_FAMILY: .*--strict refuses it/);
  }
  const known = await exitLikeMain(["scan", await copyOf("single"), "--json"], root);
  assert.deepEqual((JSON.parse(known.stdout) as { model: { notes: string[] } }).model.notes, []);
});

test("duplicate keys in a header, a config and an index are refused, naming the key", async () => {
  const header = await copyOf("single");
  await editHeader(join(header, "model.safetensors"), (h) => h.replace('"__metadata__":{"format":"pt"', '"__metadata__":{"format":"pt","format":"tf"'));
  await allRefuse(header, "BAD_HEADER", /key "format" appears twice/, ["scan"]);
  const config = await copyOf("single");
  await editJson(join(config, "config.json"), (t) => t.replace("{", '{"head_dim": 64,'));
  await allRefuse(config, "BAD_CONFIG", /key "head_dim" appears twice/);
  const index = await copyOf("sharded");
  await editJson(join(index, "model.safetensors.index.json"), (t) => t.replace(/"weight_map": \{\s*("[^"]+": "[^"]+")/, '"weight_map": {$1, $1'));
  await allRefuse(index, "BAD_INDEX", /appears twice/);
});

test("a non-weight file over 2 GiB is streamed into the output (was ERR_FS_FILE_TOO_LARGE); slow: GAC_SLOW_TESTS=1", {
  skip: process.env.GAC_SLOW_TESTS !== "1" && "writes 2.1 GB; set GAC_SLOW_TESTS=1",
}, async () => {
  const input = await copyOf("single");
  await writeFile(join(input, "tokenizer-huge.json"), "");
  await truncate(join(input, "tokenizer-huge.json"), 2 ** 31 + 4096);
  const out = join(input, "..", "out");
  await repairCheckpoint(input, out, { strategy: "OPTIMAL" });
  assert.equal((await stat(join(out, "tokenizer-huge.json"))).size, 2 ** 31 + 4096);
});
