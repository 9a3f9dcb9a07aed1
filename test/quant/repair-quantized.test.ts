import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openCheckpoint } from "../../src/checkpoint/open.js";
import { generateFixture } from "../../src/fixtures/index.js";
import { loadModelSpec } from "../../src/model/load-model-spec.js";
import type { QuantScheme } from "../../src/quant/quant-config.js";
import { quantReadiness } from "../../src/quant/readiness.js";
import { quantizedMultiple } from "../../src/quant/repair-quantized.js";
import { repairCheckpoint } from "../../src/repair/repair-checkpoint.js";
import { raiseToMultiple } from "../../src/plan/pad-target.js";
import { quantizeCheckpoint } from "../../src/quant/write-quantized.js";
import { verifyCheckpoints } from "../../src/verify/verify-checkpoints.js";

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), "gac-qrepair-"));
  await generateFixture("pruned-flap", join(root, "flap"), {});
  await generateFixture("svdllm", join(root, "svdllm"), {});
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

test("the padding target of a quantized checkpoint is the lcm of the kernel alignment and the format's blocks", () => {
  assert.equal(quantizedMultiple({ method: "fp8", block: [128, 128] }), 128);
  assert.equal(quantizedMultiple({ method: "fp8" }), 16);
  assert.equal(quantizedMultiple({ method: "gptq", bits: 4, groupSize: 128, descAct: false, sym: true }), 128);
  // No contract format for group 32 (formats.ts has g128): only the packing (8) and the group (32) count.
  assert.equal(quantizedMultiple({ method: "gptq", bits: 4, groupSize: 32, descAct: false, sym: true }), 32);
  assert.equal(quantizedMultiple({ method: "nvfp4", producer: "modelopt", groupSize: 16 }), 32);
  // compressed-tensors W4A16 is served by the GPTQ Marlin kernels: GPTQ g128's rules.
  assert.equal(quantizedMultiple({ method: "pack-quantized", bits: 4, groupSize: 128, sym: true }), 128);
  assert.equal(quantizedMultiple({ method: "fp8", producer: "compressed-tensors", granularity: "channel" }), 16);
});

test("a strategy's target is raised to the lcm of its kernel alignment and the format's multiple", () => {
  assert.equal(raiseToMultiple(704, 128), 768);
  assert.equal(raiseToMultiple(416, 16), 416);
  assert.equal(raiseToMultiple(408, 128), 512);
  assert.equal(raiseToMultiple(1000, 1), 1000);
  // A non-power-of-two group (96): lcm(8, 96) = 96.
  assert.equal(raiseToMultiple(200, 96), 288);
});

const CASES: [string, string, QuantScheme, number][] = [
  // fixture, label, scheme, the padded MLP width / rank expected
  ["flap", "fp8-block", { method: "fp8", block: [128, 128] }, 512],
  ["flap", "fp8-tensor", { method: "fp8" }, 416],
  ["svdllm", "nvfp4", { method: "nvfp4", producer: "compressed-tensors", groupSize: 16 }, 128],
  ["flap", "compressed-tensors-fp8-channel", { method: "fp8", producer: "compressed-tensors", granularity: "channel" }, 416],
  ["flap", "compressed-tensors-fp8-block", { method: "fp8", producer: "compressed-tensors", block: [128, 128] }, 512],
  ["flap", "modelopt-fp8", { method: "fp8", producer: "modelopt", granularity: "tensor" }, 416],
];

for (const [fixture, label, scheme, padded] of CASES) {
  test(`repairing a ${label} ${fixture} checkpoint in the quantized domain is exact: dequantize-then-forward of both agree`, async () => {
    const q = join(root, `${fixture}-${label}`);
    const out = join(root, `${fixture}-${label}-repaired`);
    await quantizeCheckpoint(join(root, fixture), q, scheme);
    const result = await repairCheckpoint(q, out, { strategy: "OPTIMAL" });
    assert.ok(result.changes.length > 0);
    assert.ok(result.manifest.output.files.length > 0, "gac-repair.json lists the output");
    const spec = loadModelSpec(await openCheckpoint(out));
    assert.ok(spec.quantization);
    const first = result.changes[0];
    assert.equal(first.to, padded, `${first.id} ${first.from} -> ${first.to}`);
    for (const c of result.changes) assert.equal(c.to % quantizedMultiple(scheme), 0, `${c.id} -> ${c.to}`);
    const stored = quantReadiness(spec).stored_as!;
    assert.ok(
      stored.readiness === null || stored.readiness.failures.every((f) => f.dim === "hidden" || f.dim === "head_dim"),
      JSON.stringify(stored.readiness?.failures.map((f) => `${f.dim} ${f.value}`)),
    );
    const report = await verifyCheckpoints(q, out);
    console.log(
      `# ${fixture} ${label}: ${result.changes.length} dims padded (first ${first.id} ${first.from} -> ${first.to}); max |logit diff| ${report.stats.maxAbsDiff}, max rel ${report.stats.maxRelDiff}`,
    );
    assert.ok(report.pass);
    assert.ok(report.stats.maxRelDiff < 1e-12, `max rel diff ${report.stats.maxRelDiff}`);
  });
}

test("verify of a quantized checkpoint against its dense original shows the quantization error (verify reads dequantized weights)", async () => {
  const report = await verifyCheckpoints(join(root, "flap"), join(root, "flap-fp8-tensor"), { tolerance: 1 });
  console.log(`# flap dense vs fp8-tensor: max |logit diff| ${report.stats.maxAbsDiff}`);
  assert.ok(report.stats.maxAbsDiff > 0);
});
