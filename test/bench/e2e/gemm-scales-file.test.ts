import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gemmScalesPath, parseGemmScales, readGemmScales, renderGemmScales } from "../../../src/bench/e2e/gemm-scales-file.js";
import { readSustainedGemm } from "../../../src/bench/e2e/mechanism-files.js";

test("the committed H200 GEMM scales beside its profile are exactly what bench/gemm-scales.ts writes from the committed runs", async () => {
  const runs = (await readSustainedGemm("results/20261202T101700Z-sustained-gemm")).map((r) => ({ ...r, source: "results/20261202T101700Z-sustained-gemm" }));
  assert.equal(await readFile(gemmScalesPath("profiles/nvidia-h200.json"), "utf8"), renderGemmScales(runs));
  const read = await readGemmScales("profiles/nvidia-h200.json");
  assert.deepEqual(
    read.map((r) => [r.tokens, r.graph, r.ratios.length]),
    [
      [2048, false, 2],
      [1, true, 2],
      [32, true, 2],
    ],
  );
});

test("a profile without GEMM scales has none, and a broken sidecar is a one-line error that names the file and the fix", async () => {
  const dir = await mkdtemp(join(tmpdir(), "gac-scales-"));
  try {
    const profile = join(dir, "gpu-x.json");
    assert.deepEqual(await readGemmScales(profile), []);
    await writeFile(gemmScalesPath(profile), "{");
    await assert.rejects(readGemmScales(profile), /gpu-x\.gemm-scales\.json: not JSON .*; rewrite it with bench\/gemm-scales\.ts/);
    const good = renderGemmScales([{ gpu: "G", tokens: 1, graph: true, ratios: [0.75], source: "s" }]);
    await writeFile(gemmScalesPath(profile), good.replace("0.75", "-1"));
    await assert.rejects(readGemmScales(profile), /runs\[0\] needs tokens >= 1, graph true\/false and positive ratios/);
    assert.deepEqual(parseGemmScales(good, "x"), [{ gpu: "G", tokens: 1, graph: true, ratios: [0.75], source: "s" }]);
    assert.throws(() => parseGemmScales(JSON.stringify({ schema: "other" }), "x"), /x: not a gac-gemm-scales\/1 file/);
    assert.throws(() => renderGemmScales([]), /of none/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
