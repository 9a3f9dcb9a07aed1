/**
 * Stored quantized tensors -> the float64 weight [N, K] (row-major, as nn.Linear stores it) that
 * the quantized model computes with. Pure: bytes in, values out; exact (every product is one
 * float64 multiply of exactly decoded codes and scales).
 *
 *   gptq   w[n, k] = (q[k, n] - (z[g, n] + 1)) * s[g, n], g = g_idx[k] (or k / group_size).
 *          qzeros hold zero - 1 (the GPTQ "v1" checkpoint format AutoGPTQ writes and vLLM's
 *          gptq kernels read back with + 1).
 *   awq    w[n, k] = (q[k, n] - z[g, n]) * s[g, n], g = k / group_size.
 *   pack-quantized  w[n, k] = (u[n, k] - zu[n, g]) * s[n, g], g = k / group_size: u the stored
 *          unsigned nibble (q + 8), zu the stored zero point's (z + 8; 8 when symmetric), so
 *          (q - z) * s as compressed-tensors dequantizes (quantization/lifecycle/forward.py
 *          _dequantize; pack_quantized.py unpack_from_int32 subtracts the offset 8 from both).
 *   fp8    w = e4m3 * scale (per tensor, per output channel, or per [bn, bk] block: scale_inv is the
 *          dequantization multiplier despite its name, DeepSeek-V3 / vLLM block_quant).
 *   mxfp4  w = e2m1 * 2^(e8m0 - 127) per block of 32 along K (transformers integrations/mxfp4.py:
 *          lut[nibble] then ldexp by scale - 127; element 2i in the low nibble).
 *   nvfp4  w = e2m1 * e4m3(block scale) * global, where global is weight_scale_2 (modelopt) or
 *          divided by weight_global_scale (compressed-tensors stores the quantization-side reciprocal).
 */
import { decodeToFloat64 } from "../checkpoint/dtype-codec.js";
import { GacError } from "../errors.js";
import type { Dtype } from "../checkpoint/types.js";
import { decodeE2M1, decodeE8M0 } from "../checkpoint/fp4-codec.js";
import { int32s, unpackInt4x8 } from "./int4-packing.js";
import type { QuantScheme } from "./quant-config.js";
import type { QuantizedWeight } from "./quantized-layout.js";

export interface StoredTensor {
  dtype: Dtype;
  bytes: Uint8Array;
  /** The stored shape (padding keeps the rank of per-tensor and per-channel scales). */
  shape?: readonly number[];
}

/** The stored tensor of each role of `w.tensors`. */
export type StoredTensors = Record<string, StoredTensor>;

const floats = (t: StoredTensor) => decodeToFloat64(t.bytes, t.dtype);

function need(stored: StoredTensors, w: QuantizedWeight, role: string): StoredTensor {
  const t = stored[role];
  if (t === undefined) throw new Error(`dequantize ${w.base}: no bytes for role ${role}`);
  return t;
}

function dequantizeInt4(w: QuantizedWeight, stored: StoredTensors): Float64Array {
  const { n, k } = w;
  const gptq = w.method === "gptq";
  const q = int32s(need(stored, w, "qweight").bytes);
  const z = int32s(need(stored, w, "qzeros").bytes);
  const s = floats(need(stored, w, "scales"));
  const g = w.groupK!;
  const gIdx = stored.g_idx ? int32s(stored.g_idx.bytes) : undefined;
  const groups = s.length / n;
  const zeros = new Float64Array(groups * n);
  const buf: number[] = new Array(8);
  for (let gi = 0; gi < groups; gi++) {
    for (let j = 0; j < n / 8; j++) {
      unpackInt4x8(z[gi * (n / 8) + j], gptq ? "gptq" : "awq", buf);
      for (let b = 0; b < 8; b++) zeros[gi * n + 8 * j + b] = buf[b] + (gptq ? 1 : 0);
    }
  }
  const out = new Float64Array(n * k);
  for (let kk = 0; kk < k; kk++) {
    const group = gIdx ? gIdx[kk] : Math.floor(kk / g);
    if (!(group >= 0 && group < groups))
      throw new GacError("BAD_QUANT", `tensor '${w.base}.g_idx' holds ${group} at input channel ${kk}, which is not a group (0..${groups - 1}): the checkpoint is damaged`);
    for (let nn = 0; nn < n; nn++) {
      const word = gptq ? q[(kk >> 3) * n + nn] : q[kk * (n / 8) + (nn >> 3)];
      const lane = gptq ? kk & 7 : nn & 7;
      const nibble = gptq ? lane : AWQ_LANE[lane];
      const code = (word >>> (4 * nibble)) & 0xf;
      out[nn * k + kk] = (code - zeros[group * n + nn]) * s[group * n + nn];
    }
  }
  return out;
}

/** AWQ: element 8i + e lives in nibble AWQ_LANE[e] (the inverse of the pack order [0, 2, 4, 6, 1, 3, 5, 7]). */
const AWQ_LANE: readonly number[] = [0, 4, 1, 5, 2, 6, 3, 7];

