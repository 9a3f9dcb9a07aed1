import { test } from "node:test";
import assert from "node:assert/strict";
import type { Dtype } from "../../src/checkpoint/types.js";
import { isGacError } from "../../src/errors.js";
import { AWQ_ORDER, packInt4x8, unpackInt4x8 } from "../../src/quant/int4-packing.js";
import { readQuantScheme } from "../../src/quant/quant-config.js";
import { logicalView } from "../../src/quant/quantized-layout.js";
import { dequantizeWeight } from "../../src/quant/dequantize.js";

type Shapes = Map<string, { dtype: Dtype; shape: number[] }>;
const P = "model.layers.0.mlp.down_proj";

/** One quantized down_proj [N = 256, K = 512] in each layout, plus an embedding. */
function layout(method: "gptq" | "awq" | "fp8" | "fp8-block" | "nvfp4"): { config: Record<string, unknown>; shapes: Shapes } {
  const s: Shapes = new Map([["model.embed_tokens.weight", { dtype: "BF16", shape: [512, 256] }]]);
  const n = 256;
  const k = 512;
  switch (method) {
    case "gptq":
      s.set(`${P}.qweight`, { dtype: "I32", shape: [k / 8, n] })
        .set(`${P}.scales`, { dtype: "F16", shape: [k / 128, n] })
        .set(`${P}.qzeros`, { dtype: "I32", shape: [k / 128, n / 8] })
        .set(`${P}.g_idx`, { dtype: "I32", shape: [k] });
      return { config: { quantization_config: { quant_method: "gptq", bits: 4, group_size: 128, desc_act: false, sym: true } }, shapes: s };
    case "awq":
      s.set(`${P}.qweight`, { dtype: "I32", shape: [k, n / 8] })
        .set(`${P}.scales`, { dtype: "F16", shape: [k / 128, n] })
        .set(`${P}.qzeros`, { dtype: "I32", shape: [k / 128, n / 8] });
      return { config: { quantization_config: { quant_method: "awq", bits: 4, group_size: 128 } }, shapes: s };
    case "fp8":
      s.set(`${P}.weight`, { dtype: "F8_E4M3", shape: [n, k] }).set(`${P}.weight_scale`, { dtype: "F32", shape: [] });
      return { config: { quantization_config: { quant_method: "fp8" } }, shapes: s };
    case "fp8-block":
      s.set(`${P}.weight`, { dtype: "F8_E4M3", shape: [n, k] }).set(`${P}.weight_scale_inv`, { dtype: "F32", shape: [2, 4] });
      return { config: { quantization_config: { quant_method: "fp8", weight_block_size: [128, 128] } }, shapes: s };
    case "nvfp4":
      s.set(`${P}.weight_packed`, { dtype: "U8", shape: [n, k / 2] })
        .set(`${P}.weight_scale`, { dtype: "F8_E4M3", shape: [n, k / 16] })
        .set(`${P}.weight_global_scale`, { dtype: "F32", shape: [1] });
      return { config: { quantization_config: { quant_method: "compressed-tensors", format: "nvfp4-pack-quantized" } }, shapes: s };
  }
}

function badQuant(f: () => unknown, ...parts: RegExp[]): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(isGacError(e), `a GacError, got ${String(e)}`);
    assert.equal(e.code, "BAD_QUANT");
    assert.ok(!e.message.includes("\n"), "one line");
    for (const p of parts) assert.match(e.message, p);
    return true;
  });
}

test("GPTQ qweight packs along K and AWQ's along N, so both read as the logical [N, K] weight", () => {
  for (const m of ["gptq", "awq", "fp8", "fp8-block", "nvfp4"] as const) {
    const { config, shapes } = layout(m);
    const v = logicalView(config, shapes);
    assert.deepEqual(v.shapes.get(`${P}.weight`)?.shape, [256, 512], m);
    assert.deepEqual([...v.shapes.keys()].sort(), ["model.embed_tokens.weight", `${P}.weight`], `${m}: the stored tensors fold into the logical one`);
  }
  assert.equal(logicalView(layout("gptq").config, layout("gptq").shapes).shapes.get(`${P}.weight`)?.dtype, "F16", "int4 computes in its scales' dtype");
  assert.equal(logicalView(layout("fp8").config, layout("fp8").shapes).shapes.get(`${P}.weight`)?.dtype, "BF16", "fp8 computes in the embedding's dtype");
});

test("int4 packing orders: GPTQ sequential nibbles, AWQ interleaved [0, 2, 4, 6, 1, 3, 5, 7]", () => {
  const seq = [0, 1, 2, 3, 4, 5, 6, 7];
  assert.equal(packInt4x8(seq, "gptq") >>> 0, 0x76543210);
  assert.equal(packInt4x8(seq, "awq") >>> 0, 0x75316420);
  assert.deepEqual(unpackInt4x8(0x75316420, "awq"), seq);
  assert.deepEqual(unpackInt4x8(packInt4x8([15, 15, 15, 15, 15, 15, 15, 15], "gptq"), "gptq"), [15, 15, 15, 15, 15, 15, 15, 15]);
  assert.deepEqual(AWQ_ORDER, [0, 2, 4, 6, 1, 3, 5, 7]);
});

