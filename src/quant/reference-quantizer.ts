/**
 * A reference quantizer: one float64 weight [N, K] -> its stored tensors in a scheme, and the
 * values those tensors dequantize to, computed here from the integer codes (independently of
 * dequantize.ts, so reading the bytes back checks both). Round to nearest, no calibration: this
 * writes fixtures, it is not a production quantizer.
 *
 *   gptq  symmetric int4 (zero 8, stored 7: GPTQ v1), scale = max|w| / 7 per group and column;
 *         with sym false, scale = (max - min) / 15 and zero = round(-min / scale) clamped to 1..15;
 *         with desc_act, groups are taken in an activation order (g_idx a permutation of groups)
 *   awq   asymmetric int4, scale = (max - min) / 15, zero = round(-min / scale) in 0..15
 *   pack-quantized  (compressed-tensors int4) per group and output channel, BF16 scales:
 *         symmetric scale = max|w| / 7, q = round(w / s) in -8..7; asymmetric scale =
 *         (max - min) / 15, z = round(-min / s) - 8 in -8..7, q = round(w / s) + z in -8..7; stored
 *         unsigned (q + 8, z + 8) 8 per int32, element 8j + i in bits 4i (pack_quantized.py
 *         pack_to_int32), weight_zero_point packed along N, weight_shape I64 [N, K]
 *   fp8   scale = max|w| / 448 (F32) per tensor, or per [bn, bk] block with weight_block_size
 *         (compressed-tensors: per tensor [1], per channel [N, 1], blocks named weight_scale;
 *         modelopt: per tensor [])
 *   nvfp4 global = max|w| / (6 * 448) (F32); per 16 along K an E4M3 scale = max|w_block| / 6 / global
 *   mxfp4 per 32 along K an E8M0 scale 2^e, e = floor(log2 max|w_block|) - 2 (OCP MX v1.0: the
 *         shared exponent less E2M1's largest exponent), clamped to -127..127; codes E2M1 of w / 2^e
 *         (round to nearest even, saturating at 6)
 * A group or block of zeros gets scale 1, and zeros then quantize to exactly 0.
 * Scales are rounded to their stored dtype before the codes are chosen, so the stored scale is
 * the one the codes were made with.
 */
import { decodeToFloat64, encodeFromFloat64 } from "../checkpoint/dtype-codec.js";
import { decodeE2M1, decodeE4M3, decodeE8M0, encodeE2M1, encodeE4M3, packE2M1 } from "../checkpoint/fp4-codec.js";
import type { Dtype } from "../checkpoint/types.js";
import { GacError } from "../errors.js";
import { int32Bytes, packInt4x8 } from "./int4-packing.js";
import type { QuantScheme } from "./quant-config.js";

export interface QuantizedTensor {
  dtype: Dtype;
  shape: number[];
  bytes: Uint8Array;
}

export interface QuantizedResult {
  /** By role (qweight, scales, ...; storedName() gives the tensor name). */
  tensors: Record<string, QuantizedTensor>;
  /** What the stored tensors dequantize to, [N, K] row-major. */
  dequantized: Float64Array;
}

const roundTo = (dtype: Dtype, x: number) => decodeToFloat64(encodeFromFloat64([x], dtype), dtype)[0];
const positiveOr1 = (s: number) => (s > 0 && Number.isFinite(s) ? s : 1);

function refuse(name: string, why: string): never {
  throw new GacError("UNSUPPORTED", `cannot quantize '${name}': ${why}`);
}

