import { hashBytes } from "../../src/repair/file-hash.js";
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeSynthCheckpoint } from "./synth-checkpoint.js";
import { repairCheckpoint } from "../../src/repair/repair-checkpoint.js";
import type { RepairManifest } from "../../src/repair/manifest.js";

let root: string;
let input: string;

/** ~200 MB of F16 in 3 shards with irregular ranks: a repair takes about a second. */
before(async () => {
  root = await mkdtemp(join(tmpdir(), "gac-crash-"));
  input = join(root, "in");
  await writeSynthCheckpoint(input, { hidden: 2048, heads: 16, intermediate: 5504, rankAttn: 819, rankMlp: 1194, layers: 2, vocab: 8000, maxShardBytes: 80e6 });
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function sha256File(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest("hex");
}

async function checksums(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await readdir(dir)).sort()) out[f] = await sha256File(join(dir, f));
  return out;
}

/** Runs the child and SIGKILLs it after `delayMs`; resolves with whether it finished first. */
function runAndKill(out: string, delayMs: number): Promise<{ finished: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "repair-child.ts"), input, out, "--checksum-output"], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), delayMs);
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (signal === "SIGKILL") resolve({ finished: false });
      else if (code === 0) resolve({ finished: true });
      else reject(new Error(`child exited ${code}: ${stderr}`));
    });
  });
}

test("a repair killed at any point leaves no partial output, an untouched input, and a rerun succeeds", async () => {
  const original = await checksums(input);
  const delays = [300, 600, 900, 1200, 1600, 2200];
  let killed = 0;
  for (const [i, delay] of delays.entries()) {
    const out = join(root, `out-${i}`);
    const { finished } = await runAndKill(out, delay);
    const present = await readdir(out).then(
      () => true,
      () => false,
    );
    if (!finished) killed++;
    if (present) {
      // only a complete output may exist under the target name: every file its manifest lists, intact
      const manifest = JSON.parse(await readFile(join(out, "gac-repair.json"), "utf8")) as RepairManifest;
      const onDisk = await checksums(out);
      for (const f of manifest.output.files) {
        const bytes = await readFile(join(out, f.name));
        const scheme = f.sha256Chunks !== undefined ? "sha256-chunks" : "sha256";
        assert.deepEqual(
          hashBytes(bytes, scheme),
          f.sha256 !== undefined || f.sha256Chunks !== undefined ? (f.sha256 !== undefined ? { sha256: f.sha256 } : { sha256Chunks: f.sha256Chunks }) : "no hash in the manifest",
          `${f.name} after kill at ${delay} ms`,
        );
      }
      assert.ok(Object.keys(onDisk).length > 0);
    } else {
      assert.equal(finished, false, "a finished repair published its output");
    }
    assert.deepEqual(await checksums(input), original, `input changed by a kill at ${delay} ms`);
  }
  assert.ok(killed >= 2, `at least two runs were killed mid-way (${killed})`);
  // a rerun into a target whose earlier attempt was killed succeeds and cleans the dead temp dirs
  const r = await repairCheckpoint(input, join(root, "out-0"), { strategy: "MINIMAL", force: true });
  assert.ok(r.manifest.output.files.length > 0);
  const leftovers = (await readdir(root)).filter((f) => f.startsWith(".out-0.gac-"));
  assert.deepEqual(leftovers, []);
});
