import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openCheckpoint } from "../../src/checkpoint/open.js";
import { readTensorBytes } from "../../src/checkpoint/safetensors-read.js";
import { generateFixture } from "../../src/fixtures/index.js";
import { layerLinears, linearFactors } from "../../src/model/layer-linears.js";
import { loadModelSpec } from "../../src/model/load-model-spec.js";
import type { ModelSpec } from "../../src/model/types.js";
import type { QuantScheme } from "../../src/quant/quant-config.js";
import { dequantizingReader } from "../../src/quant/quantized-reader.js";
import { quantizeCheckpoint } from "../../src/quant/write-quantized.js";
import { checkpointReader } from "../../src/verify/load-model.js";
import { scanCheckpoint } from "../../src/scan/scan-checkpoint.js";
import { runCli } from "../../src/cli/main.js";
import { captureIO } from "../helpers/capture-io.js";

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), "gac-qckpt-"));
  await generateFixture("llama-aligned", join(root, "dense"), {});
  await generateFixture("pruned-flap", join(root, "flap"), {});
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const SCHEMES: [string, QuantScheme, number][] = [
  // name, scheme, the largest |dequantized - original| allowed as a fraction of the weight's max |w|
  ["gptq", { method: "gptq", bits: 4, groupSize: 128, descAct: false, sym: true }, 1 / 14 + 1e-3],
  ["gptq-g-1", { method: "gptq", bits: 4, groupSize: -1, descAct: false, sym: true }, 1 / 14 + 1e-3],
  ["awq", { method: "awq", bits: 4, groupSize: 128, zeroPoint: true }, 1 / 15 + 1e-3],
  ["fp8-tensor", { method: "fp8" }, 1 / 16],
  ["fp8-block", { method: "fp8", block: [128, 128] }, 1 / 16],
  ["nvfp4-ct", { method: "nvfp4", producer: "compressed-tensors", groupSize: 16 }, 1 / 6 + 0.02],
  ["nvfp4-modelopt", { method: "nvfp4", producer: "modelopt", groupSize: 16 }, 1 / 6 + 0.02],
  ["gptq-desc-act", { method: "gptq", bits: 4, groupSize: 32, descAct: true, sym: false }, 1 / 15 + 1e-3],
  // E8M0 scales are powers of two: the block max lands in [4, 8) and rounds to at most 6 (1/4 of max |w| at worst).
  ["mxfp4", { method: "mxfp4", groupSize: 32 }, 1 / 4 + 1e-3],
  ["ct-fp8-tensor", { method: "fp8", producer: "compressed-tensors", granularity: "tensor" }, 1 / 16],
  ["ct-fp8-channel", { method: "fp8", producer: "compressed-tensors", granularity: "channel" }, 1 / 16],
  ["ct-fp8-block", { method: "fp8", producer: "compressed-tensors", block: [128, 128] }, 1 / 16],
  ["modelopt-fp8", { method: "fp8", producer: "modelopt", granularity: "tensor" }, 1 / 16],
  // BF16 scales: the top code may clip by up to 15 * 2^-8 of a step beyond the half step.
  ["ct-w4a16", { method: "pack-quantized", bits: 4, groupSize: 128, sym: true }, 1 / 14 + 1e-3],
  ["ct-w4a16-asym", { method: "pack-quantized", bits: 4, groupSize: 128, sym: false }, 1 / 15 + 0.01],
  ["ct-w4a16-channel", { method: "pack-quantized", bits: 4, groupSize: -1, sym: true }, 1 / 14 + 1e-3],
];

const weightNames = (spec: ModelSpec) => spec.layers.flatMap((l) => layerLinears(l).flatMap(({ linear }) => linearFactors(linear).map((w) => `${w.tensor} [${w.out}, ${w.in}]`)));