function quantizeInt4(name: string, w: Float64Array, n: number, k: number, s: Extract<QuantScheme, { method: "gptq" | "awq" }>): QuantizedResult {
  const gptq = s.method === "gptq";
  if (gptq && k % 8 !== 0) refuse(name, `K = ${k} is not a multiple of 8 (GPTQ packs 8 int4 per int32 along K)`);
  if (n % 8 !== 0) refuse(name, `N = ${n} is not a multiple of 8 (${s.method} packs 8 zero-points per int32 along N)`);
  const g = s.groupSize === -1 ? k : s.groupSize;
  const groups = Math.ceil(k / g);
  const sym = gptq && s.sym;
  const codes = new Uint8Array(k * n); // [k, n]
  const scales = new Float64Array(groups * n);
  const zeros = new Uint8Array(groups * n);
  const deq = new Float64Array(n * k);
  // desc_act: channels quantized in activation order (here: descending sum |w| over outputs, a
  // stand-in for GPTQ's Hessian diagonal); group gi holds the channels ranked gi*g..gi*g+g-1.
  const order = gptq && s.descAct ? activationOrder(w, n, k) : Int32Array.from({ length: k }, (_, kk) => kk);
  const groupOf = new Int32Array(k);
  for (let gi = 0; gi < groups; gi++) {
    const members = order.subarray(gi * g, Math.min(k, gi * g + g));
    for (const kk of members) groupOf[kk] = gi;
    for (let c = 0; c < n; c++) {
      let lo = 0;
      let hi = 0;
      for (const kk of members) {
        lo = Math.min(lo, w[c * k + kk]);
        hi = Math.max(hi, w[c * k + kk]);
      }
      const scale = positiveOr1(roundTo("F16", sym ? Math.max(-lo, hi) / 7 : (hi - lo) / 15));
      const zero = sym ? 8 : Math.min(15, Math.max(gptq ? 1 : 0, Math.round(-lo / scale)));
      scales[gi * n + c] = scale;
      zeros[gi * n + c] = zero;
      for (const kk of members) {
        const q = Math.min(15, Math.max(0, Math.round(w[c * k + kk] / scale) + zero));
        codes[kk * n + c] = q;
        deq[c * k + kk] = (q - zero) * scale;
      }
    }
  }
  const qweight = gptq ? new Int32Array((k / 8) * n) : new Int32Array(k * (n / 8));
  const lane = new Array<number>(8);
  if (gptq) {
    for (let r = 0; r < k / 8; r++)
      for (let c = 0; c < n; c++) {
        for (let b = 0; b < 8; b++) lane[b] = codes[(8 * r + b) * n + c];
        qweight[r * n + c] = packInt4x8(lane, "gptq");
      }
  } else {
    for (let r = 0; r < k; r++) for (let j = 0; j < n / 8; j++) qweight[r * (n / 8) + j] = packInt4x8(codes.subarray(r * n + 8 * j, r * n + 8 * j + 8), "awq");
  }
  const qzeros = new Int32Array(groups * (n / 8));
  for (let gi = 0; gi < groups; gi++)
    for (let j = 0; j < n / 8; j++) {
      for (let b = 0; b < 8; b++) lane[b] = zeros[gi * n + 8 * j + b] - (gptq ? 1 : 0);
      qzeros[gi * (n / 8) + j] = packInt4x8(lane, gptq ? "gptq" : "awq");
    }
  const tensors: Record<string, QuantizedTensor> = {
    qweight: { dtype: "I32", shape: gptq ? [k / 8, n] : [k, n / 8], bytes: int32Bytes(qweight) },
    qzeros: { dtype: "I32", shape: [groups, n / 8], bytes: int32Bytes(qzeros) },
    scales: { dtype: "F16", shape: [groups, n], bytes: encodeFromFloat64(scales, "F16") },
  };
  if (gptq) tensors.g_idx = { dtype: "I32", shape: [k], bytes: int32Bytes(groupOf) };
  return { tensors, dequantized: deq };
}

/** Input channels by descending sum |w| over the outputs (ties by index): the reference quantizer's desc_act order. */
function activationOrder(w: Float64Array, n: number, k: number): Int32Array {
  const weight = new Float64Array(k);
  for (let c = 0; c < n; c++) for (let kk = 0; kk < k; kk++) weight[kk] += Math.abs(w[c * k + kk]);
  return Int32Array.from({ length: k }, (_, kk) => kk).sort((a, b) => weight[b] - weight[a] || a - b);
}

function quantizeFp8(w: Float64Array, n: number, k: number, s: Extract<QuantScheme, { method: "fp8" }>): QuantizedResult {
  const channel = s.granularity === "channel";
  const [bn, bk] = s.block ?? (channel ? [1, k] : [n, k]);
  const rows = Math.ceil(n / bn);
  const cols = Math.ceil(k / bk);
  const scales = new Float64Array(rows * cols);
  for (let r = 0; r < n; r++)
    for (let c = 0; c < k; c++) {
      const i = Math.floor(r / bn) * cols + Math.floor(c / bk);
      scales[i] = Math.max(scales[i], Math.abs(w[r * k + c]));
    }
  for (let i = 0; i < scales.length; i++) scales[i] = positiveOr1(Math.fround(scales[i] / 448));
  const codes = new Uint8Array(n * k);
  const deq = new Float64Array(n * k);
  for (let r = 0; r < n; r++)
    for (let c = 0; c < k; c++) {
      const scale = scales[Math.floor(r / bn) * cols + Math.floor(c / bk)];
      codes[r * k + c] = encodeE4M3(w[r * k + c] / scale);
      deq[r * k + c] = decodeE4M3(codes[r * k + c]) * scale;
    }
  const weight: QuantizedTensor = { dtype: "F8_E4M3", shape: [n, k], bytes: codes };
  const scaleBytes = encodeFromFloat64(scales, "F32");
  // compressed-tensors stores a per-tensor scale as [1] and per-channel as [N, 1]; fp8 and modelopt as a scalar [].
  const plainShape = channel ? [n, 1] : s.producer === "compressed-tensors" ? [1] : [];
  const tensors: Record<string, QuantizedTensor> = s.block
    ? { weight, weight_scale_inv: { dtype: "F32", shape: [rows, cols], bytes: scaleBytes } }
    : { weight, weight_scale: { dtype: "F32", shape: plainShape, bytes: scaleBytes } };
  return { tensors, dequantized: deq };
}