/** pack-quantized: the header gave K = 8 * packed width; weight_shape's bytes (I64 [2]) must say the same [N, K]. */
export function checkWeightShape(w: QuantizedWeight, bytes: Uint8Array): void {
  const v = new BigInt64Array(new Uint8Array(bytes).buffer, 0, 2);
  const [n, k] = [Number(v[0]), Number(v[1])];
  if (n === w.n && k === w.k) return;
  const hint =
    n === w.n && k < w.k && k > w.k - 8
      ? `K = ${k} is not a multiple of 8, so its last int32 holds padding: gac reads pack-quantized weights whose K is a multiple of 8 only`
      : "the header and weight_shape disagree: the checkpoint is damaged";
  throw new GacError("BAD_QUANT", `tensor '${w.tensors.weight_shape}' holds [${n}, ${k}] but '${w.tensors.weight_packed}' is [${w.n}, ${w.k / 8}] int32 = [${w.n}, ${w.k}] int4: ${hint}`);
}

function dequantizePackQuantized(w: QuantizedWeight, stored: StoredTensors): Float64Array {
  const { n, k } = w;
  checkWeightShape(w, need(stored, w, "weight_shape").bytes);
  const q = int32s(need(stored, w, "weight_packed").bytes);
  const s = floats(need(stored, w, "weight_scale"));
  const groups = s.length / n;
  const zp = stored.weight_zero_point ? int32s(stored.weight_zero_point.bytes) : undefined;
  const g = w.groupK!;
  const out = new Float64Array(n * k);
  for (let r = 0; r < n; r++)
    for (let c = 0; c < k; c++) {
      const group = Math.floor(c / g);
      const u = (q[r * (k / 8) + (c >> 3)] >>> (4 * (c & 7))) & 0xf;
      const zu = zp ? (zp[(r >> 3) * groups + group] >>> (4 * (r & 7))) & 0xf : 8;
      out[r * k + c] = (u - zu) * s[r * groups + group];
    }
  return out;
}

function dequantizeFp8(w: QuantizedWeight, stored: StoredTensors): Float64Array {
  const { n, k } = w;
  const codes = floats(need(stored, w, "weight"));
  const out = new Float64Array(n * k);
  if (w.groupN !== undefined) {
    const s = floats(need(stored, w, "weight_scale_inv"));
    const cols = Math.ceil(k / w.groupK!);
    for (let r = 0; r < n; r++) for (let c = 0; c < k; c++) out[r * k + c] = codes[r * k + c] * s[Math.floor(r / w.groupN) * cols + Math.floor(c / w.groupK!)];
    return out;
  }
  const s = floats(need(stored, w, "weight_scale"));
  for (let r = 0; r < n; r++) {
    const scale = w.scaleGranularity === "tensor" ? s[0] : s[r];
    for (let c = 0; c < k; c++) out[r * k + c] = codes[r * k + c] * scale;
  }
  return out;
}

function dequantizeNvfp4(w: QuantizedWeight, stored: StoredTensors, producer: "compressed-tensors" | "modelopt"): Float64Array {
  const { n, k } = w;
  const packed = need(stored, w, "weight_packed").bytes;
  const scales = floats(need(stored, w, "weight_scale"));
  const g = floats(need(stored, w, "weight_global_scale"))[0];
  const blocks = Math.ceil(k / 16);
  const out = new Float64Array(n * k);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < k; c++) {
      const byte = packed[r * (k / 2) + (c >> 1)];
      const code = c & 1 ? byte >> 4 : byte & 0xf;
      const v = decodeE2M1(code) * scales[r * blocks + (c >> 4)];
      out[r * k + c] = producer === "modelopt" ? v * g : v / g;
    }
  }
  return out;
}

function dequantizeMxfp4(w: QuantizedWeight, stored: StoredTensors): Float64Array {
  const { n, k } = w;
  const blocks = need(stored, w, "weight_blocks").bytes;
  const scales = need(stored, w, "weight_scales").bytes;
  const groups = k / 32;
  const out = new Float64Array(n * k);
  for (let r = 0; r < n; r++)
    for (let c = 0; c < k; c++) {
      const byte = blocks[r * (k / 2) + (c >> 1)];
      out[r * k + c] = decodeE2M1(c & 1 ? byte >> 4 : byte & 0xf) * decodeE8M0(scales[r * groups + (c >> 5)]);
    }
  return out;
}

export function dequantizeWeight(scheme: QuantScheme, w: QuantizedWeight, stored: StoredTensors): Float64Array {
  switch (scheme.method) {
    case "gptq":
    case "awq":
      return dequantizeInt4(w, stored);
    case "fp8":
      return dequantizeFp8(w, stored);
    case "pack-quantized":
      return dequantizePackQuantized(w, stored);
    case "nvfp4":
      return dequantizeNvfp4(w, stored, scheme.producer);
    case "mxfp4":
      return dequantizeMxfp4(w, stored);
  }
}
