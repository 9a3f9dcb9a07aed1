/**
 * Zero padding in the quantized domain: a quantized weight [N, K] and a PadLayout per axis (the same
 * layouts the 16-bit repair uses, repair/rules/layout.ts) -> the stored tensors of the padded weight
 * [N', K'], whose dequantized values are the original's at their new positions and exactly 0 at
 * every padded position. Pure.
 *
 * Every format here is codes plus one scale (and for int4 one zero-point) per block of
 * bn rows x bk columns (int4: 1 x group; FP8: block_n x block_k, 1 x K per channel, N x K per
 * tensor; NVFP4: 1 x 16). A padded element takes the code that dequantizes to exactly 0 in its block:
 * int4 the block's zero-point ((z - z) * s = 0), FP8 0x00 (+0), E2M1 0 (+0). A block that holds no
 * original element gets a neutral scale (1; int4 zero-point 8). An original element keeps its block's
 * scale only if its block moves with it: every run of the layout must shift by a whole number of
 * blocks ((dst - src) % b = 0) on an axis with blocks; otherwise the padding is refused (inserting
 * zeros inside a group would need a g_idx reorder, not written yet). Whole-axis scales (per tensor,
 * per channel along K, group_size -1) grow with the axis and stay one block.
 */
import { decodeToFloat64, encodeFromFloat64 } from "../checkpoint/dtype-codec.js";
import { packE2M1 } from "../checkpoint/fp4-codec.js";
import { GacError } from "../errors.js";
import type { PadLayout } from "../repair/rules/layout.js";
import type { StoredTensor, StoredTensors } from "./dequantize.js";
import { int32Bytes, int32s, packInt4x8, unpackInt4x8 } from "./int4-packing.js";
import type { QuantScheme } from "./quant-config.js";
import type { QuantizedWeight } from "./quantized-layout.js";
import type { QuantizedTensor } from "./reference-quantizer.js";

/** Block size along one axis; "whole" = one block spanning the axis however long it gets. */
type Block = number | "whole";

interface Grid {
  /** One code per element [N, K]: int4 0..15, FP8 byte, E2M1 nibble. */
  codes: Uint8Array;
  /** Per block [blocksN, blocksK]: the scale as stored (float), int4 zero-points (true zero, not GPTQ's - 1). */
  scales: Float64Array;
  zeros?: Uint8Array;
  bn: Block;
  bk: Block;
}

const blocks = (size: number, b: Block) => (b === "whole" ? 1 : Math.ceil(size / b));
const NEUTRAL_ZERO = 8;

function gridOf(scheme: QuantScheme, w: QuantizedWeight, stored: StoredTensors): Grid {
  const { n, k } = w;
  const get = (role: string): StoredTensor => {
    const t = stored[role];
    if (!t) throw new Error(`pad ${w.base}: no bytes for ${role}`);
    return t;
  };
  const codes = new Uint8Array(n * k);
  switch (scheme.method) {
    case "gptq":
    case "awq": {
      const gptq = scheme.method === "gptq";
      if (gptq && stored.g_idx) {
        const gi = int32s(stored.g_idx.bytes);
        for (let kk = 0; kk < k; kk++)
          if (gi[kk] !== Math.floor(kk / w.groupK!))
            throw new GacError("UNSUPPORTED", `cannot pad '${w.base}': its g_idx reorders input channels (desc_act); gac pads GPTQ with sequential groups only`);
      }
      const q = int32s(get("qweight").bytes);
      const lane: number[] = new Array(8);
      if (gptq) {
        for (let r = 0; r < k / 8; r++)
          for (let c = 0; c < n; c++) {
            unpackInt4x8(q[r * n + c], "gptq", lane);
            for (let b = 0; b < 8; b++) codes[c * k + 8 * r + b] = lane[b];
          }
      } else {
        for (let r = 0; r < k; r++)
          for (let j = 0; j < n / 8; j++) {
            unpackInt4x8(q[r * (n / 8) + j], "awq", lane);
            for (let b = 0; b < 8; b++) codes[(8 * j + b) * k + r] = lane[b];
          }
      }
      const scalesKN = decodeToFloat64(get("scales").bytes, get("scales").dtype); // [G, N]
      const z = int32s(get("qzeros").bytes); // [G, N/8]
      const G = scalesKN.length / n;
      const bk: Block = w.groupK === k && G === 1 ? "whole" : w.groupK!;
      // Grid blocks are [N, G] (bn = 1): transpose the [G, N] tensors.
      const scales = new Float64Array(n * G);
      const zeros = new Uint8Array(n * G);
      for (let g = 0; g < G; g++)
        for (let j = 0; j < n / 8; j++) {
          unpackInt4x8(z[g * (n / 8) + j], gptq ? "gptq" : "awq", lane);
          for (let b = 0; b < 8; b++) {
            zeros[(8 * j + b) * G + g] = lane[b] + (gptq ? 1 : 0);
            scales[(8 * j + b) * G + g] = scalesKN[g * n + 8 * j + b];
          }
        }
      return { codes, scales, zeros, bn: 1, bk };
    }
    case "fp8": {
      codes.set(get("weight").bytes);
      if (w.groupN !== undefined) {
        const t = get("weight_scale_inv");
        return { codes, scales: decodeToFloat64(t.bytes, t.dtype), bn: w.groupN, bk: w.groupK! };
      }
      const t = get("weight_scale");
      return { codes, scales: decodeToFloat64(t.bytes, t.dtype), bn: w.scaleGranularity === "tensor" ? "whole" : 1, bk: "whole" };
    }
    case "nvfp4": {
      const p = get("weight_packed").bytes;
      for (let i = 0; i < p.length; i++) {
        codes[2 * i] = p[i] & 0xf;
        codes[2 * i + 1] = p[i] >> 4;
      }
      const t = get("weight_scale");
      return { codes, scales: decodeToFloat64(t.bytes, t.dtype), bn: 1, bk: 16 };
    }
  }
}