test("hostile GPTQ headers get one-line errors naming the tensor and the rule", () => {
  const cases: [string, { dtype: Dtype; shape: number[] }, RegExp[]][] = [
    [`${P}.scales`, { dtype: "F16", shape: [3, 256] }, [/down_proj\.scales/, /group of 128/, /should be \[4, 256\]/]],
    [`${P}.qzeros`, { dtype: "I32", shape: [4, 256] }, [/down_proj\.qzeros/, /8 zero-points per int32/, /\[4, 32\]/]],
    [`${P}.g_idx`, { dtype: "I32", shape: [500] }, [/down_proj\.g_idx/, /one group index per input channel \(K = 512/]],
    [`${P}.qweight`, { dtype: "F16", shape: [64, 256] }, [/down_proj\.qweight/, /should be I32/]],
    [`${P}.qweight`, { dtype: "I32", shape: [64, 256, 1] }, [/should have 2 dims/]],
    [`${P}.scales`, { dtype: "I32", shape: [4, 256] }, [/should be F16 or BF16 or F32/]],
  ];
  for (const [name, t, parts] of cases) {
    const { config, shapes } = layout("gptq");
    shapes.set(name, t);
    badQuant(() => logicalView(config, shapes), ...parts);
  }
  const { config, shapes } = layout("gptq");
  shapes.delete(`${P}.qzeros`);
  badQuant(() => logicalView(config, shapes), /'model\.layers\.0\.mlp\.down_proj\.qzeros' is missing/);
  const act = layout("gptq");
  act.shapes.delete(`${P}.g_idx`);
  (act.config.quantization_config as Record<string, unknown>).desc_act = true;
  badQuant(() => logicalView(act.config, act.shapes), /down_proj\.g_idx' is missing/, /desc_act/);
});

test("a desc_act g_idx naming a group that does not exist is a one-line BAD_QUANT error when the weight is dequantized", () => {
  const w = { base: P, method: "gptq" as const, n: 8, k: 8, tensors: {}, groupK: 8 };
  const stored = {
    qweight: { dtype: "I32" as const, bytes: new Uint8Array(32) },
    qzeros: { dtype: "I32" as const, bytes: new Uint8Array(4) },
    scales: { dtype: "F32" as const, bytes: new Uint8Array(32) },
    g_idx: { dtype: "I32" as const, bytes: new Uint8Array(Int32Array.of(0, 0, 0, 0, 0, 0, 0, 7).buffer) },
  };
  badQuant(() => dequantizeWeight({ method: "gptq", bits: 4, groupSize: 8, descAct: true, sym: true }, w, stored), /down_proj\.g_idx' holds 7 at input channel 7/, /0\.\.0/);
});

test("hostile AWQ, FP8 and NVFP4 headers get one-line errors naming the tensor and the rule", () => {
  const awq = layout("awq");
  awq.shapes.set(`${P}.qzeros`, { dtype: "I32", shape: [4, 256] });
  badQuant(() => logicalView(awq.config, awq.shapes), /qzeros/, /\[4, 32\]/);
  const awqG = layout("awq");
  awqG.shapes.set(`${P}.g_idx`, { dtype: "I32", shape: [512] });
  badQuant(() => logicalView(awqG.config, awqG.shapes), /g_idx/, /AWQ has no g_idx/);
  const block = layout("fp8-block");
  block.shapes.set(`${P}.weight_scale_inv`, { dtype: "F32", shape: [2, 2] });
  badQuant(() => logicalView(block.config, block.shapes), /weight_scale_inv/, /one scale per 128x128 block/, /\[2, 4\]/);
  const channel = layout("fp8");
  channel.shapes.set(`${P}.weight_scale`, { dtype: "F32", shape: [512] });
  badQuant(() => logicalView(channel.config, channel.shapes), /weight_scale/, /per output channel/);
  const noScale = layout("fp8");
  noScale.shapes.delete(`${P}.weight_scale`);
  badQuant(() => logicalView(noScale.config, noScale.shapes), /weight_scale' is missing/);
  const nv = layout("nvfp4");
  nv.shapes.set(`${P}.weight_scale`, { dtype: "F8_E4M3", shape: [256, 64] });
  badQuant(() => logicalView(nv.config, nv.shapes), /weight_scale/, /one E4M3 scale per 16 input channels/, /\[256, 32\]/);
  const nvDtype = layout("nvfp4");
  nvDtype.shapes.set(`${P}.weight_scale`, { dtype: "F16", shape: [256, 32] });
  badQuant(() => logicalView(nvDtype.config, nvDtype.shapes), /should be F8_E4M3/);
});

test("quantization configs gac cannot read are refused in one line", () => {
  badQuant(() => readQuantScheme({ quantization_config: { quant_method: "gptq", bits: 3 } }), /3 bits/, /4-bit gptq only/);
  badQuant(() => readQuantScheme({ quantization_config: { quant_method: "gptq", bits: 4, group_size: 0 } }), /group_size 0/);
  badQuant(() => readQuantScheme({ quantization_config: { quant_method: "bitsandbytes" } }), /"bitsandbytes"/);
  badQuant(() => readQuantScheme({ quantization_config: { quant_method: "fp8", weight_block_size: [128] } }), /weight_block_size \[128\]/);
  badQuant(() => readQuantScheme({ quantization_config: { quant_method: "compressed-tensors", format: "int-quantized" } }), /nvfp4-pack-quantized format only/);
  assert.deepEqual(readQuantScheme({ quantization_config: { quant_method: "awq", w_bit: 4, q_group_size: 64 } }), { method: "awq", bits: 4, groupSize: 64, zeroPoint: true });
  assert.equal(readQuantScheme({}), undefined);
});

test("quantized tensors without a quantization_config, and a quantization_config with no quantized tensor, are refused", () => {
  const { shapes } = layout("gptq");
  badQuant(() => logicalView({}, shapes), /down_proj\.g_idx|down_proj\.qweight|down_proj\.qzeros|down_proj\.scales/, /no quantization_config/);
  badQuant(() => logicalView(layout("gptq").config, new Map([["model.embed_tokens.weight", { dtype: "BF16", shape: [512, 256] }]])), /says gptq int4 g128 but no tensor is stored that way/);
});

test("MXFP4 as transformers stores it: weight_blocks [N, K/32, 16] with element 2i in the low nibble, weight_scales E8M0 [N, K/32]; hostile headers get one-line errors", async () => {
  const { quantizeWeight } = await import("../../src/quant/reference-quantizer.js");
  // One row of 32 values: all 16 E2M1 codes (0, 0.5, ..., 6, -0, -0.5, ..., -6) twice, times 2^-3.
  const grid = [0, 0.5, 1, 1.5, 2, 3, 4, 6, -0, -0.5, -1, -1.5, -2, -3, -4, -6];
  const values = Float64Array.from([...grid, ...grid], (x) => x / 8);
  const q = quantizeWeight("t", values, 1, 32, { method: "mxfp4", groupSize: 32 });
  // max |w| = 0.75: shared exponent floor(log2 0.75) - 2 = -3, stored 124.
  assert.deepEqual([...q.tensors.weight_scales.bytes], [124]);
  assert.deepEqual(q.tensors.weight_blocks.shape, [1, 1, 16]);
  const pairs = Array.from({ length: 8 }, (_, i) => (2 * i + 1) * 16 + 2 * i); // codes 2i (low) and 2i + 1 (high)
  assert.deepEqual([...q.tensors.weight_blocks.bytes], [...pairs, ...pairs]);
  const w = { base: "t", method: "mxfp4" as const, n: 1, k: 32, tensors: {}, groupK: 32 };
  const back = dequantizeWeight({ method: "mxfp4", groupSize: 32 }, w, { weight_blocks: q.tensors.weight_blocks, weight_scales: q.tensors.weight_scales });
  assert.deepEqual([...back], [...values]);

  const mx = (blocks: { dtype: Dtype; shape: number[] }, scales: { dtype: Dtype; shape: number[] } | undefined) => {
    const shapes: Shapes = new Map([["model.embed_tokens.weight", { dtype: "BF16", shape: [512, 256] }]]);
    shapes.set(`${P}.weight_blocks`, blocks);
    if (scales) shapes.set(`${P}.weight_scales`, scales);
    return () => logicalView({ quantization_config: { quant_method: "mxfp4" } }, shapes);
  };
  const view = mx({ dtype: "U8", shape: [256, 16, 16] }, { dtype: "U8", shape: [256, 16] })();
  assert.deepEqual(view.shapes.get(`${P}.weight`)?.shape, [256, 512]);
  badQuant(mx({ dtype: "U8", shape: [256, 16, 8] }, { dtype: "U8", shape: [256, 16] }), /weight_blocks/, /should end in 16/);
  badQuant(mx({ dtype: "U8", shape: [256, 16, 16] }, { dtype: "U8", shape: [256, 15] }), /weight_scales/, /should be \[256, 16\]/);
  badQuant(mx({ dtype: "U8", shape: [256, 16, 16] }, { dtype: "F16", shape: [256, 16] }), /weight_scales/, /should be U8/);
  badQuant(mx({ dtype: "U8", shape: [256, 16, 16] }, undefined), /weight_scales' is missing/);
  badQuant(mx({ dtype: "I32", shape: [256, 16, 16] }, { dtype: "U8", shape: [256, 16] }), /should be U8/);
  badQuant(mx({ dtype: "U8", shape: [32, 256, 16, 16] }, { dtype: "U8", shape: [32, 256, 16] }), /stack of experts/, /MoE/);
  badQuant(mx({ dtype: "U8", shape: [256, 256] }, { dtype: "U8", shape: [256, 16] }), /should have 3 dims/);
  badQuant(() => logicalView({}, new Map([[`${P}.weight_blocks`, { dtype: "U8", shape: [256, 16, 16] }]])), /no quantization_config/);
});