for (const [label, scheme, bound] of SCHEMES) {
  test(`a ${label} checkpoint written from a dense fixture reads back with the dense logical shapes and dequantizes to exactly the reference values`, async () => {
    const out = join(root, label);
    const reference = await quantizeCheckpoint(join(root, "dense"), out, scheme);
    const dense = loadModelSpec(await openCheckpoint(join(root, "dense")));
    const ckpt = await openCheckpoint(out);
    const spec = loadModelSpec(ckpt);
    assert.deepEqual(weightNames(spec), weightNames(dense));
    assert.deepEqual(spec.quantization?.scheme, scheme, "config.json's quantization_config reads back as the scheme written");
    assert.equal(spec.quantization?.weights.size, reference.size);
    assert.equal(reference.size, dense.numLayers * 7);
    const read = dequantizingReader(ckpt, spec, checkpointReader(ckpt));
    const original = checkpointReader(await openCheckpoint(join(root, "dense")));
    for (const [name, values] of reference) {
      const back = await read(name);
      assert.deepEqual(back, values, `${name} reads back bit for bit`);
      if (scheme.method === "gptq" && scheme.descAct) {
        const gIdx = ckpt.tensors.get(name.replace(/\.weight$/, ".g_idx"))!;
        const groups = new Int32Array(new Uint8Array(await readTensorBytes(gIdx)).buffer);
        assert.ok(
          groups.some((g, kk) => g !== Math.floor(kk / 32)),
          `${name}: g_idx is a permutation of groups, not k / 32`,
        );
      }
      const w = await original(name);
      let amax = 0;
      let err = 0;
      for (let i = 0; i < w.length; i++) {
        amax = Math.max(amax, Math.abs(w[i]));
        err = Math.max(err, Math.abs(back[i] - w[i]));
      }
      assert.ok(err <= bound * amax, `${name}: max error ${err} is within ${bound} of max |w| ${amax}`);
      assert.ok(err > 0, `${name}: quantization changed something (the check can fail)`);
    }
  });
}

test("the scan reports each quantized GEMM's stored layout and leaves lm_head without one", async () => {
  const report = await scanCheckpoint(join(root, "gptq"));
  const gemms = report.calls.filter((c) => c.kind === "gemm");
  const down = gemms.find((c) => c.id === "prefill:layers.0.mlp.down_proj");
  assert.ok(down && down.kind === "gemm");
  assert.deepEqual(down.shape, { m: 2048, n: 256, k: 512 });
  assert.deepEqual(down.quantization, {
    method: "gptq",
    scheme: "gptq int4 g128",
    group_k: 128,
    group_n: null,
    tensors: {
      qweight: "model.layers.0.mlp.down_proj.qweight",
      scales: "model.layers.0.mlp.down_proj.scales",
      qzeros: "model.layers.0.mlp.down_proj.qzeros",
      g_idx: "model.layers.0.mlp.down_proj.g_idx",
    },
  });
  const head = gemms.find((c) => c.role === "lm_head");
  assert.ok(head && !("quantization" in head));
});

test("a misaligned pruned model quantizes to FP8 (any shape) but GPTQ and NVFP4 refuse its odd widths with the rule", async () => {
  await quantizeCheckpoint(join(root, "flap"), join(root, "flap-fp8"), { method: "fp8", block: [128, 128] });
  const spec = loadModelSpec(await openCheckpoint(join(root, "flap-fp8")));
  assert.equal(spec.layers[0].mlp.intermediate, 403);
  await assert.rejects(quantizeCheckpoint(join(root, "flap"), join(root, "flap-gptq"), SCHEMES[0][1]), /N = (403|517|\d+) is not a multiple of 8|K = \d+ is not a multiple of 8/);
  await assert.rejects(quantizeCheckpoint(join(root, "flap"), join(root, "flap-nvfp4"), SCHEMES[5][1]), /K = \d+ is odd/);
});

