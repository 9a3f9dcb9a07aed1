import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openCheckpoint } from "../../src/checkpoint/open.js";
import { generateFixture } from "../../src/fixtures/index.js";
import { loadModelSpec } from "../../src/model/load-model-spec.js";
import type { QuantScheme } from "../../src/quant/quant-config.js";
import { quantizeCheckpoint } from "../../src/quant/write-quantized.js";
import { proposeRepair, repairCheckpoint } from "../../src/repair/repair-checkpoint.js";
import { renderProposal } from "../../src/repair/render-plan.js";
import type { ScaleMode } from "../../src/repair/tensor-edits.js";
import { verifyCheckpoints } from "../../src/verify/verify-checkpoints.js";

// llama-direct-svd: head_dim 52 (4 heads, 2 kv heads), hidden 256; nothing else irregular.
let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), "gac-qhead-"));
  await generateFixture("llama-direct-svd", join(root, "dense"), {});
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const PADDED: [string, QuantScheme, number][] = [
  // label, scheme, padded head_dim
  ["awq g-1", { method: "awq", bits: 4, groupSize: -1, zeroPoint: true }, 64],
  ["fp8 per tensor", { method: "fp8" }, 64],
  // o_proj columns per head of 52 split its int32 words along K: rows are repacked nibble by nibble.
  ["pack-quantized channel", { method: "pack-quantized", bits: 4, groupSize: -1, sym: true }, 64],
  ["compressed-tensors fp8 per channel", { method: "fp8", producer: "compressed-tensors", granularity: "channel" }, 64],
];

const quantized = async (label: string, scheme: QuantScheme) => {
  const q = join(root, label.replace(/ /g, "-"));
  await quantizeCheckpoint(join(root, "dense"), q, scheme).catch((e: unknown) => {
    if (!(e instanceof Error && /EEXIST|exists/.test(e.message))) throw e;
  });
  return q;
};

for (const [label, scheme, D] of PADDED) {
  for (const mode of ["logical", "fold"] as ScaleMode[]) {
    test(`head_dim 52 of a ${label} checkpoint pads to ${D} in the quantized domain (${mode} scale): q/k/v output channels and o_proj input channels per head, ${mode === "logical" ? "exact to float rounding" : "the fold a rounding of q's stored scales"}`, async () => {
      const q = await quantized(label, scheme);
      const out = join(root, `${label.replace(/ /g, "-")}-${mode}`);
      const r = await repairCheckpoint(q, out, { strategy: "OPTIMAL", scaleMode: mode });
      const head = r.changes.filter((c) => c.site.kind === "head_dim");
      assert.ok(head.length > 0 && head.every((c) => c.from === 52 && c.to === D), JSON.stringify(r.changes.map((c) => `${c.id} ${c.from}->${c.to}`)) + JSON.stringify(r.skipped));
      const spec = loadModelSpec(await openCheckpoint(out));
      assert.ok(spec.quantization);
      assert.ok(spec.layers.every((l) => l.attn.headDim === D));
      const folded = r.edits.filter((e) => e.scale !== undefined);
      if (mode === "fold") {
        assert.ok(folded.length > 0 && folded.every((e) => /q_proj\.(scales|weight_scale)$/.test(e.tensor)), folded.map((e) => e.tensor).join(", "));
        // Named as a rounding of the scales, never as exact.
        assert.match(renderProposal(await proposeRepair(q, { strategy: "OPTIMAL", scaleMode: mode })), /each dequantization scale rounded once to (F16|BF16|F32)/);
      } else assert.equal(folded.length, 0);
      const report = await verifyCheckpoints(q, out);
      console.log(`# ${label} head_dim 52 -> ${D}, ${mode}: max |logit diff| ${report.stats.maxAbsDiff}, max rel ${report.stats.maxRelDiff}`);
      // Logical: weights only zero-padded; the forward sums the same products plus exact zeros (float rounding of the attention scale's computation at most).
      if (mode === "logical") assert.ok(report.stats.maxRelDiff < 1e-12, `max rel ${report.stats.maxRelDiff}`);
      else {
        assert.ok(report.pass, `verify: max rel ${report.stats.maxRelDiff} vs tolerance ${report.tolerance}`);
        // One rounding of each folded scale to F16 (int4 scales) or F32 (FP8 per-tensor scale): relative 2^-11 or 2^-24 per q channel, before the softmax.
        assert.ok(report.stats.maxRelDiff < (scheme.method === "fp8" ? 1e-5 : 1e-2), `max rel ${report.stats.maxRelDiff}`);
      }
    });
  }
}

const REFUSED: [string, QuantScheme, RegExp][] = [
  // GPTQ packs 8 input channels per int32 down qweight's rows: heads of 52 would split them.
  ["gptq g-1", { method: "gptq", bits: 4, groupSize: -1, descAct: false, sym: true }, /o_proj.*split the packed words of 8 values/],
  ["gptq g32", { method: "gptq", bits: 4, groupSize: 32, descAct: false, sym: true }, /o_proj.*scale block|scale block.*two places|inside a scale group/],
  ["nvfp4", { method: "nvfp4", producer: "compressed-tensors", groupSize: 16 }, /o_proj.*16-wide scale blocks/],
  ["fp8 block 128x128", { method: "fp8", block: [128, 128] }, /q_proj.*128-wide scale blocks/],
  // Asymmetric pack-quantized packs 8 zero points per int32 along N: q's RoPE halves of 26 rows would split them.
  ["pack-quantized channel asym", { method: "pack-quantized", bits: 4, groupSize: -1, sym: false }, /q_proj.*zero points, 8 per int32 along N.*split the packed words/],
];

for (const [label, scheme, rule] of REFUSED) {
  test(`head_dim 52 of a ${label} checkpoint is left unrepaired with the format's rule (zeros inside a scale group, a split packed word), nothing written inexactly`, async () => {
    const q = await quantized(label, scheme);
    const out = join(root, `${label.replace(/ /g, "-")}-refused`);
    const r = await repairCheckpoint(q, out, { strategy: "OPTIMAL", scaleMode: "logical" });
    assert.equal(r.changes.filter((c) => c.site.kind === "head_dim").length, 0);
    const skipped = r.skipped.filter((s) => s.id.endsWith("head_dim"));
    assert.ok(skipped.length > 0, JSON.stringify(r.skipped));
    assert.match(skipped[0].reason, rule);
    assert.ok(!skipped[0].reason.includes("\n"));
    await assert.rejects(repairCheckpoint(q, join(root, "never"), { strategy: "OPTIMAL", scaleMode: "logical", strict: true }), { code: "UNSUPPORTED" });
  });
}
