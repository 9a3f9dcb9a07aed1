/**
 * The repair outputs of every fixture kind in every fixture dtype, as sha256 digests: one file and
 * sharded (small shards, small blocks), fold and logical scale, and OPTIMAL on one file. The committed
 * digests (repair-digests.json) were computed by the repair code before the fast codecs and copy
 * paths went in; repair-digests.test.ts recomputes them, so any change of an output byte fails.
 *
 *   node --import tsx test/repair/golden-digests.ts --write   # regenerate (only when a change of output is intended)
 *   node --import tsx test/repair/golden-digests.ts --write --kinds llama-pruned-mlp   # add a new kind (run on code without the change)
 */
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FIXTURE_KINDS, generateFixture, type FixtureDtype } from "../../src/fixtures/index.js";
import { repairCheckpoint } from "../../src/repair/repair-checkpoint.js";
import { REPAIR_MANIFEST_FILE } from "../../src/repair/manifest.js";
import type { ScaleMode } from "../../src/repair/tensor-edits.js";
import type { Strategy } from "../../src/plan/types.js";

export const DIGESTS_FILE = join(import.meta.dirname, "repair-digests.json");

export const GOLDEN_DTYPES: readonly FixtureDtype[] = ["F32", "F16", "BF16"];

interface Layout {
  name: "one-file" | "sharded";
  maxShardBytes?: number;
  /** Repair block size: the sharded runs use small odd blocks, so tensors cross many block edges. */
  chunkBytes?: number;
}
const LAYOUTS: readonly Layout[] = [{ name: "one-file" }, { name: "sharded", maxShardBytes: 120_000, chunkBytes: 40_006 }];
const RUNS: readonly { strategy: Strategy; scaleMode: ScaleMode; layouts: readonly Layout["name"][] }[] = [
  { strategy: "MINIMAL", scaleMode: "fold", layouts: ["one-file", "sharded"] },
  { strategy: "MINIMAL", scaleMode: "logical", layouts: ["one-file", "sharded"] },
  { strategy: "OPTIMAL", scaleMode: "fold", layouts: ["one-file"] },
];

/**
 * One digest of a directory: the sha256 of the lines "<name> <sha256 of the file>" of every file but
 * the manifest (it holds a date and paths), sorted by name, with the file count in front.
 */
async function dirDigest(dir: string): Promise<string> {
  const lines: string[] = [];
  for (const f of (await readdir(dir)).sort()) {
    if (f === REPAIR_MANIFEST_FILE) continue;
    lines.push(
      `${f} ${createHash("sha256")
        .update(await readFile(join(dir, f)))
        .digest("hex")}\n`,
    );
  }
  return `${lines.length} files ${createHash("sha256").update(lines.join("")).digest("hex")}`;
}

/** Case name -> digest. "<kind> <dtype> <layout>" is the fixture written, "... <strategy> <scale>" a repair of it. */
export type Digests = Record<string, string>;

/** Writes each case under a temp dir, repairs it and digests input and outputs. */
export async function computeDigests(only?: (caseName: string) => boolean): Promise<Digests> {
  const root = await mkdtemp(join(tmpdir(), "gac-golden-"));
  const digests: Digests = {};
  try {
    for (const { kind } of FIXTURE_KINDS) {
      for (const dtype of GOLDEN_DTYPES) {
        for (const layout of LAYOUTS) {
          const base = `${kind} ${dtype} ${layout.name}`;
          if (only && !only(base)) continue;
          const input = join(root, "in");
          await generateFixture(kind, input, { seed: 7, dtype, maxShardBytes: layout.maxShardBytes, force: true });
          digests[base] = await dirDigest(input);
          for (const run of RUNS.filter((r) => r.layouts.includes(layout.name))) {
            const out = join(root, "out");
            await repairCheckpoint(input, out, { strategy: run.strategy, scaleMode: run.scaleMode, force: true, ...(layout.chunkBytes ? { chunkBytes: layout.chunkBytes } : {}) });
            digests[`${base} ${run.strategy} ${run.scaleMode}`] = await dirDigest(out);
            await rm(out, { recursive: true, force: true });
          }
          await rm(input, { recursive: true, force: true });
        }
      }
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  return digests;
}

export async function readCommittedDigests(): Promise<Digests> {
  return JSON.parse(await readFile(DIGESTS_FILE, "utf8")) as Digests;
}

if (process.argv[1] === import.meta.filename && process.argv.includes("--write")) {
  // --kinds a,b: compute only those kinds and merge them into the committed file (a kind added later).
  const kindsAt = process.argv.indexOf("--kinds");
  const kinds = kindsAt > 0 ? process.argv[kindsAt + 1].split(",") : undefined;
  const t = performance.now();
  const fresh = await computeDigests(kinds ? (name) => kinds.includes(name.split(" ")[0]) : undefined);
  const digests = kinds ? { ...(await readCommittedDigests()), ...fresh } : fresh;
  await writeFile(DIGESTS_FILE, JSON.stringify(digests, null, 1) + "\n");
  process.stderr.write(`${Object.keys(fresh).length} cases in ${((performance.now() - t) / 1000).toFixed(1)} s -> ${DIGESTS_FILE}\n`);
}
