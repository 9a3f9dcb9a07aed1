import { test } from "node:test";
import assert from "node:assert/strict";
import type { Dtype } from "../../src/checkpoint/types.js";
import { isGacError } from "../../src/errors.js";
import { AWQ_ORDER, packInt4x8, unpackInt4x8 } from "../../src/quant/int4-packing.js";
import { readQuantScheme, type QuantScheme } from "../../src/quant/quant-config.js";
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
  badQuant(() => readQuantScheme({ quantization_config: { quant_method: "compressed-tensors", format: "int-quantized" } }), /format "int-quantized"/, /pack-quantized \(int4\)/);
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

const ctConfig = (format: string, weights: Record<string, unknown>) => ({
  quantization_config: { quant_method: "compressed-tensors", format, config_groups: { group_0: { format, targets: ["Linear"], weights } } },
});
const W4A16 = { num_bits: 4, type: "int", symmetric: true, strategy: "group", group_size: 128, actorder: null };

test("compressed-tensors float-quantized and pack-quantized and modelopt FP8 configs read as their schemes; every other format or argument is refused in one line naming it", () => {
  assert.deepEqual(readQuantScheme(ctConfig("float-quantized", { num_bits: 8, type: "float", strategy: "channel", symmetric: true })), {
    method: "fp8",
    producer: "compressed-tensors",
    granularity: "channel",
  });
  assert.deepEqual(readQuantScheme(ctConfig("float-quantized", { num_bits: 8, type: "float", strategy: "block", block_structure: [128, 128] })), {
    method: "fp8",
    producer: "compressed-tensors",
    block: [128, 128],
  });
  assert.deepEqual(readQuantScheme(ctConfig("pack-quantized", W4A16)), { method: "pack-quantized", bits: 4, groupSize: 128, sym: true });
  assert.deepEqual(readQuantScheme(ctConfig("pack-quantized", { ...W4A16, strategy: "channel", group_size: null, symmetric: false })), {
    method: "pack-quantized",
    bits: 4,
    groupSize: -1,
    sym: false,
  });
  assert.deepEqual(readQuantScheme({ quantization_config: { quant_method: "modelopt", quantization: { quant_algo: "FP8" } } }), { method: "fp8", producer: "modelopt", granularity: "tensor" });
  badQuant(() => readQuantScheme(ctConfig("marlin-24", W4A16)), /format "marlin-24"/, /float-quantized \(FP8\)/);
  badQuant(() => readQuantScheme(ctConfig("pack-quantized", { ...W4A16, num_bits: 8 })), /int 8 bits/, /int4/);
  badQuant(() => readQuantScheme(ctConfig("pack-quantized", { ...W4A16, actorder: "group" })), /actorder "group"/, /weight_g_idx/);
  badQuant(() => readQuantScheme(ctConfig("pack-quantized", { ...W4A16, group_size: 0 })), /group_size 0/);
  badQuant(() => readQuantScheme(ctConfig("float-quantized", { num_bits: 8, type: "float", strategy: "token" })), /strategy "token"/);
  badQuant(() => readQuantScheme(ctConfig("float-quantized", { num_bits: 8, type: "float", strategy: "block", block_structure: [128] })), /block_structure \[128\]/);
  const mixed = {
    quantization_config: {
      quant_method: "compressed-tensors",
      format: "mixed-precision",
      config_groups: { a: { format: "pack-quantized", weights: W4A16 }, b: { format: "float-quantized", weights: { num_bits: 8, type: "float", strategy: "tensor" } } },
    },
  };
  badQuant(() => readQuantScheme(mixed), /"mixed-precision"/, /groups in "pack-quantized", "float-quantized"/);
  badQuant(() => readQuantScheme({ quantization_config: { quant_method: "modelopt", quant_algo: "W4A8_AWQ" } }), /"W4A8_AWQ"/, /NVFP4 and FP8 only/);
});

