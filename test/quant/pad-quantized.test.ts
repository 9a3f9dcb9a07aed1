import { test } from "node:test";
import assert from "node:assert/strict";
import { dequantizeWeight, type StoredTensors } from "../../src/quant/dequantize.js";
import { padQuantizedWeight } from "../../src/quant/pad-quantized.js";
import type { QuantScheme } from "../../src/quant/quant-config.js";
import type { QuantizedWeight } from "../../src/quant/quantized-layout.js";
import { quantizeWeight } from "../../src/quant/reference-quantizer.js";
import { keepLayout, padAtEnd, padHeadsAtEnd, padHeadsHalfSplit, padSegments, type PadLayout } from "../../src/repair/rules/layout.js";
import { transformBlock } from "../../src/repair/stream-shard.js";
import { mulberry32, normalDraws } from "../../src/util/prng.js";

const SCHEMES: [string, QuantScheme][] = [
  ["gptq g128", { method: "gptq", bits: 4, groupSize: 128, descAct: false, sym: true }],
  ["gptq asym g-1", { method: "gptq", bits: 4, groupSize: -1, descAct: false, sym: false }],
  ["awq g128", { method: "awq", bits: 4, groupSize: 128, zeroPoint: true }],
  ["fp8 per tensor", { method: "fp8" }],
  ["fp8 block 128x128", { method: "fp8", block: [128, 128] }],
  ["nvfp4 compressed-tensors", { method: "nvfp4", producer: "compressed-tensors", groupSize: 16 }],
  ["nvfp4 modelopt", { method: "nvfp4", producer: "modelopt", groupSize: 16 }],
  ["gptq desc_act g64", { method: "gptq", bits: 4, groupSize: 64, descAct: true, sym: false }],
  ["mxfp4", { method: "mxfp4", groupSize: 32 }],
  ["compressed-tensors fp8 per tensor", { method: "fp8", producer: "compressed-tensors", granularity: "tensor" }],
  ["compressed-tensors fp8 per channel", { method: "fp8", producer: "compressed-tensors", granularity: "channel" }],
  ["compressed-tensors fp8 block 128x128", { method: "fp8", producer: "compressed-tensors", block: [128, 128] }],
  ["modelopt fp8", { method: "fp8", producer: "modelopt", granularity: "tensor" }],
  ["pack-quantized g128", { method: "pack-quantized", bits: 4, groupSize: 128, sym: true }],
  ["pack-quantized asym g128", { method: "pack-quantized", bits: 4, groupSize: 128, sym: false }],
  ["pack-quantized asym channel", { method: "pack-quantized", bits: 4, groupSize: -1, sym: false }],
];

function weight(n: number, k: number, seed: number): Float64Array {
  const rand = mulberry32(seed);
  return Float64Array.from(normalDraws(rand, n * k), (x) => 0.02 * x);
}

function quantized(scheme: QuantScheme, n: number, k: number): { w: QuantizedWeight; stored: StoredTensors } {
  const q = quantizeWeight("t", weight(n, k, n * 31 + k), n, k, scheme);
  const stored: StoredTensors = {};
  for (const [role, t] of Object.entries(q.tensors)) stored[role] = { dtype: t.dtype, bytes: t.bytes, shape: t.shape };
  const groupK =
    scheme.method === "gptq" || scheme.method === "awq" || scheme.method === "pack-quantized"
      ? scheme.groupSize === -1
        ? k
        : scheme.groupSize
      : scheme.method === "nvfp4"
        ? 16
        : scheme.method === "mxfp4"
          ? 32
          : scheme.block?.[1];
  const w: QuantizedWeight = {
    base: "t",
    method: scheme.method,
    n,
    k,
    tensors: Object.fromEntries(Object.keys(q.tensors).map((r) => [r, r])),
    ...(groupK !== undefined ? { groupK } : {}),
    ...(scheme.method === "fp8" && scheme.block ? { groupN: scheme.block[0] } : {}),
    ...(scheme.method === "fp8" && !scheme.block ? { scaleGranularity: scheme.granularity ?? ("tensor" as const) } : {}),
  };
  return { w, stored };
}