/** Source block -> destination block along one axis, after checking that every run moves whole blocks. */
function blockMap(layout: PadLayout, b: Block, what: string): (src: number) => number {
  if (b === "whole") return () => 0;
  for (const r of layout.runs) {
    if ((r.dst - r.src) % b !== 0) {
      throw new GacError(
        "UNSUPPORTED",
        `cannot pad ${what} ${layout.from} -> ${layout.to} in the quantized domain: elements ${r.src}..${r.src + r.len - 1} move by ${r.dst - r.src}, not a whole number of its ${b}-wide scale blocks, so they would leave their block's scale`,
      );
    }
  }
  const map = new Map<number, number>();
  for (const r of layout.runs) for (let i = r.src; i < r.src + r.len; i++) map.set(Math.floor(i / b), Math.floor((i + r.dst - r.src) / b));
  return (src) => map.get(src)!;
}

/** Destination index of every source index of a layout. */
function destinations(layout: PadLayout): Int32Array {
  const d = new Int32Array(layout.from);
  for (const r of layout.runs) for (let i = 0; i < r.len; i++) d[r.src + i] = r.dst + i;
  return d;
}

function padGrid(g: Grid, n: number, k: number, rows: PadLayout, cols: PadLayout, base: string): Grid {
  const N = rows.to;
  const K = cols.to;
  const [bnS, bkS] = [blocks(n, g.bn), blocks(k, g.bk)];
  const [bnD, bkD] = [blocks(N, g.bn), blocks(K, g.bk)];
  const mapN = blockMap(rows, g.bn, `the output rows of '${base}'`);
  const mapK = blockMap(cols, g.bk, `the input columns of '${base}'`);
  const scales = new Float64Array(bnD * bkD).fill(1);
  const zeros = g.zeros ? new Uint8Array(bnD * bkD).fill(NEUTRAL_ZERO) : undefined;
  for (let i = 0; i < bnS; i++)
    for (let j = 0; j < bkS; j++) {
      const dst = mapN(i) * bkD + mapK(j);
      scales[dst] = g.scales[i * bkS + j];
      if (zeros) zeros[dst] = g.zeros![i * bkS + j];
    }
  const codes = new Uint8Array(N * K);
  if (zeros) {
    const blockOf = (b: Block, i: number) => (b === "whole" ? 0 : Math.floor(i / b));
    for (let r = 0; r < N; r++) for (let c = 0; c < K; c++) codes[r * K + c] = zeros[blockOf(g.bn, r) * bkD + blockOf(g.bk, c)];
  }
  const dr = destinations(rows);
  const dc = destinations(cols);
  for (let r = 0; r < n; r++) for (let c = 0; c < k; c++) codes[dr[r] * K + dc[c]] = g.codes[r * k + c];
  return { codes, scales, zeros, bn: g.bn, bk: g.bk };
}

