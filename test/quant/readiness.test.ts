import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openCheckpoint } from "../../src/checkpoint/open.js";
import { generateFixture } from "../../src/fixtures/index.js";
import { loadModelSpec } from "../../src/model/load-model-spec.js";
import { axisMultiple, quantFormat } from "../../src/quant/formats.js";
import { fixFor, modelWeights, quantReadiness } from "../../src/quant/readiness.js";
import { runCli } from "../../src/cli/main.js";
import { captureIO } from "../helpers/capture-io.js";

async function specOf(kind: Parameters<typeof generateFixture>[0]) {
  const root = await mkdtemp(join(tmpdir(), "gac-quant-"));
  try {
    await generateFixture(kind, join(root, "m"), {});
    return loadModelSpec(await openCheckpoint(join(root, "m")));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

test("a format's padding target is the least common multiple of its rules on that axis", () => {
  assert.equal(axisMultiple(quantFormat("gptq-int4-g128"), "K"), 128);
  assert.equal(axisMultiple(quantFormat("gptq-int4-g128"), "N"), 64);
  assert.equal(axisMultiple(quantFormat("nvfp4"), "K"), 32);
  assert.equal(axisMultiple(quantFormat("nvfp4"), "N"), 1);
});

test("fixes are in the terms of the dim that made the size: widths and ranks round up, head_dim stays even, hidden is never padded", () => {
  assert.deepEqual(fixFor({ dim: "intermediate", value: 11469 }, 128), { dim: "intermediate", from: 11469, to: 11520 });
  assert.deepEqual(fixFor({ dim: "head_dim", value: 106, heads: 8 }, 64), { dim: "head_dim", from: 106, to: 112 });
  assert.deepEqual(fixFor({ dim: "head_dim", value: 52, heads: 1 }, 128), { dim: "head_dim", from: 52, to: 128 });
  assert.deepEqual(fixFor({ dim: "group_ranks", value: 230, ranks: [114, 116] }, 32), { dim: "group_ranks", from: 230, to: 256 });
  assert.ok("unpaddable" in fixFor({ dim: "hidden", value: 4000 }, 128));
});

test("an aligned dense model fits every format as it is", async () => {
  const report = quantReadiness(await specOf("llama-aligned"));
  for (const f of report.formats) {
    if (f.id === "fp8-block128" || f.id === "gptq-int4-g128" || f.id === "awq-int4-g128") continue; // tiny: hidden 256, kv heads x 64 = 128
    assert.equal(f.failures.length, 0, f.id);
  }
});

test("SVD-LLM's ranks are both an N (first factor) and a K (second factor), and each gets a rank fix", async () => {
  const spec = await specOf("svdllm");
  const weights = modelWeights(spec);
  assert.ok(weights.some((w) => w.n.dim === "rank") && weights.some((w) => w.k.dim === "rank"));
  const mx = quantReadiness(spec).formats.find((f) => f.id === "mxfp4");
  assert.ok(mx);
  const rankFail = mx.failures.find((f) => f.dim === "rank" && f.axis === "K");
  assert.ok(rankFail, "a rank of 102 or 150 is not a multiple of 32");
  assert.equal(rankFail.fix.dim, "rank");
  assert.ok("to" in rankFail.fix && rankFail.fix.to % 32 === 0);
  assert.equal(mx.ready_after_padding, true);
});

test("a FLAP-pruned MLP width fails the int4 group rule and gets the width that satisfies it", async () => {
  const report = quantReadiness(await specOf("pruned-flap"));
  const gptq = report.formats.find((f) => f.id === "gptq-int4-g128");
  assert.ok(gptq);
  const width = gptq.failures.find((f) => f.dim === "intermediate" && f.axis === "K");
  assert.ok(width, "down_proj's K is the pruned width");
  assert.ok(width.rules.some((r) => r.multiple === 128 && r.kind === "format"));
  assert.ok("to" in width.fix && width.fix.to % 128 === 0 && width.fix.to >= width.value);
});

test("gac quant prints the readiness as text and JSON, and refuses an unknown format by name", async () => {
  const root = await mkdtemp(join(tmpdir(), "gac-quant-cli-"));
  try {
    await generateFixture("llama-direct-svd", join(root, "svd"), {});
    const text = captureIO(root);
    assert.equal(await runCli(["quant", "svd"], text), 0);
    assert.match(text.stdout, /head_dim/);
    const json = captureIO(root);
    assert.equal(await runCli(["quant", "svd", "--formats", "fp8-tensor", "--json"], json), 0);
    const report = JSON.parse(json.stdout);
    assert.equal(report.schema, "gac-quant/1");
    assert.deepEqual(
      report.formats.map((f: { id: string }) => f.id),
      ["fp8-tensor"],
    );
    await assert.rejects(runCli(["quant", "svd", "--formats", "int3"], captureIO(root)), { code: "BAD_ARGS", message: /unknown format int3/ });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