/** The original values at their padded positions, zeros elsewhere. */
function placed(values: Float64Array, rows: PadLayout, cols: PadLayout): Float64Array {
  const out = new Float64Array(rows.to * cols.to);
  for (const r of rows.runs)
    for (let i = 0; i < r.len; i++)
      for (const c of cols.runs)
        for (let j = 0; j < c.len; j++) {
          out[(r.dst + i) * cols.to + c.dst + j] = values[(r.src + i) * cols.from + c.src + j];
        }
  return out;
}

for (const [label, scheme] of SCHEMES) {
  test(`${label}: padding rows and columns in the quantized domain dequantizes to the original values with exact zeros around them`, async () => {
    const n = 200;
    const k = 256;
    const { w, stored } = quantized(scheme, n, k);
    const before = dequantizeWeight(scheme, w, stored);
    // Rows at the end (to a multiple of 8 and 128); columns: a whole 128 block inserted, then zeros at the end.
    const rows = padAtEnd(n, 256);
    const cols = padSegments([128, 128], [256, 256]);
    const padded = await padQuantizedWeight(scheme, w, stored, rows, cols);
    assert.equal(padded.weight.n, 256);
    assert.equal(padded.weight.k, 512);
    const after = dequantizeWeight(scheme, padded.weight, padded.tensors);
    const want = placed(before, rows, cols);
    let diff = 0;
    for (let i = 0; i < want.length; i++) diff = Math.max(diff, Math.abs(after[i] - want[i]));
    assert.equal(diff, 0, "max |padded - placed original|");
    assert.ok(after.every((x) => !Number.isNaN(x)));
    assert.ok(before.some((x) => x !== 0));
  });
}

test("rows moved inside a per-row scale layout (RoPE half-split heads, 26 channels: int4 words repacked) stay exact for int4 and NVFP4", async () => {
  for (const [, scheme] of [SCHEMES[0], SCHEMES[2], SCHEMES[5]]) {
    const { w, stored } = quantized(scheme, 4 * 52, 256);
    const rows = padHeadsHalfSplit(4, 52, 64);
    const padded = await padQuantizedWeight(scheme, w, stored, rows, keepLayout(256));
    const want = placed(dequantizeWeight(scheme, w, stored), rows, keepLayout(256));
    assert.deepEqual(dequantizeWeight(scheme, padded.weight, padded.tensors), want);
  }
});

test("zeros inserted inside a scale group are refused with the rule, not written inexactly", async () => {
  const { w, stored } = quantized(SCHEMES[2][1], 16, 256);
  await assert.rejects(padQuantizedWeight(SCHEMES[2][1], w, stored, keepLayout(16), padSegments([100, 156], [104, 160])), {
    code: "UNSUPPORTED",
    message: /elements 100\.\.255 move by 4, not a whole number of its 128-wide scale blocks/,
  });
  const b = quantized(SCHEMES[4][1], 200, 256);
  await assert.rejects(padQuantizedWeight(SCHEMES[4][1], b.w, b.stored, padHeadsHalfSplit(4, 50, 56), keepLayout(256)), { code: "UNSUPPORTED", message: /output rows/ });
});

