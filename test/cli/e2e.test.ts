/**
 * The CLI as a user meets it, in child processes: exit codes (docs/cli.md), closed pipes, signals,
 * one JSON style, argument errors. Each case is one reproducer of issue 13. About 20 processes.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, writeFile, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateFixture } from "../../src/fixtures/index.js";
import { runGac } from "./run-gac.js";

let root: string;
let aligned: string;
let palu: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), "gac-e2e-"));
  aligned = (await generateFixture("llama-aligned", join(root, "aligned"), { seed: 1 })).dir;
  palu = (await generateFixture("palu", join(root, "palu"))).dir;
});
after(() => rm(root, { recursive: true, force: true }));

/** Every object key in a JSON document that is camelCase (data keys such as tensor names have dots). */
function camelKeys(v: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(v)) for (const x of v) camelKeys(x, found);
  else if (typeof v === "object" && v !== null) {
    for (const [k, x] of Object.entries(v)) {
      if (/^[a-z]+[A-Z]/.test(k)) found.add(k);
      camelKeys(x, found);
    }
  }
  return found;
}

test("a closed stdout ends the command quietly with exit 0 (scan --json | head -c 100, bench --list | head)", async () => {
  for (const args of [
    ["scan", palu, "--json"],
    ["bench", "--list"],
  ]) {
    const r = await runGac(args, { onSpawn: (c) => c.stdout?.destroy() });
    assert.equal(r.stderr, "", `${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.code, 0, args.join(" "));
  }
});

test("a bad flag is an input error with commander's suggestion, exit 1", async () => {
  const r = await runGac(["scan", palu, "--gpux", "h100"]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, "gac: unknown option '--gpux' (Did you mean --gpu?) (see `gac help scan`)\n");
  const typo = await runGac(["scna", palu]);
  assert.equal(typo.code, 1);
  assert.match(typo.stderr, /unknown command 'scna' \(Did you mean scan\?\)/);
});

test("a missing directory is an input error, exit 1, one line", async () => {
  const r = await runGac(["scan", join(root, "nope")]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^gac: .*nope does not exist \(give a checkpoint directory, a \.gguf file, or org\/name of a model in the HF cache\)\n$/);
});

test("under --json an error is a gac-error/1 object on stdout", async () => {
  const r = await runGac(["verify", aligned, join(root, "nope"), "--json"]);
  assert.equal(r.code, 1);
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.schema, "gac-error/1");
  assert.equal(doc.error.code, "MISSING_FILE");
  assert.equal(doc.error.exit_code, 1);
  assert.equal(r.stderr, "");
  const bad = await runGac(["plan", aligned, "--json", "--strategy"]);
  assert.equal(JSON.parse(bad.stdout).error.code, "BAD_ARGS");
});

test("verify of two different models of one architecture fails with exit 3", async () => {
  const other = (await generateFixture("llama-aligned", join(root, "aligned-seed2"), { seed: 2 })).dir;
  const r = await runGac(["verify", aligned, other]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /^gac: repaired model differs past the tolerance/m);
});

test("verify of two unrelated models refuses (exit 1) instead of reporting FAIL", async () => {
  const r = await runGac(["verify", aligned, palu]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /is not a repair of .*: .* differs \(/);
});

test("scan --fail-on collapse exits 4 on a collapsing model and 0 on an aligned one; the default GPU is h200", async () => {
  const bad = await runGac(["scan", palu, "--fail-on", "collapse", "--json"]);
  assert.equal(bad.code, 4, bad.stderr);
  assert.match(bad.stderr, /--fail-on collapse: \d+ of \d+ calls leave the fast path/);
  assert.equal(JSON.parse(bad.stdout).gpu.name, "h200 (sm90)");
  const good = await runGac(["scan", aligned, "--fail-on", "collapse"]);
  assert.equal(good.code, 0, good.stdout + good.stderr);
});

test("plan, repair, verify, fixtures --list and bench --list print snake_case JSON with a schema tag", async () => {
  const out = join(root, "palu-repaired");
  const docs: [string, unknown][] = [];
  for (const [schema, args] of [
    ["gac-plan/1", ["plan", palu, "--json"]],
    ["gac-repair/1", ["repair", palu, "--out", out, "--json"]],
    ["gac-verify/1", ["verify", palu, out, "--json"]],
    ["gac-fixtures-list/1", ["fixtures", "--list", "--json"]],
    ["gac-bench-list/1", ["bench", "--list", "--json"]],
  ] as const) {
    const r = await runGac([...args]);
    assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.schema, schema);
    assert.deepEqual([...camelKeys(doc)], [], `${schema} has camelCase keys`);
    docs.push([schema, doc]);
  }
  const verify = docs.find(([s]) => s === "gac-verify/1")?.[1] as { pass: boolean; stats: Record<string, unknown> };
  assert.equal(verify.pass, true);
  assert.ok("max_rel_diff" in verify.stats);
});

let bigPaluDir: Promise<string> | undefined;
/** A real-size sparse PaLU (16 GB of holes): a repair of it streams long enough to be interrupted mid-way. */
function bigPalu(): Promise<string> {
  bigPaluDir ??= generateFixture("palu", join(root, "palu-8b"), { scale: "llama3-8b", sparse: true }).then((i) => i.dir);
  return bigPaluDir;
}

/** Polls until `dir` holds a repair temp directory (`.<out>.gac-tmp-<pid>-<hex>`). */
async function waitForTemp(dir: string, timeoutMs = 60_000): Promise<string> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    const t = (await readdir(dir)).find((n) => n.includes(".gac-tmp-"));
    if (t) return t;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`no temp dir appeared in ${dir}`);
}

test("SIGTERM and SIGINT during a repair remove its temp output and exit 143 and 130", { timeout: 180_000 }, async () => {
  const big = await bigPalu();
  for (const [signal, code] of [
    ["SIGTERM", 143],
    ["SIGINT", 130],
  ] as const) {
    const parent = await mkdtemp(join(root, `sig-${signal}-`));
    const r = await runGac(["repair", big, "--out", join(parent, "out")], {
      onSpawn: (child) => {
        waitForTemp(parent).then(() => setTimeout(() => child.kill(signal), 100));
      },
    });
    assert.equal(r.code, code, `${signal}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`^gac: interrupted by ${signal}`, "m"));
    assert.deepEqual(await readdir(parent), [], `${signal} left ${await readdir(parent)}`);
  }
});