/** Unsigned int4 values (0..15) [rows, cols] -> int32 words [rows, cols / 8], element 8j + i in bits 4i (pack_to_int32). */
function packRowsInt4(values: Uint8Array, rows: number, cols: number): Int32Array {
  const out = new Int32Array(rows * (cols / 8));
  for (let r = 0; r < rows; r++) for (let j = 0; j < cols / 8; j++) out[r * (cols / 8) + j] = packInt4x8(values.subarray(r * cols + 8 * j, r * cols + 8 * j + 8), "gptq");
  return out;
}

function quantizePackQuantized(name: string, w: Float64Array, n: number, k: number, s: Extract<QuantScheme, { method: "pack-quantized" }>): QuantizedResult {
  if (k % 8 !== 0) refuse(name, `K = ${k} is not a multiple of 8 (pack-quantized packs 8 int4 per int32 along K; gac writes whole words only)`);
  if (!s.sym && n % 8 !== 0) refuse(name, `N = ${n} is not a multiple of 8 (asymmetric pack-quantized packs 8 zero points per int32 along N)`);
  const g = s.groupSize === -1 ? k : s.groupSize;
  if (k % g !== 0) refuse(name, `group_size ${g} does not divide K = ${k}`);
  const groups = k / g;
  const unsigned = new Uint8Array(n * k); // q + 8, [n, k]
  const scales = new Float64Array(n * groups);
  const zeros = new Uint8Array(n * groups); // z + 8
  const deq = new Float64Array(n * k);
  for (let r = 0; r < n; r++)
    for (let gi = 0; gi < groups; gi++) {
      let lo = 0;
      let hi = 0;
      for (let c = gi * g; c < gi * g + g; c++) {
        lo = Math.min(lo, w[r * k + c]);
        hi = Math.max(hi, w[r * k + c]);
      }
      const scale = positiveOr1(roundTo("BF16", s.sym ? Math.max(-lo, hi) / 7 : (hi - lo) / 15));
      const z = s.sym ? 0 : Math.min(7, Math.max(-8, Math.round(-lo / scale) - 8));
      scales[r * groups + gi] = scale;
      zeros[r * groups + gi] = z + 8;
      for (let c = gi * g; c < gi * g + g; c++) {
        const q = Math.min(7, Math.max(-8, Math.round(w[r * k + c] / scale) + z));
        unsigned[r * k + c] = q + 8;
        deq[r * k + c] = (q - z) * scale;
      }
    }
  const tensors: Record<string, QuantizedTensor> = {
    weight_packed: { dtype: "I32", shape: [n, k / 8], bytes: int32Bytes(packRowsInt4(unsigned, n, k)) },
    weight_scale: { dtype: "BF16", shape: [n, groups], bytes: encodeFromFloat64(scales, "BF16") },
    weight_shape: { dtype: "I64", shape: [2], bytes: new Uint8Array(BigInt64Array.of(BigInt(n), BigInt(k)).buffer) },
  };
  if (!s.sym) {
    // Packed along N (pack_to_int32 packed_dim 0): transpose to [groups, n], pack rows, transpose back to [n / 8, groups].
    const t = new Uint8Array(groups * n);
    for (let r = 0; r < n; r++) for (let gi = 0; gi < groups; gi++) t[gi * n + r] = zeros[r * groups + gi];
    const packed = packRowsInt4(t, groups, n);
    const zp = new Int32Array((n / 8) * groups);
    for (let gi = 0; gi < groups; gi++) for (let j = 0; j < n / 8; j++) zp[j * groups + gi] = packed[gi * (n / 8) + j];
    tensors.weight_zero_point = { dtype: "I32", shape: [n / 8, groups], bytes: int32Bytes(zp) };
  }
  return { tensors, dequantized: deq };
}