/** The stored tensors (by role) of the padded weight, in the dtypes the original was stored in. */
function storeGrid(scheme: QuantScheme, w: QuantizedWeight, stored: StoredTensors, g: Grid, N: number, K: number): Record<string, QuantizedTensor> {
  const out: Record<string, QuantizedTensor> = {};
  const keep = (role: string) => {
    if (stored[role]) out[role] = { dtype: stored[role].dtype, shape: [...(stored[role].shape ?? [])], bytes: stored[role].bytes };
  };
  switch (scheme.method) {
    case "gptq":
    case "awq": {
      const gptq = scheme.method === "gptq";
      if (N % 8 !== 0 || (gptq && K % 8 !== 0))
        throw new GacError("UNSUPPORTED", `cannot pad '${w.base}' to [${N}, ${K}]: ${scheme.method} packs 8 int4 per int32 (N${gptq ? " and K" : ""} must be multiples of 8)`);
      const G = blocks(K, g.bk);
      const lane: number[] = new Array(8);
      const q = gptq ? new Int32Array((K / 8) * N) : new Int32Array(K * (N / 8));
      if (gptq) {
        for (let r = 0; r < K / 8; r++)
          for (let c = 0; c < N; c++) {
            for (let b = 0; b < 8; b++) lane[b] = g.codes[c * K + 8 * r + b];
            q[r * N + c] = packInt4x8(lane, "gptq");
          }
      } else {
        for (let r = 0; r < K; r++)
          for (let j = 0; j < N / 8; j++) {
            for (let b = 0; b < 8; b++) lane[b] = g.codes[(8 * j + b) * K + r];
            q[r * (N / 8) + j] = packInt4x8(lane, "awq");
          }
      }
      const scalesKN = new Float64Array(G * N);
      const z = new Int32Array(G * (N / 8));
      for (let gi = 0; gi < G; gi++)
        for (let j = 0; j < N / 8; j++) {
          for (let b = 0; b < 8; b++) {
            lane[b] = g.zeros![(8 * j + b) * G + gi] - (gptq ? 1 : 0);
            scalesKN[gi * N + 8 * j + b] = g.scales[(8 * j + b) * G + gi];
          }
          z[gi * (N / 8) + j] = packInt4x8(lane, gptq ? "gptq" : "awq");
        }
      out.qweight = { dtype: "I32", shape: gptq ? [K / 8, N] : [K, N / 8], bytes: int32Bytes(q) };
      out.qzeros = { dtype: "I32", shape: [G, N / 8], bytes: int32Bytes(z) };
      out.scales = { dtype: stored.scales.dtype, shape: [G, N], bytes: encodeFromFloat64(scalesKN, stored.scales.dtype) };
      if (stored.g_idx) out.g_idx = { dtype: "I32", shape: [K], bytes: int32Bytes(Int32Array.from({ length: K }, (_, kk) => (g.bk === "whole" ? 0 : Math.floor(kk / g.bk)))) };
      return out;
    }
    case "fp8": {
      out.weight = { dtype: "F8_E4M3", shape: [N, K], bytes: g.codes };
      const role = w.groupN !== undefined ? "weight_scale_inv" : "weight_scale";
      const s = stored[role];
      const orig = s.shape ?? [];
      const shape = w.groupN !== undefined ? [blocks(N, g.bn), blocks(K, g.bk)] : w.scaleGranularity === "tensor" ? [...orig] : orig.length === 2 ? [N, 1] : [N];
      out[role] = { dtype: s.dtype, shape, bytes: encodeFromFloat64(g.scales, s.dtype) };
      keep("input_scale");
      return out;
    }
    case "nvfp4": {
      if (K % 2 !== 0) throw new GacError("UNSUPPORTED", `cannot pad '${w.base}' to K = ${K}: NVFP4 packs two values per byte`);
      out.weight_packed = { dtype: "U8", shape: [N, K / 2], bytes: packE2M1(g.codes) };
      out.weight_scale = { dtype: "F8_E4M3", shape: [N, blocks(K, 16)], bytes: encodeFromFloat64(g.scales, "F8_E4M3") };
      keep("weight_global_scale");
      keep("input_scale");
      return out;
    }
  }
}

export interface PaddedQuantizedWeight {
  weight: QuantizedWeight;
  /** By role; a tensor kept as it is (NVFP4's global scale, an input scale) keeps its bytes and stored shape. */
  tensors: Record<string, QuantizedTensor>;
}

export function padQuantizedWeight(scheme: QuantScheme, w: QuantizedWeight, stored: StoredTensors, rows: PadLayout, cols: PadLayout): PaddedQuantizedWeight {
  if (rows.from !== w.n || cols.from !== w.k) throw new Error(`pad ${w.base}: layouts ${rows.from} x ${cols.from} for a [${w.n}, ${w.k}] weight`);
  const grid = padGrid(gridOf(scheme, w, stored), w.n, w.k, rows, cols, w.base);
  const tensors = storeGrid(scheme, w, stored, grid, rows.to, cols.to);
  const groupK = w.groupK === w.k && (scheme.method === "gptq" || scheme.method === "awq") && grid.bk === "whole" ? cols.to : w.groupK;
  return { weight: { ...w, n: rows.to, k: cols.to, ...(groupK !== undefined ? { groupK } : {}) }, tensors };
}