test("gptq desc_act: padded input channels fill the free places of the original groups at their zero-points, then new groups with neutral scales", async () => {
  const scheme: QuantScheme = { method: "gptq", bits: 4, groupSize: 64, descAct: true, sym: false };
  // K = 200: groups of 64, 64, 64, 8 in activation order; padding to 256 fills group 3 (56 places), nothing new.
  const { w, stored } = quantized(scheme, 16, 200);
  const gIdx = new Int32Array(new Uint8Array(stored.g_idx.bytes).buffer);
  assert.ok(
    gIdx.some((g, kk) => g !== Math.floor(kk / 64)),
    "the fixture's g_idx is a permutation of groups",
  );
  const cols = padAtEnd(200, 256);
  const padded = await padQuantizedWeight(scheme, w, stored, keepLayout(16), cols);
  const newIdx = new Int32Array(new Uint8Array(padded.tensors.g_idx.bytes).buffer);
  assert.deepEqual([...newIdx.subarray(0, 200)], [...gIdx], "original channels keep their groups");
  assert.ok([...newIdx.subarray(200)].every((g) => g === 3));
  assert.deepEqual(padded.tensors.scales.shape, [4, 16]);
  assert.deepEqual(dequantizeWeight(scheme, padded.weight, padded.tensors), placed(dequantizeWeight(scheme, w, stored), keepLayout(16), cols));
  // Per head (4 heads of 48 -> 64, K = 192: three full groups): zeros between heads, in a new group with neutral scales.
  const b = quantized(scheme, 16, 192);
  const heads = padSegments([48, 48, 48, 48], [64, 64, 64, 64]);
  const p2 = await padQuantizedWeight(scheme, b.w, b.stored, keepLayout(16), heads);
  assert.deepEqual(p2.tensors.scales.shape, [4, 16]);
  assert.deepEqual(dequantizeWeight(scheme, p2.weight, p2.tensors), placed(dequantizeWeight(scheme, b.w, b.stored), keepLayout(16), heads));
});

test("a folded attention scale goes into each format's dequantization scales, rounded once in their stored dtype; MXFP4 (E8M0) refuses it", async () => {
  const f = Math.sqrt(64 / 52);
  // label -> the largest relative error allowed: one rounding of a scale to its dtype (F16 2^-11, F32 2^-24).
  const bounds: Record<string, number> = {
    "gptq g128": 2 ** -11,
    "awq g128": 2 ** -11,
    "fp8 per tensor": 2 ** -24,
    "fp8 block 128x128": 2 ** -24,
    "nvfp4 compressed-tensors": 2 ** -23,
    "nvfp4 modelopt": 2 ** -24,
    "compressed-tensors fp8 per channel": 2 ** -24,
    "compressed-tensors fp8 block 128x128": 2 ** -24,
    "modelopt fp8": 2 ** -24,
    "pack-quantized asym g128": 2 ** -8,
  };
  for (const [label, scheme] of SCHEMES) {
    const { w, stored } = quantized(scheme, 64, 256);
    if (scheme.method === "mxfp4") {
      await assert.rejects(padQuantizedWeight(scheme, w, stored, keepLayout(64), keepLayout(256), f), { code: "UNSUPPORTED", message: /E8M0 powers of two.*--scale logical/ });
      continue;
    }
    if (!(label in bounds)) continue;
    const padded = await padQuantizedWeight(scheme, w, stored, keepLayout(64), keepLayout(256), f);
    assert.ok(
      padded.edits.every((e) => !/weight$|weight_packed$|qweight$/.test(e.tensor)),
      `${label}: codes untouched (${padded.edits.map((e) => e.tensor).join(", ")})`,
    );
    const before = dequantizeWeight(scheme, w, stored);
    const after = dequantizeWeight(scheme, padded.weight, padded.tensors);
    let rel = 0;
    for (let i = 0; i < before.length; i++) if (before[i] !== 0) rel = Math.max(rel, Math.abs(after[i] / (before[i] * f) - 1));
    assert.ok(rel > 0 && rel <= bounds[label] * 1.0001, `${label}: max relative error ${rel} (a rounding, not exact, and within one step)`);
  }
});

test("o_proj columns per head under a group size that divides head_dim (AWQ g32, heads of 96 -> 128): whole groups move, new groups between heads, exact", async () => {
  const scheme: QuantScheme = { method: "awq", bits: 4, groupSize: 32, zeroPoint: true };
  const { w, stored } = quantized(scheme, 64, 4 * 96);
  const cols = padHeadsAtEnd(4, 96, 128);
  const padded = await padQuantizedWeight(scheme, w, stored, keepLayout(64), cols);
  assert.deepEqual(padded.tensors.scales.shape, [16, 64]);
  assert.deepEqual(dequantizeWeight(scheme, padded.weight, padded.tensors), placed(dequantizeWeight(scheme, w, stored), keepLayout(64), cols));
  // Heads of 80 under g32: a group would hold the end of one head and the start of the next.
  const b = quantized(scheme, 64, 4 * 80);
  await assert.rejects(padQuantizedWeight(scheme, b.w, b.stored, keepLayout(64), padHeadsAtEnd(4, 80, 128)), {
    code: "UNSUPPORTED",
    message: /scale block 2 .*two places|move by 48, not a whole number of its 32-wide/,
  });
});

