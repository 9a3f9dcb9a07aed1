/**
 * CI on the bundled trained byte-level model: every method compresses it on the CPU (library, one
 * shared cache), and each compressed model is repaired MINIMAL and OPTIMAL with the softmax scale
 * folded and logical by `gac repair`, checked by `gac verify`, and evaluated by `gac eval` (small
 * windows: one of 128 targets per model, to stay fast). A repair must not change perplexity:
 *   logical scale  exact zero or float64 rounding (|loss difference| <= FLOAT64_LOSS_BOUND, 1e-12:
 *                  the repaired forward adds only exact zeros, see src/eval/repair-difference.ts)
 *   fold           the same, unless the fold's factor rounds q_proj (head_dim changed, factor not a
 *                  power of two): then the named bound of one 16-bit rounding, u x loss (u = 2^-8 in
 *                  BF16), and the difference must be nonzero (the rounding is real and reported).
 * Skipped while the model is not in assets/.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { runCli } from "../../src/cli/main.js";
import { compressCheckpoint } from "../../src/compress/compress-checkpoint.js";
import { COMPRESS_METHODS, newCompressCache } from "../../src/compress/types.js";
import type { EvalReport } from "../../src/eval/eval-checkpoints.js";
import { classifyRepairDifference, FLOAT64_LOSS_BOUND, foldRounds } from "../../src/eval/repair-difference.js";
import { readFoldedScales } from "../../src/repair/manifest.js";
import { scanCheckpoint } from "../../src/scan/scan-checkpoint.js";
import { captureIO } from "../helpers/capture-io.js";
import { FAMILY } from "./helpers.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const MODEL = join(ROOT, "assets", "models", "shakespeare-byte");
const TEXT = join(ROOT, "assets", "data", "tinyshakespeare.txt");
const present = existsSync(join(MODEL, "config.json")) && existsSync(TEXT);

describe("gac compress, repair, verify and eval on the trained byte-level model", { skip: present ? false : "assets/models/shakespeare-byte is not in this checkout" }, () => {
  let dir: string;
  let calibration: string;
  const cache = newCompressCache();
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gac-compress-trained-"));
    const text = await readFile(TEXT, "utf8");
    calibration = join(dir, "calibration.txt");
    await writeFile(calibration, text.slice(0, 256));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function cli(args: string[]): Promise<string> {
    const io = captureIO(dir);
    assert.equal(await runCli(args, io), 0, `gac ${args.join(" ")}: ${io.stderr}`);
    return io.stdout;
  }

  // svd-pairs and asvd run without calibration so that they share one set of plain SVDs (42
  // matrices: most of this file's time); svd-heads, palu and prune-mlp use calibration text.
  for (const method of COMPRESS_METHODS) {
    const calibrated = method !== "svd-pairs" && method !== "asvd";
    it(`${method} at budget 0.7 (slow: SVDs of the trained weights) scans as ${FAMILY[method]}, and its four repairs pass gac verify and keep gac eval's loss to float64 rounding (logical) or the fold's one 16-bit rounding`, async () => {
      const out = join(dir, method);
      const report = await compressCheckpoint(MODEL, out, {
        method,
        target: { kind: "budget", fraction: 0.7 },
        align: { kind: "none" },
        cache,
        ...(method === "palu" ? { headGroupSize: 1 } : {}),
        ...(calibrated ? { calibrationPath: calibration, calibration: { seqLen: 64, maxTokens: 256 } } : {}),
      });
      assert.ok(
        report.decisions.some((d) => d.chosen % 8 !== 0),
        "the method's own sizes are irregular here",
      );
      assert.equal((await scanCheckpoint(out)).model.family, FAMILY[method]);

      const repairs: { dir: string; scale: "fold" | "logical" }[] = [];
      for (const strategy of ["MINIMAL", "OPTIMAL"]) {
        for (const scale of ["fold", "logical"] as const) {
          const r = join(dir, `${method}-${strategy}-${scale}`);
          await cli(["repair", out, "--out", r, "--strategy", strategy, "--scale", scale]);
          const v = JSON.parse(await cli(["verify", out, r, "--tokens", "16", "--json"])) as { pass: boolean };
          assert.equal(v.pass, true, `gac verify ${out} ${r}`);
          repairs.push({ dir: r, scale });
        }
      }

      const ev = JSON.parse(await cli(["eval", out, ...repairs.map((r) => r.dir), "--context", "128", "--max-tokens", "128", "--json"])) as EvalReport;
      assert.equal(ev.targets, 128);
      const [compressed, ...repaired] = ev.results;
      assert.ok(compressed.loss < Math.log(256) * 0.75, `${method}: ${compressed.loss.toFixed(3)} nats per byte (chance is ${Math.log(256).toFixed(3)})`);
      assert.ok(
        repaired.some((x) => x.params > compressed.params),
        "some repair padded the compressed model",
      );
      for (const [i, x] of repaired.entries()) {
        const scales = await readFoldedScales(repairs[i].dir);
        const d = classifyRepairDifference(x.loss, compressed.loss, { scales, dtype: x.dtype });
        const where = `${repairs[i].dir}: loss ${compressed.loss} -> ${x.loss} (${d.label})`;
        if (repairs[i].scale === "logical" || !foldRounds(scales)) {
          assert.ok(Math.abs(d.delta) <= FLOAT64_LOSS_BOUND, where);
        } else {
          assert.equal(d.kind, "fold rounding", where);
          assert.notEqual(d.delta, 0, `${where}: a rounding fold is expected to move the loss`);
        }
      }
    });
  }
});