test("gac quant on a quantized checkpoint says which rules of its stored format the current shapes break", async () => {
  await quantizeCheckpoint(join(root, "flap"), join(root, "flap-fp8b"), { method: "fp8", block: [128, 128] });
  const json = captureIO(root);
  assert.equal(await runCli(["quant", "flap-fp8b", "--json"], json), 0);
  const report = JSON.parse(json.stdout);
  assert.equal(report.stored_as.scheme, "fp8 e4m3 block 128x128");
  assert.equal(report.stored_as.format, "fp8-block128");
  const broken = report.stored_as.readiness.failures.map((f: { axis: string; dim: string; value: number }) => `${f.axis}/${f.dim}/${f.value}`);
  assert.ok(broken.includes("K/intermediate/403"), broken.join(", "));
  const text = captureIO(root);
  assert.equal(await runCli(["quant", "flap-fp8b"], text), 0);
  assert.match(text.stdout, /Stored as fp8 e4m3 block 128x128: \d+\/\d+ weights break FP8 E4M3, 128x128 block scales/);
  const aligned = captureIO(root);
  assert.equal(await runCli(["quant", "fp8-block", "--json"], aligned), 0);
  assert.deepEqual(JSON.parse(aligned.stdout).stored_as.readiness.failures, []);
});

test("gac quant --repair and gac repair both pad a quantized checkpoint in the quantized domain", async () => {
  const io = captureIO(root);
  assert.equal(await runCli(["quant", "flap-fp8b", "--repair", "flap-fp8b-aligned"], io), 0);
  assert.match(io.stdout, /layers\.0\.mlp\.intermediate: 403 -> 512/);
  const spec = loadModelSpec(await openCheckpoint(join(root, "flap-fp8b-aligned")));
  assert.equal(spec.layers[0].mlp.intermediate, 512);
  const repair = captureIO(root);
  assert.equal(await runCli(["repair", "flap-fp8b", "-o", "flap-fp8b-repair"], repair), 0, repair.stderr);
  assert.match(repair.stdout, /403 -> 512/);
  assert.equal(loadModelSpec(await openCheckpoint(join(root, "flap-fp8b-repair"))).layers[0].mlp.intermediate, 512);
});

test("the scan reports a compressed-tensors W4A16 GEMM's stored tensors, and gac quant judges it by the GPTQ Marlin rules vLLM serves it with", async () => {
  const report = await scanCheckpoint(join(root, "ct-w4a16"));
  const down = report.calls.find((c) => c.id === "prefill:layers.0.mlp.down_proj");
  assert.ok(down && down.kind === "gemm");
  assert.deepEqual(down.shape, { m: 2048, n: 256, k: 512 });
  assert.deepEqual(down.quantization, {
    method: "pack-quantized",
    scheme: "int4 g128 (compressed-tensors pack-quantized)",
    group_k: 128,
    group_n: null,
    tensors: {
      weight_packed: "model.layers.0.mlp.down_proj.weight_packed",
      weight_scale: "model.layers.0.mlp.down_proj.weight_scale",
      weight_shape: "model.layers.0.mlp.down_proj.weight_shape",
    },
  });
  const io = captureIO(root);
  assert.equal(await runCli(["quant", "ct-w4a16", "--json"], io), 0, io.stderr);
  const stored = JSON.parse(io.stdout).stored_as;
  assert.equal(stored.format, "gptq-int4-g128");
  assert.deepEqual(stored.readiness.failures, []);
  for (const [dir, scheme] of [
    ["ct-fp8-channel", "fp8 e4m3 per-channel (compressed-tensors)"],
    ["modelopt-fp8", "fp8 e4m3 per-tensor (modelopt)"],
  ]) {
    const q = captureIO(root);
    assert.equal(await runCli(["quant", dir, "--json"], q), 0, q.stderr);
    assert.deepEqual({ ...JSON.parse(q.stdout).stored_as, readiness: undefined }, { scheme, format: "fp8-tensor", readiness: undefined });
  }
});