test("pack-quantized: o_proj columns per head of 52 -> 64 split int32 words, so rows are repacked nibble by nibble, and padded channels inside a group take that row's zero point; exact", async () => {
  for (const sym of [true, false]) {
    const scheme: QuantScheme = { method: "pack-quantized", bits: 4, groupSize: -1, sym };
    const { w, stored } = quantized(scheme, 16, 4 * 52);
    const cols = padHeadsAtEnd(4, 52, 64);
    const padded = await padQuantizedWeight(scheme, w, stored, keepLayout(16), cols);
    assert.deepEqual(padded.tensors.weight_packed.shape, [16, 32]);
    assert.deepEqual([...new BigInt64Array(new Uint8Array(padded.tensors.weight_shape.bytes).buffer)], [16n, 256n], "weight_shape says the padded [N, K]");
    assert.deepEqual(dequantizeWeight(scheme, padded.weight, padded.tensors), placed(dequantizeWeight(scheme, w, stored), keepLayout(16), cols), `symmetric ${sym}`);
  }
});

test("pack-quantized: a weight_shape that disagrees with the packed header is a one-line BAD_QUANT error when the weight is dequantized or padded", async () => {
  const scheme: QuantScheme = { method: "pack-quantized", bits: 4, groupSize: -1, sym: true };
  const { w, stored } = quantized(scheme, 16, 64);
  const short = { ...stored, weight_shape: { dtype: "I64" as const, bytes: new Uint8Array(BigInt64Array.of(16n, 61n).buffer), shape: [2] } };
  assert.throws(() => dequantizeWeight(scheme, w, short), { code: "BAD_QUANT", message: /'weight_shape' holds \[16, 61\].*K = 61 is not a multiple of 8/ });
  await assert.rejects(padQuantizedWeight(scheme, w, short, keepLayout(16), padAtEnd(64, 128)), { code: "BAD_QUANT", message: /K = 61 is not a multiple of 8/ });
  const wrong = { ...stored, weight_shape: { dtype: "I64" as const, bytes: new Uint8Array(BigInt64Array.of(8n, 64n).buffer), shape: [2] } };
  assert.throws(() => dequantizeWeight(scheme, w, wrong), { code: "BAD_QUANT", message: /holds \[8, 64\].*damaged/ });
});

test("pack-quantized asymmetric: weight_packed rows repacked block by block read each block's own rows' zero points (the stream's firstRow), byte-identical to one block", async () => {
  const scheme: QuantScheme = { method: "pack-quantized", bits: 4, groupSize: -1, sym: false };
  const { w, stored } = quantized(scheme, 32, 64);
  const padded = await padQuantizedWeight(scheme, w, stored, keepLayout(32), padAtEnd(64, 128));
  const edit = padded.edits.find((e) => e.tensor === "t.weight_packed")!;
  assert.ok(edit.fill?.mapRows, "rows are repacked (padded channels inside the one group take each row's zero point)");
  const rowBytes = 8 * 4;
  const parts: Uint8Array[] = [];
  for (let r = 0; r < 32; r += 3) parts.push(...transformBlock(stored.weight_packed.bytes.slice(r * rowBytes, Math.min(32, r + 3) * rowBytes), r, edit, "I32"));
  assert.deepEqual(Buffer.concat(parts), Buffer.from(padded.tensors.weight_packed.bytes));
  const zp = new Int32Array(new Uint8Array(stored.weight_zero_point.bytes).buffer);
  assert.ok(new Set([...zp].flatMap((x) => [0, 1, 2, 3, 4, 5, 6, 7].map((b) => (x >>> (4 * b)) & 0xf))).size > 1, "the rows' zero points differ (the check can fail)");
  assert.deepEqual(dequantizeWeight(scheme, padded.weight, padded.tensors), placed(dequantizeWeight(scheme, w, stored), keepLayout(32), padAtEnd(64, 128)));
});