function quantizeNvfp4(name: string, w: Float64Array, n: number, k: number, s: Extract<QuantScheme, { method: "nvfp4" }>): QuantizedResult {
  if (k % 2 !== 0) refuse(name, `K = ${k} is odd (NVFP4 packs two E2M1 values per byte along K)`);
  const modelopt = s.producer === "modelopt";
  let amax = 0;
  for (const x of w) amax = Math.max(amax, Math.abs(x));
  // The dequantization multiplier of the whole tensor, and what is stored for it.
  const global = positiveOr1(Math.fround(amax / (6 * 448)));
  const stored = modelopt ? global : Math.fround(1 / global);
  const mult = modelopt ? global : 1 / stored;
  const blocks = Math.ceil(k / 16);
  const scaleCodes = new Uint8Array(n * blocks);
  const codes = new Uint8Array(n * k);
  const deq = new Float64Array(n * k);
  for (let r = 0; r < n; r++)
    for (let b = 0; b < blocks; b++) {
      let bmax = 0;
      for (let c = 16 * b; c < Math.min(k, 16 * b + 16); c++) bmax = Math.max(bmax, Math.abs(w[r * k + c]));
      const sc = encodeE4M3(bmax / 6 / mult);
      scaleCodes[r * blocks + b] = sc;
      const d = decodeE4M3(sc);
      for (let c = 16 * b; c < Math.min(k, 16 * b + 16); c++) {
        const code = d === 0 ? 0 : encodeE2M1(w[r * k + c] / (d * mult));
        codes[r * k + c] = code;
        const v = decodeE2M1(code) * d;
        deq[r * k + c] = modelopt ? v * stored : v / stored;
      }
    }
  return {
    tensors: {
      weight_packed: { dtype: "U8", shape: [n, k / 2], bytes: packE2M1(codes) },
      weight_scale: { dtype: "F8_E4M3", shape: [n, blocks], bytes: scaleCodes },
      weight_global_scale: { dtype: "F32", shape: [], bytes: encodeFromFloat64([stored], "F32") },
    },
    dequantized: deq,
  };
}

function quantizeMxfp4(name: string, w: Float64Array, n: number, k: number): QuantizedResult {
  if (k % 32 !== 0) refuse(name, `K = ${k} is not a multiple of 32 (MXFP4 stores whole blocks of 32 values: [N, K/32, 16])`);
  const groups = k / 32;
  const scales = new Uint8Array(n * groups);
  const codes = new Uint8Array(n * k);
  const deq = new Float64Array(n * k);
  for (let r = 0; r < n; r++)
    for (let g = 0; g < groups; g++) {
      let bmax = 0;
      for (let c = 32 * g; c < 32 * g + 32; c++) bmax = Math.max(bmax, Math.abs(w[r * k + c]));
      const e = bmax > 0 ? Math.min(127, Math.max(-127, Math.floor(Math.log2(bmax)) - 2)) : 0;
      scales[r * groups + g] = e + 127;
      const scale = decodeE8M0(e + 127);
      for (let c = 32 * g; c < 32 * g + 32; c++) {
        const code = encodeE2M1(w[r * k + c] / scale);
        codes[r * k + c] = code;
        deq[r * k + c] = decodeE2M1(code) * scale;
      }
    }
  return {
    tensors: {
      weight_blocks: { dtype: "U8", shape: [n, groups, 16], bytes: packE2M1(codes) },
      weight_scales: { dtype: "U8", shape: [n, groups], bytes: scales },
    },
    dequantized: deq,
  };
}

/** `name` (the logical weight, for messages), its values [n, k] row-major, the scheme. */
export function quantizeWeight(name: string, w: Float64Array, n: number, k: number, scheme: QuantScheme): QuantizedResult {
  if (w.length !== n * k) throw new RangeError(`${name}: ${w.length} values for [${n}, ${k}]`);
  switch (scheme.method) {
    case "gptq":
    case "awq":
      return quantizeInt4(name, w, n, k, scheme);
    case "fp8":
      return quantizeFp8(w, n, k, scheme);
    case "pack-quantized":
      return quantizePackQuantized(name, w, n, k, scheme);
    case "nvfp4":
      return quantizeNvfp4(name, w, n, k, scheme);
    case "mxfp4":
      return quantizeMxfp4(name, w, n, k);
  }
}