test("a SIGINT message starts on its own line after a progress line drawn on a terminal", { timeout: 180_000 }, async () => {
  const big = await bigPalu();
  const parent = await mkdtemp(join(root, "tty-"));
  const { execFile } = await import("node:child_process");
  // The child exits 130 (an error for execFile); its report is on stdout either way.
  const stdout = await new Promise<string>((ok) => execFile(process.execPath, ["--import", "tsx", join(import.meta.dirname, "tty-signal-child.ts"), big, join(parent, "out")], (_e, out) => ok(out)));
  const { code, stderr } = JSON.parse(stdout) as { code: number; stderr: string };
  assert.equal(code, 130);
  const redraw = "\r\u001b[2Krepair: ";
  const lastDraw = stderr.slice(stderr.lastIndexOf(redraw) + redraw.length);
  assert.ok(stderr.includes(redraw), "progress was drawn in place");
  assert.match(lastDraw, /^[^\n]*MiB\/s, ETA [^\n]*\ngac: interrupted by SIGINT/);
  assert.deepEqual(await readdir(parent), []);
});

test("an unknown architecture is named and a pickle checkpoint is refused without being opened", async () => {
  const mamba = join(root, "mamba");
  await generateFixture("llama-aligned", mamba);
  const config = JSON.parse(await readFile(join(mamba, "config.json"), "utf8"));
  await writeFile(join(mamba, "config.json"), JSON.stringify({ ...config, model_type: "mamba" }));
  const m = await runGac(["scan", mamba]);
  assert.equal(m.code, 1);
  assert.match(m.stderr, /model_type 'mamba' is a state-space model \(Mamba\): gac models transformer attention/);

  const pickle = await mkdtemp(join(root, "pickle-"));
  await writeFile(join(pickle, "config.json"), JSON.stringify(config));
  await writeFile(join(pickle, "pytorch_model.bin"), "not really a pickle: gac must never open it");
  const p = await runGac(["scan", pickle]);
  assert.equal(p.code, 1);
  assert.match(p.stderr, /holds a pickle checkpoint \(pytorch_model\.bin\), which gac never unpickles .* convert it to safetensors first/);
});
