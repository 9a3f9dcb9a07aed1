import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openCheckpoint } from "../../src/checkpoint/open.js";
import { generateFixture } from "../../src/fixtures/index.js";
import { loadModelSpec } from "../../src/model/load-model-spec.js";
import type { QuantScheme } from "../../src/quant/quant-config.js";
import { quantizeCheckpoint } from "../../src/quant/write-quantized.js";
import { proposeRepair, repairCheckpoint } from "../../src/repair/repair-checkpoint.js";
import { planPieces } from "../../src/repair/stream-shard.js";
import { verifyCheckpoints } from "../../src/verify/verify-checkpoints.js";
import { runCli } from "../../src/cli/main.js";
import { captureIO } from "../helpers/capture-io.js";

// qwen2-bias (intermediate 700) padded by the 16-bit repair to 704: a multiple of 8, so int4 can
// store it, but 5.5 groups of 128, so padding it to 768 puts zeros inside group 5, whose codes
// must be each column's own zero-point.
let root: string;
const dense = () => join(root, "qwen704");
before(async () => {
  root = await mkdtemp(join(tmpdir(), "gac-qstream-"));
  await generateFixture("qwen2-bias", join(root, "qwen700"), {});
  await repairCheckpoint(join(root, "qwen700"), dense(), { strategy: "MINIMAL" });
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const SCHEMES: [string, QuantScheme][] = [
  ["gptq g128", { method: "gptq", bits: 4, groupSize: 128, descAct: false, sym: true }],
  ["gptq asym g128", { method: "gptq", bits: 4, groupSize: 128, descAct: false, sym: false }],
  ["awq g128", { method: "awq", bits: 4, groupSize: 128, zeroPoint: true }],
  ["gptq desc_act asym g128", { method: "gptq", bits: 4, groupSize: 128, descAct: true, sym: false }],
];

const CHUNK = 4096;

async function safetensorsBytes(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const f of (await readdir(dir)).filter((f) => f.endsWith(".safetensors")).sort()) out.set(f, await readFile(join(dir, f)));
  return out;
}

for (const [label, scheme] of SCHEMES) {
  const slug = label.replace(/ /g, "-");
  test(`gac repair of a ${label} checkpoint streams in blocks smaller than its tensors and is exact: zeros inside a partial group take each column's zero-point`, async () => {
    const q = join(root, slug);
    await quantizeCheckpoint(dense(), q, scheme);
    const proposal = await proposeRepair(q, { strategy: "OPTIMAL" });
    const widths = proposal.changes.filter((c) => c.site.kind === "intermediate");
    assert.ok(widths.length > 0 && widths.every((c) => c.from === 704 && c.to === 768), JSON.stringify(proposal.changes.map((c) => `${c.id} ${c.from}->${c.to}`)));
    // head_dim 64 fits the strategy: the format's groups bind heads x head_dim (256), so it stays.
    assert.ok(proposal.changes.every((c) => c.site.kind !== "head_dim"));
    // Bounded memory: every read (and every edited block) of the stream is at most CHUNK bytes, while the tensors are larger.
    const editMap = new Map(proposal.edits.map((e) => [e.tensor, e]));
    const largest = Math.max(...[...proposal.ckpt.tensors.values()].filter((t) => editMap.has(t.name)).map((t) => t.byteLength));
    assert.ok(largest > 4 * CHUNK, `largest edited stored tensor ${largest} bytes`);
    for (const f of proposal.ckpt.files) for (const p of planPieces(f, editMap, CHUNK)) assert.ok(p.length <= CHUNK, `a ${p.kind} piece of ${p.length} bytes`);

    const small = join(root, `${slug}-small`);
    const big = join(root, `${slug}-big`);
    const r = await repairCheckpoint(q, small, { strategy: "OPTIMAL", chunkBytes: CHUNK });
    await repairCheckpoint(q, big, { strategy: "OPTIMAL" });
    assert.deepEqual(await safetensorsBytes(small), await safetensorsBytes(big), "the output does not depend on the block size");
    assert.ok(r.manifest.tensors.some((t) => t.tensor.endsWith("down_proj.qweight")));
    const spec = loadModelSpec(await openCheckpoint(small));
    assert.equal(spec.quantization?.scheme.method, scheme.method);
    assert.ok(spec.layers.every((l) => l.mlp.intermediate === 768));
    const report = await verifyCheckpoints(q, small);
    console.log(`# ${label}: intermediate 704 -> 768 in blocks of ${CHUNK} bytes (largest tensor ${largest}); max |logit diff| ${report.stats.maxAbsDiff}`);
    assert.ok(report.pass);
    assert.equal(report.stats.maxAbsDiff, 0);
  });
}

test("gac quant --repair is gac repair: same bytes, and a 16-bit input is sent to gac repair", async () => {
  const q = join(root, "gptq-g128");
  const viaQuant = join(root, "via-quant");
  const io = captureIO(root);
  assert.equal(await runCli(["quant", q, "--repair", viaQuant], io), 0, io.stderr);
  assert.match(io.stdout, /quantized domain/);
  assert.deepEqual(await safetensorsBytes(viaQuant), await safetensorsBytes(join(root, "gptq-g128-big")));
  await assert.rejects(runCli(["quant", dense(), "--repair", join(root, "never")], captureIO(root)), { code: "UNSUPPORTED", message: /not quantized.*use gac repair/ });
});

test("gac repair of an MXFP4 checkpoint pads whole 32-value blocks in the quantized domain, exactly (vLLM TP 8: intermediate 704 -> 768)", async () => {
  const q = join(root, "mxfp4");
  await quantizeCheckpoint(dense(), q, { method: "mxfp4", groupSize: 32 });
  const out = join(root, "mxfp4-repaired");
  const r = await repairCheckpoint(q, out, { strategy: "OPTIMAL", runtime: "vllm", tp: 8, chunkBytes: CHUNK });
  const widths = r.changes.filter((c) => c.site.kind === "intermediate");
  assert.ok(widths.length > 0 && widths.every((c) => c.to === 768), JSON.stringify(r.changes.map((c) => `${c.id} ${c.from}->${c.to}`)));
  const down = r.edits.find((e) => e.tensor.endsWith("layers.0.mlp.down_proj.weight_blocks"));
  assert.deepEqual(down?.to, [256, 24, 16]);
  const spec = loadModelSpec(await openCheckpoint(out));
  assert.equal(spec.quantization?.scheme.method, "mxfp4");
  const report = await verifyCheckpoints(q, out);
  console.log(`# mxfp4: intermediate 704 -> 768 (TP 8); max |logit diff| ${report.stats.maxAbsDiff}`);
  assert.equal(report.stats.maxAbsDiff, 0);
});

// pack-quantized refuses a group size that does not divide K (vLLM's Marlin does), so 704 is stored in groups of 32
// (22 groups); vLLM TP 8 then asks 704 -> 768: two new groups at the end, weight_shape rewritten.
for (const sym of [true, false]) {
  test(`gac repair of a compressed-tensors pack-quantized g32 ${sym ? "symmetric" : "asymmetric"} checkpoint streams in 4 KiB blocks, rewrites weight_shape and is exact (vLLM TP 8: intermediate 704 -> 768)`, async () => {
    const scheme: QuantScheme = { method: "pack-quantized", bits: 4, groupSize: 32, sym };
    const q = join(root, `pack-quantized-${sym}`);
    await quantizeCheckpoint(dense(), q, scheme);
    const small = join(root, `pack-quantized-${sym}-small`);
    const big = join(root, `pack-quantized-${sym}-big`);
    const r = await repairCheckpoint(q, small, { strategy: "OPTIMAL", runtime: "vllm", tp: 8, chunkBytes: CHUNK });
    await repairCheckpoint(q, big, { strategy: "OPTIMAL", runtime: "vllm", tp: 8 });
    assert.deepEqual(await safetensorsBytes(small), await safetensorsBytes(big), "the output does not depend on the block size");
    const widths = r.changes.filter((c) => c.site.kind === "intermediate");
    assert.ok(widths.length > 0 && widths.every((c) => c.from === 704 && c.to === 768), JSON.stringify(r.changes.map((c) => `${c.id} ${c.from}->${c.to}`)));
    const down = r.edits.find((e) => e.tensor.endsWith("layers.0.mlp.down_proj.weight_packed"));
    assert.deepEqual(down?.to, [256, 96]);
    assert.ok(r.edits.some((e) => e.tensor.endsWith("layers.0.mlp.down_proj.weight_shape")));
    assert.equal(
      r.edits.some((e) => e.tensor.endsWith("weight_zero_point")),
      !sym,
    );
    const ckpt = await openCheckpoint(small);
    const shape = ckpt.tensors.get("model.layers.0.mlp.down_proj.weight_shape")!;
    const { readTensorBytes } = await import("../../src/checkpoint/safetensors-read.js");
    assert.deepEqual([...new BigInt64Array(new Uint8Array(await readTensorBytes(shape)).buffer)], [256n, 768n]);
    const spec = loadModelSpec(ckpt);
    assert.deepEqual(spec.quantization?.scheme, scheme);
    assert.ok(spec.layers.every((l) => l.mlp.intermediate === 768));
    const report = await verifyCheckpoints(q, small);
    console.log(`# pack-quantized g32 sym ${sym}: intermediate 704 -> 768 (TP 8) in blocks of ${CHUNK} bytes; max |logit diff| ${report.stats.maxAbsDiff}`);
    assert.equal(report.stats.maxAbsDiff, 0);
  });
}