/** A pack-quantized down_proj [N = 256, K = 512], g128 unless `weights` says otherwise. */
function packLayout(weights: Record<string, unknown> = W4A16): { config: Record<string, unknown>; shapes: Shapes } {
  const s: Shapes = new Map([["model.embed_tokens.weight", { dtype: "BF16", shape: [512, 256] }]]);
  s.set(`${P}.weight_packed`, { dtype: "I32", shape: [256, 64] })
    .set(`${P}.weight_scale`, { dtype: "BF16", shape: [256, 4] })
    .set(`${P}.weight_shape`, { dtype: "I64", shape: [2] });
  if (weights.symmetric === false) s.set(`${P}.weight_zero_point`, { dtype: "I32", shape: [32, 4] });
  return { config: ctConfig("pack-quantized", weights), shapes: s };
}

test("a pack-quantized weight reads as [N, K = 8 x packed width] in its scales' dtype; hostile headers get one-line errors naming the tensor and what to do", () => {
  const v = logicalView(packLayout().config, packLayout().shapes);
  assert.deepEqual(v.shapes.get(`${P}.weight`), { dtype: "BF16", shape: [256, 512] });
  assert.deepEqual([...v.shapes.keys()].sort(), ["model.embed_tokens.weight", `${P}.weight`]);
  assert.deepEqual(v.quantization?.weights.get(`${P}.weight`)?.groupK, 128);
  const asym = packLayout({ ...W4A16, symmetric: false });
  assert.equal(logicalView(asym.config, asym.shapes).quantization?.weights.get(`${P}.weight`)?.tensors.weight_zero_point, `${P}.weight_zero_point`);
  const cases: [Record<string, unknown>, string, { dtype: Dtype; shape: number[] } | undefined, RegExp[]][] = [
    [W4A16, `${P}.weight_packed`, { dtype: "I32", shape: [256, 65] }, [/weight_packed/, /K = 520/, /group_size 128 does not divide/]],
    [W4A16, `${P}.weight_packed`, { dtype: "U8", shape: [256, 64] }, [/weight_packed/, /should be I32/]],
    [W4A16, `${P}.weight_scale`, { dtype: "BF16", shape: [256, 8] }, [/weight_scale/, /should be \[256, 4\]/, /group of 128 input channels of K = 512/]],
    [W4A16, `${P}.weight_scale`, { dtype: "BF16", shape: [4, 256] }, [/weight_scale/, /should be \[256, 4\]/]],
    [{ ...W4A16, group_size: 96 }, `${P}.weight_scale`, { dtype: "BF16", shape: [256, 6] }, [/weight_packed/, /group_size 96 does not divide/, /re-quantize/]],
    [W4A16, `${P}.weight_shape`, undefined, [/weight_shape' is missing/, /re-export/]],
    [W4A16, `${P}.weight_shape`, { dtype: "I64", shape: [3] }, [/weight_shape/, /should be \[2\]/]],
    [W4A16, `${P}.weight_zero_point`, { dtype: "I32", shape: [32, 4] }, [/weight_zero_point/, /symmetric/]],
    [{ ...W4A16, symmetric: false }, `${P}.weight_zero_point`, { dtype: "I32", shape: [256, 4] }, [/weight_zero_point/, /should be \[32, 4\]/, /8 zero points per int32 along N/]],
    [{ ...W4A16, symmetric: false }, `${P}.weight_zero_point`, undefined, [/weight_zero_point' is missing/]],
    [W4A16, `${P}.weight_g_idx`, { dtype: "I32", shape: [512] }, [/weight_g_idx/, /actorder/]],
  ];
  for (const [weights, name, t, parts] of cases) {
    const { config, shapes } = packLayout(weights);
    if (t) shapes.set(name, t);
    else shapes.delete(name);
    badQuant(() => logicalView(config, shapes), ...parts);
  }
  badQuant(() => logicalView({}, packLayout().shapes), /no quantization_config/);
});

test("compressed-tensors and modelopt FP8 headers: the scale's shape must be what the strategy says", () => {
  const fp8 = (config: Record<string, unknown>, scale: { dtype: Dtype; shape: number[] } | undefined, name = `${P}.weight_scale`) => {
    const s: Shapes = new Map([["model.embed_tokens.weight", { dtype: "BF16", shape: [512, 256] }]]);
    s.set(`${P}.weight`, { dtype: "F8_E4M3", shape: [256, 512] });
    if (scale) s.set(name, scale);
    return () => logicalView(config, s);
  };
  const tensor = ctConfig("float-quantized", { num_bits: 8, type: "float", strategy: "tensor" });
  const channel = ctConfig("float-quantized", { num_bits: 8, type: "float", strategy: "channel" });
  const block = ctConfig("float-quantized", { num_bits: 8, type: "float", strategy: "block", block_structure: [128, 128] });
  const modelopt = { quantization_config: { quant_method: "modelopt", quant_algo: "FP8" } };
  assert.equal(fp8(channel, { dtype: "BF16", shape: [256, 1] })().quantization?.weights.get(`${P}.weight`)?.scaleGranularity, "channel");
  assert.deepEqual(fp8(block, { dtype: "F32", shape: [2, 4] })().quantization?.weights.get(`${P}.weight`)?.tensors.weight_scale_inv, `${P}.weight_scale`);
  assert.equal(fp8(modelopt, { dtype: "F32", shape: [] })().quantization?.weights.get(`${P}.weight`)?.scaleGranularity, "tensor");
  badQuant(fp8(tensor, { dtype: "F32", shape: [256, 1] }), /weight_scale/, /should be \[\] or \[1\]: compressed-tensors FP8 per tensor/);
  badQuant(fp8(channel, { dtype: "F32", shape: [1] }), /weight_scale/, /should be \[256, 1\]/);
  badQuant(fp8(modelopt, { dtype: "F32", shape: [256] }), /weight_scale/, /modelopt FP8 per tensor/);
  badQuant(fp8(block, { dtype: "F32", shape: [2, 2] }), /'model\.layers\.0\.mlp\.down_proj\.weight_scale'/, /one scale per 128x128 block/, /\[2, 4\]/);
  badQuant(fp8(block, undefined), /weight_scale' is missing/);
});

test("pack-quantized packing, byte by byte: element 8j + i in bits 4i of word j, stored as q + 8; zero points packed 8 output channels per int32", async () => {
  const { quantizeWeight } = await import("../../src/quant/reference-quantizer.js");
  // One group of 8 per row, symmetric: max |w| 7 gives scale 1, codes q = w.
  const row = [-7, -3, -1, 0, 1, 2, 3, 7];
  const q = quantizeWeight("t", Float64Array.from(row), 1, 8, { method: "pack-quantized", bits: 4, groupSize: 8, sym: true });
  // u = q + 8 = [1, 5, 7, 8, 9, 10, 11, 15], element i in nibble i.
  assert.equal(new Int32Array(new Uint8Array(q.tensors.weight_packed.bytes).buffer)[0] >>> 0, 0xfba98751);
  assert.deepEqual([...new BigInt64Array(new Uint8Array(q.tensors.weight_shape.bytes).buffer)], [1n, 8n]);
  // Asymmetric, 8 rows: row r spans -r..15 - r, so scale 1 and zero point z = r - 8 (stored r); codes u = w + r.
  const rows = Float64Array.from({ length: 64 }, (_, i) => {
    const r = Math.floor(i / 8);
    const e = i % 8;
    return (e === 7 ? 15 : 2 * e) - r;
  });
  const scheme: QuantScheme = { method: "pack-quantized", bits: 4, groupSize: 8, sym: false };
  const a = quantizeWeight("t", rows, 8, 8, scheme);
  assert.deepEqual(a.tensors.weight_zero_point.shape, [1, 1]);
  assert.equal(new Int32Array(new Uint8Array(a.tensors.weight_zero_point.bytes).buffer)[0], 0x76543210, "row r's zero point in bits 4r");
  assert.deepEqual(
    [...new Int32Array(new Uint8Array(a.tensors.weight_packed.bytes).buffer)].map((x) => x >>> 0),
    Array(8).fill(0xfca86420),
  );
  assert.deepEqual([...a.tensors.weight_scale.bytes], Array(8).fill([0x80, 0x3f]).flat(), "BF16 1.0 per row");
  const w = { base: "t", method: "pack-quantized" as const, n: 8, k: 8, tensors: { weight_shape: "t.weight_shape", weight_packed: "t.weight_packed" }, groupK: 8 };
  const back = dequantizeWeight(scheme, w, a.tensors);
  assert.deepEqual([...back], [...rows], "dequantizes to the exact values");
  assert.deepEqual([...back], [...a.dequantized]);
});
