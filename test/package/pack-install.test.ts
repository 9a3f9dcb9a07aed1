/**
 * The package as users get it (slow: about a minute): `npm pack` (which builds dist/ through
 * `prepare`), install the tarball into an empty temp project (from the npm cache when it has the
 * dependencies, else the registry), then run examples/scan-and-repair.mjs there, which imports
 * gac by name, and the installed `gac` bin.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";

let work: string;
let app: string;
let files: string[];
before(async () => {
  work = await mkdtemp(join(tmpdir(), "gac-pack-"));
  const { stdout } = await run(NPM, ["pack", "--json", "--pack-destination", work], { cwd: ROOT, maxBuffer: 64 << 20 });
  const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  files = packed.files.map((f) => f.path);
  app = join(work, "app");
  await mkdir(app);
  await writeFile(join(app, "package.json"), JSON.stringify({ name: "gac-example-app", private: true, type: "module" }));
  await run(NPM, ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", join(work, packed.filename)], { cwd: app, maxBuffer: 64 << 20 });
  await copyFile(join(ROOT, "examples", "scan-and-repair.mjs"), join(app, "scan-and-repair.mjs"));
});
after(() => rm(work, { recursive: true, force: true }));

test("the tarball ships the build, the worker, profiles and the license, and no tests or sources", () => {
  for (const f of ["dist/index.js", "dist/index.d.ts", "dist/cli/entry.js", "bin/gac.js", "python/gac_worker/__main__.py", "LICENSE", "profiles/nvidia-h200.json"]) {
    assert.ok(files.includes(f), `${f} is missing from the tarball`);
  }
  const stray = files.filter((f) => f.startsWith("python/tests/") || f.startsWith("test/") || f.startsWith("src/") || f.endsWith(".map"));
  assert.deepEqual(stray, []);
});

test("an example program imports gac by name and scans, repairs and verifies a fixture", async () => {
  const { stdout } = await run(process.execPath, ["scan-and-repair.mjs"], { cwd: app });
  assert.match(stdout, /^scan: palu on h200 \(sm90\): [1-9]\d* of \d+ calls off the fast path$/m);
  assert.match(stdout, /^repair: [1-9]\d* dims padded, \+\d+\.\d\d% parameters$/m);
  assert.match(stdout, /^scan after: 0 of \d+ calls off the fast path$/m);
  assert.match(stdout, /^verify: PASS /m);
});

test("the installed gac bin runs and the report entry is its own import", async () => {
  const { stdout } = await run(process.execPath, [join(app, "node_modules", ".bin", "gac"), "--version"], { cwd: app });
  assert.match(stdout, /^\d+\.\d+\.\d+\n$/);
  const { stdout: keys } = await run(process.execPath, ["--input-type=module", "-e", 'const m = await import("gac/report"); console.log(typeof m.buildReport)'], { cwd: app });
  assert.equal(keys, "function\n");
});
