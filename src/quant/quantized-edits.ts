/**
 * Zero padding in the quantized domain, as byte edits of the stored tensors: a logical edit of a
 * quantized weight [N, K] (the 16-bit repair's rows/cols PadLayouts and folded scale, from
 * repair/tensor-edits.ts) -> one TensorEdit per stored tensor (qweight, qzeros, scales, g_idx;
 * weight, weight_scale(_inv); weight_packed, weight_scale, global scale), each a rows/cols layout
 * on that tensor's own axes plus the values its padded positions hold (PadFill). The edits then
 * stream through the same block pipeline as every 16-bit tensor (repair/stream-shard.ts): memory
 * is bounded by the block size, never by a tensor's.
 *
 * Every format is codes plus one scale (int4: and one zero-point) per block of bn rows x bk
 * columns (int4: 1 x group; FP8: block_n x block_k, 1 x K per channel, N x K per tensor; NVFP4:
 * 1 x 16). A padded element takes the code that dequantizes to exactly 0 in its block: FP8 0x00
 * (+0), E2M1 0 (+0), int4 the block's zero-point ((z - z) * s = 0). A block that holds no original
 * element gets a neutral scale 1.0 (int4: zero-point 8). An original element keeps its block's
 * scale only if its block moves with it: every run of the layout must shift by a whole number of
 * blocks, and one source block may not be split between two places; otherwise the padding is
 * refused with the rule (zeros would land inside a scale group). Packed axes (int4 eight per
 * int32, E2M1 two per byte) move whole words only.
 *
 * GPTQ with desc_act (a g_idx that is not k / group_size): groups are sets of channels named by
 * g_idx, so original channels keep their groups whatever the column layout, and padded channels
 * fill the free places of the original groups (codes at that group's zero-point) and then new
 * groups with neutral scales.
 *
 * The folded attention scale (head_dim padding, fold mode) goes into the dequantization scale of
 * q's stored tensors (int4 scales, FP8 weight_scale(_inv), NVFP4's FP32 global scale): one
 * rounding of each scale in its stored dtype, not of the codes.
 */
import { encodeFromFloat64 } from "../checkpoint/dtype-codec.js";
import { DTYPES, type Dtype } from "../checkpoint/types.js";
import { GacError } from "../errors.js";
import { checkLayout, isIdentity, keepLayout, padAtEnd, type PadLayout, type PadRun } from "../repair/rules/layout.js";
import type { PadFill, TensorEdit } from "../repair/tensor-edits.js";
import { checkWeightShape } from "./dequantize.js";
import { int32Bytes, int32s, packInt4x8, unpackInt4x8, type Int4Order } from "./int4-packing.js";
import type { QuantScheme } from "./quant-config.js";
import { storedName, type QuantizedWeight } from "./quantized-layout.js";

/** Reads `rows` whole rows of a stored tensor from `firstRow` (a 1-D tensor: elements). */
export type RowReader = (tensor: string, firstRow: number, rows: number) => Promise<Uint8Array>;

/** A stored tensor's dtype and shape. */
export type StoredLookup = (tensor: string) => { dtype: Dtype; shape: readonly number[] };

const one = (dtype: Dtype, value: number) => encodeFromFloat64([value], dtype);
const word = (w: number) => int32Bytes(Int32Array.of(w));
const NEUTRAL_ZERO = 8;
/** Eight int4 codes at the neutral zero-point: 0x88888888. */
const NEUTRAL_CODES = packInt4x8([8, 8, 8, 8, 8, 8, 8, 8], "gptq");

function refuse(rule: string): never {
  throw new GacError("UNSUPPORTED", rule);
}

/**
 * An element layout -> the layout of its scale blocks of size b: every run must move by whole
 * blocks, and a block shared by two runs must move the same way in both (its one scale cannot go
 * to two places).
 */
export function blockLayout(layout: PadLayout, b: number, what: string): PadLayout {
  const shift = new Map<number, number>();
  for (const r of layout.runs) {
    const moved = r.dst - r.src;
    if (moved % b !== 0) {
      refuse(
        `cannot pad ${what} ${layout.from} -> ${layout.to} in the quantized domain: elements ${r.src}..${r.src + r.len - 1} move by ${moved}, not a whole number of its ${b}-wide scale blocks, so they would leave their block's scale (zeros would land inside a scale group; pick a target whose padding is a multiple of ${b} per segment, or repair the 16-bit checkpoint before quantizing)`,
      );
    }
    for (let blk = Math.floor(r.src / b); blk <= Math.floor((r.src + r.len - 1) / b); blk++) {
      const before = shift.get(blk);
      if (before !== undefined && before !== moved / b) {
        refuse(
          `cannot pad ${what} ${layout.from} -> ${layout.to} in the quantized domain: scale block ${blk} (elements ${blk * b}..${blk * b + b - 1}) holds elements that move by ${before * b} and by ${moved}: its one scale cannot go to two places (the segments, e.g. heads, are not whole ${b}-wide groups)`,
        );
      }
      shift.set(blk, moved / b);
    }
  }
  const runs: PadRun[] = [];
  for (const [blk, s] of [...shift].sort((x, y) => x[0] - y[0])) {
    const last = runs[runs.length - 1];
    if (last && last.src + last.len === blk && last.dst - last.src === s) last.len++;
    else runs.push({ src: blk, dst: blk + s, len: 1 });
  }
  return checkLayout({ from: Math.ceil(layout.from / b), to: Math.ceil(layout.to / b), runs });
}

/** An element layout -> the layout of its packed words of p elements: every run must move whole words. */
export function packLayout(layout: PadLayout, p: number, what: string): PadLayout {
  const ok = (x: number) => x % p === 0;
  for (const r of layout.runs) {
    if (!ok(r.src) || !ok(r.dst) || !ok(r.len)) {
      refuse(
        `cannot pad ${what} ${layout.from} -> ${layout.to} in the quantized domain: elements ${r.src}..${r.src + r.len - 1} -> ${r.dst}.. would split the packed words of ${p} values (runs must start, land and end on multiples of ${p})`,
      );
    }
  }
  if (!ok(layout.from) || !ok(layout.to)) refuse(`cannot pad ${what} ${layout.from} -> ${layout.to}: both sizes must be multiples of ${p} (${p} values per packed word)`);
  return checkLayout({ from: layout.from / p, to: layout.to / p, runs: layout.runs.map((r) => ({ src: r.src / p, dst: r.dst / p, len: r.len / p })) });
}

/** Destination -> source index of a layout (-1: padded). */
function sources(layout: PadLayout): Int32Array {
  const s = new Int32Array(layout.to).fill(-1);
  for (const r of layout.runs) for (let i = 0; i < r.len; i++) s[r.dst + i] = r.src + i;
  return s;
}

/**
 * Rows of int4 words packed along the column axis (AWQ qweight, qzeros) -> rows of the padded
 * width, nibble by nibble: for column layouts whose runs do not start, land and end on whole words
 * (RoPE half-split heads of 26 channels). Each row is independent, so a block of rows at a time.
 */
function repackColumns(R: PadLayout, order: Int4Order, padNibble: number): (block: Uint8Array) => Uint8Array {
  const src = sources(R);
  const lane = new Array<number>(8);
  return (block) => {
    const words = int32s(block);
    const inRow = R.from / 8;
    const outRow = R.to / 8;
    const rows = words.length / inRow;
    const out = new Int32Array(rows * outRow);
    const codes = new Uint8Array(R.from);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < inRow; j++) {
        unpackInt4x8(words[r * inRow + j], order, lane);
        for (let b = 0; b < 8; b++) codes[8 * j + b] = lane[b];
      }
      for (let j = 0; j < outRow; j++) {
        for (let b = 0; b < 8; b++) {
          const s = src[8 * j + b];
          lane[b] = s < 0 ? padNibble : codes[s];
        }
        out[r * outRow + j] = packInt4x8(lane, order);
      }
    }
    return int32Bytes(out);
  };
}

class StoredEdits {
  readonly edits: TensorEdit[] = [];
  constructor(
    private readonly scheme: QuantScheme,
    private readonly w: QuantizedWeight,
    private readonly lookup: StoredLookup,
    private readonly reasons: readonly string[],
  ) {}

  /**
   * Adds the edit of one role unless it changes nothing. `repacked` (with fill.mapRows, no `cols`):
   * the number of columns mapRows turns each row into.
   */
  add(role: string, rows: PadLayout | undefined, cols: PadLayout | undefined, fill?: PadFill, scale?: number, repacked?: number, trailing?: number[]): void {
    const tensor = storedName(this.scheme, this.w.base, role);
    const { dtype, shape } = this.lookup(tensor);
    const r = rows && !isIdentity(rows) ? rows : undefined;
    const c = cols && !isIdentity(cols) ? cols : undefined;
    if (!r && !c && scale === undefined && repacked === undefined) return;
    const to = [...shape];
    if (r) to[0] = r.to;
    if (c) to[1] = c.to;
    if (repacked !== undefined) to[1] = repacked;
    // A rank-3 tensor padded as [rows, bytes of a row] (MXFP4 blocks [N, K/32, 16]): the layout's columns are whole trailing blocks.
    if (trailing !== undefined && c) to.splice(1, to.length - 1, c.to / trailing.reduce((a, b) => a * b, 1), ...trailing);
    this.edits.push({
      tensor,
      dtype,
      from: [...shape],
      to,
      ...(r ? { rows: r } : {}),
      ...(c ? { cols: c } : {}),
      ...(scale !== undefined ? { scale } : {}),
      ...(fill ? { fill } : {}),
      reasons: this.reasons.map((x) => `${role} of ${this.w.base}.weight (${this.w.method}): ${x}`),
    });
  }

  /** Adds an edit that keeps a tensor's shape and rewrites its values (`mapRows`, e.g. weight_shape). */
  rewrite(role: string, mapRows: (block: Uint8Array, firstRow: number) => Uint8Array): void {
    const tensor = storedName(this.scheme, this.w.base, role);
    const { dtype, shape } = this.lookup(tensor);
    this.edits.push({
      tensor,
      dtype,
      from: [...shape],
      to: [...shape],
      fill: { element: new Uint8Array(DTYPES[dtype].bytes), mapRows },
      reasons: this.reasons.map((x) => `${role} of ${this.w.base}.weight (${this.w.method}): ${x}`),
    });
  }
}

/** Where the padded input channels of an int4 weight go: their destination group, and its source group when it holds original channels. */
interface Int4Groups {
  /** Group layout (scales and qzeros rows). */
  layout: PadLayout;
  /** For each destination K position that is padded: its group (destination numbering). */
  padGroup: Map<number, number>;
  /** Destination group -> source group (-1: a new group). */
  srcGroup: Int32Array;
  /** Rewrites stored g_idx values (source group numbers) to destination ones. */
  mapValue: (g: number) => number;
}

function int4Groups(w: QuantizedWeight, scheme: { groupSize: number }, C: PadLayout, gIdx: Int32Array | undefined): Int4Groups {
  const g = w.groupK!;
  const whole = scheme.groupSize === -1;
  const G = whole ? 1 : Math.ceil(w.k / g);
  const G2 = whole ? 1 : Math.ceil(C.to / g);
  const srcOfK = sources(C);
  const padGroup = new Map<number, number>();
  const sequential = gIdx === undefined || gIdx.every((v, kk) => v === (whole ? 0 : Math.floor(kk / g)));
  if (sequential) {
    const layout = whole ? keepLayout(1) : blockLayout(C, g, `the input columns of '${w.base}'`);
    for (let d = 0; d < C.to; d++) if (srcOfK[d] === -1) padGroup.set(d, whole ? 0 : Math.floor(d / g));
    const srcGroup = sources(layout);
    const dstGroup = new Int32Array(G);
    for (let d = 0; d < srcGroup.length; d++) if (srcGroup[d] >= 0) dstGroup[srcGroup[d]] = d;
    return { layout, padGroup, srcGroup, mapValue: (v) => dstGroup[v] };
  }
  // desc_act: groups are sets of channels; original ones keep theirs, padded ones fill free places, then new groups.
  const used = new Int32Array(G2);
  for (const v of gIdx) {
    if (!(v >= 0 && v < G)) refuse(`cannot pad '${w.base}': its g_idx holds ${v}, not a group 0..${G - 1}`);
    used[v]++;
  }
  let group = 0;
  for (let d = 0; d < C.to; d++) {
    if (srcOfK[d] !== -1) continue;
    while (group < G2 && used[group] >= g) group++;
    if (group >= G2) refuse(`cannot pad '${w.base}' to K = ${C.to}: its ${G2} groups of ${g} are full (g_idx puts more than ${g} channels in a group)`);
    used[group]++;
    padGroup.set(d, group);
  }
  const layout = padAtEnd(G, G2);
  return { layout, padGroup, srcGroup: sources(layout), mapValue: (v) => v };
}

/** The true zero-points (0..15) of one group's N columns, from its qzeros row. */
function zerosOf(row: Uint8Array, n: number, gptq: boolean, base: string, group: number): Uint8Array {
  const words = int32s(row);
  const out = new Uint8Array(n);
  const lane: number[] = new Array(8);
  for (let j = 0; j < n / 8; j++) {
    unpackInt4x8(words[j], gptq ? "gptq" : "awq", lane);
    for (let b = 0; b < 8; b++) out[8 * j + b] = lane[b] + (gptq ? 1 : 0);
  }
  const bad = out.findIndex((z) => z > 15);
  if (bad >= 0)
    refuse(`cannot pad the input channels of '${base}' inside group ${group}: column ${bad} has zero-point 16 (qzeros nibble 15 + 1), which no int4 code equals, so a padded weight there cannot be 0`);
  return out;
}

async function int4Edits(
  e: StoredEdits,
  w: QuantizedWeight,
  scheme: Extract<QuantScheme, { method: "gptq" | "awq" }>,
  R: PadLayout,
  C: PadLayout,
  scale: number | undefined,
  lookup: StoredLookup,
  read: RowReader,
): Promise<void> {
  const gptq = scheme.method === "gptq";
  const name = (role: string) => storedName(scheme, w.base, role);
  const hasGIdx = w.tensors.g_idx !== undefined;
  const gIdx = hasGIdx ? int32s(await read(name("g_idx"), 0, w.k)) : undefined;
  const groups = int4Groups(w, scheme, C, gIdx);
  const N = R.to;
  const srcOfN = sources(R);
  if (R.from % 8 !== 0 || R.to % 8 !== 0)
    refuse(`cannot pad the output rows of '${w.base}' ${R.from} -> ${R.to}: ${scheme.method} packs 8 zero-points per int32 along N, so both must be multiples of 8`);
  const wholeWords = R.runs.every((r) => r.src % 8 === 0 && r.dst % 8 === 0 && r.len % 8 === 0);
  const order: Int4Order = gptq ? "gptq" : "awq";
  /** A tensor packed 8 per int32 along N (AWQ qweight, qzeros): whole words move as a layout, else rows are repacked. */
  const addPackedN = (role: string, rows: PadLayout, fill: PadFill, padNibble: number) =>
    wholeWords
      ? e.add(role, rows, packLayout(R, 8, `the output rows of '${w.base}'`), fill)
      : e.add(role, rows, undefined, { ...fill, mapRows: repackColumns(R, order, padNibble) }, undefined, R.to / 8);
  // Zero-points of the original groups that padded channels land in (one qzeros row each).
  const zeros = new Map<number, Uint8Array>();
  for (const dg of new Set(groups.padGroup.values())) {
    const sg = groups.srcGroup[dg];
    if (sg >= 0 && !zeros.has(sg)) zeros.set(sg, zerosOf(await read(name("qzeros"), sg, 1), w.n, gptq, w.base, sg));
  }
  const zeroAt = (dstK: number, dstN: number): number => {
    const dg = groups.padGroup.get(dstK);
    const sg = dg === undefined ? -1 : groups.srcGroup[dg];
    const sn = srcOfN[dstN];
    return sg < 0 || sn < 0 ? NEUTRAL_ZERO : zeros.get(sg)![sn];
  };
  const needsZeros = (dstK: number) => {
    const dg = groups.padGroup.get(dstK);
    return dg !== undefined && groups.srcGroup[dg] >= 0;
  };
  const codes = word(NEUTRAL_CODES);
  const lane = new Array<number>(8);
  if (gptq) {
    // qweight [K/8, N]: rows are 8 input channels each.
    const row = (dstRow: number): Uint8Array | undefined => {
      if (![0, 1, 2, 3, 4, 5, 6, 7].some((b) => needsZeros(8 * dstRow + b))) return undefined;
      const out = new Int32Array(N);
      for (let c = 0; c < N; c++) {
        for (let b = 0; b < 8; b++) lane[b] = zeroAt(8 * dstRow + b, c);
        out[c] = packInt4x8(lane, "gptq");
      }
      return int32Bytes(out);
    };
    e.add("qweight", packLayout(C, 8, `the input columns of '${w.base}'`), R, { element: codes, row });
  } else {
    // qweight [K, N/8]: rows are input channels, words 8 output channels each (AWQ order).
    const row = (dstRow: number): Uint8Array | undefined => {
      if (!needsZeros(dstRow)) return undefined;
      const out = new Int32Array(N / 8);
      for (let j = 0; j < N / 8; j++) {
        for (let b = 0; b < 8; b++) lane[b] = zeroAt(dstRow, 8 * j + b);
        out[j] = packInt4x8(lane, "awq");
      }
      return int32Bytes(out);
    };
    addPackedN("qweight", C, { element: codes, row }, NEUTRAL_ZERO);
  }
  const zeroNibble = gptq ? NEUTRAL_ZERO - 1 : NEUTRAL_ZERO; // GPTQ v1 stores zero - 1
  addPackedN("qzeros", groups.layout, { element: word(packInt4x8(Array(8).fill(zeroNibble), "gptq")) }, zeroNibble);
  const scales = lookup(name("scales"));
  e.add("scales", groups.layout, R, { element: one(scales.dtype, 1) }, scale);
  if (hasGIdx) {
    const mapRows = (block: Uint8Array) => int32Bytes(Int32Array.from(int32s(block), groups.mapValue));
    const row = (dstRow: number) => word(groups.padGroup.get(dstRow)!);
    if (!isIdentity(C) || !isIdentity(groups.layout)) e.add("g_idx", C, undefined, { element: word(0), row, mapRows });
  }
}

/**
 * compressed-tensors pack-quantized int4: weight_packed [N, K/8] (sequential nibbles along K,
 * unsigned q + 8), weight_scale [N, G], weight_zero_point [N/8, G] (asymmetric; packed along N),
 * weight_shape [N, K]. A padded weight takes code u = its zero point's stored nibble (8 when
 * symmetric, where the zero point is 0), so (u - zu) * s = 0; a new group or row gets scale 1.0
 * and zero point nibble 8. Rows of weight_packed are repacked nibble by nibble where the column
 * layout splits words or padded channels land in an original group of an asymmetric weight
 * (their codes then depend on the row's zero points, read whole: N/8 x G int32, small).
 */
async function packQuantizedEdits(
  e: StoredEdits,
  w: QuantizedWeight,
  scheme: Extract<QuantScheme, { method: "pack-quantized" }>,
  R: PadLayout,
  C: PadLayout,
  scale: number | undefined,
  lookup: StoredLookup,
  read: RowReader,
): Promise<void> {
  const name = (role: string) => storedName(scheme, w.base, role);
  // A K that is not a multiple of 8 leaves padding codes (nibble 0: q = -8, not zero) in the last word: padding must not make them channels.
  checkWeightShape(w, await read(name("weight_shape"), 0, 2));
  const groups = int4Groups(w, scheme, C, undefined);
  const G = Math.ceil(w.k / w.groupK!); // groups in the source weight_zero_point's rows
  const srcOfK = sources(C);
  const wholeWords = C.runs.every((r) => r.src % 8 === 0 && r.dst % 8 === 0 && r.len % 8 === 0) && C.to % 8 === 0;
  if (C.to % 8 !== 0) refuse(`cannot pad the input columns of '${w.base}' to ${C.to}: pack-quantized packs 8 int4 per int32 along K, so K must be a multiple of 8`);
  const inOriginalGroup = [...groups.padGroup.values()].some((dg) => groups.srcGroup[dg] >= 0);
  const zeroPoints = !scheme.sym && inOriginalGroup ? int32s(await read(name("weight_zero_point"), 0, Math.ceil(w.n / 8))) : undefined;
  const zeroNibble = (row: number, group: number) => (zeroPoints ? (zeroPoints[(row >> 3) * G + group] >>> (4 * (row & 7))) & 0xf : NEUTRAL_ZERO);
  const codes = word(NEUTRAL_CODES);
  if (wholeWords && zeroPoints === undefined) {
    e.add("weight_packed", R, packLayout(C, 8, `the input columns of '${w.base}'`), { element: codes });
  } else {
    const inRow = w.k / 8;
    const outRow = C.to / 8;
    const lane = new Array<number>(8);
    const mapRows = (block: Uint8Array, firstRow: number) => {
      const words = int32s(block);
      const rows = words.length / inRow;
      const out = new Int32Array(rows * outRow);
      for (let r = 0; r < rows; r++) {
        const src = (c: number) => (words[r * inRow + (c >> 3)] >>> (4 * (c & 7))) & 0xf;
        for (let j = 0; j < outRow; j++) {
          for (let b = 0; b < 8; b++) {
            const d = 8 * j + b;
            const s = srcOfK[d];
            const sg = s >= 0 ? -1 : groups.srcGroup[groups.padGroup.get(d)!];
            lane[b] = s >= 0 ? src(s) : sg >= 0 ? zeroNibble(firstRow + r, sg) : NEUTRAL_ZERO;
          }
          out[r * outRow + j] = packInt4x8(lane, "gptq");
        }
      }
      return int32Bytes(out);
    };
    e.add("weight_packed", R, undefined, { element: codes, mapRows }, undefined, outRow);
  }
  const sc = lookup(name("weight_scale"));
  e.add("weight_scale", R, groups.layout, { element: one(sc.dtype, 1) }, scale);
  if (!scheme.sym) e.add("weight_zero_point", packLayout(R, 8, `the output rows of '${w.base}' (zero points, 8 per int32 along N)`), groups.layout, { element: codes });
  if (!isIdentity(R) || !isIdentity(C)) {
    const shape = BigInt64Array.of(BigInt(R.to), BigInt(C.to));
    e.rewrite("weight_shape", (block, firstRow) => {
      const out = new BigInt64Array(block.byteLength / 8);
      for (let i = 0; i < out.length; i++) out[i] = shape[firstRow + i];
      return new Uint8Array(out.buffer);
    });
  }
}

/**
 * The stored-tensor edits that pad quantized weight `w` as the logical edit says (rows: output
 * channels N, cols: input channels K, scale: the folded attention scale). Reads only the small
 * parts the padding values depend on (qzeros rows of groups that padded channels land in, g_idx).
 */
export async function quantizedStoredEdits(scheme: QuantScheme, w: QuantizedWeight, logical: TensorEdit, lookup: StoredLookup, read: RowReader): Promise<TensorEdit[]> {
  const R = logical.rows ?? keepLayout(w.n);
  const C = logical.cols ?? keepLayout(w.k);
  if (R.from !== w.n || C.from !== w.k) throw new Error(`pad ${w.base}: layouts ${R.from} x ${C.from} for a [${w.n}, ${w.k}] weight`);
  const e = new StoredEdits(scheme, w, lookup, logical.reasons);
  const f = logical.scale;
  switch (scheme.method) {
    case "gptq":
    case "awq":
      await int4Edits(e, w, scheme, R, C, f, lookup, read);
      break;
    case "pack-quantized":
      await packQuantizedEdits(e, w, scheme, R, C, f, lookup, read);
      break;
    case "fp8": {
      e.add("weight", R, C); // E4M3 0x00 is +0: zero bytes
      if (w.groupN !== undefined) {
        const s = lookup(storedName(scheme, w.base, "weight_scale_inv"));
        e.add("weight_scale_inv", blockLayout(R, w.groupN, `the output rows of '${w.base}'`), blockLayout(C, w.groupK!, `the input columns of '${w.base}'`), { element: one(s.dtype, 1) }, f);
      } else {
        const s = lookup(storedName(scheme, w.base, "weight_scale"));
        if (w.scaleGranularity === "channel") e.add("weight_scale", R, undefined, { element: one(s.dtype, 1) }, f);
        else e.add("weight_scale", undefined, undefined, undefined, f);
      }
      break;
    }
    case "mxfp4": {
      if (f !== undefined) {
        refuse(
          `cannot fold the attention scale x${f.toPrecision(7)} into '${w.base}': MXFP4 scales are E8M0 powers of two, so a factor that is not one has no exact or rounded place there; use --scale logical`,
        );
      }
      const groups = blockLayout(C, 32, `the input columns of '${w.base}'`);
      // weight_blocks [N, K/32, 16] as rows of K/2 bytes: E2M1 code 0 is +0, so zero bytes.
      e.add("weight_blocks", R, packLayout(C, 2, `the input columns of '${w.base}'`), undefined, undefined, undefined, [16]);
      e.add("weight_scales", R, groups, { element: Uint8Array.of(127) }); // E8M0 127 = 2^0
      break;
    }
    case "nvfp4": {
      const blocks = blockLayout(C, 16, `the input columns of '${w.base}'`);
      e.add("weight_packed", R, packLayout(C, 2, `the input columns of '${w.base}'`)); // E2M1 code 0 is +0
      e.add("weight_scale", R, blocks, { element: one("F8_E4M3", 1) });
      // w = e2m1 * e4m3 * global (modelopt) or / global (compressed-tensors): the fold goes into the FP32 global scale.
      if (f !== undefined) e.add("weight_global_scale", undefined, undefined, undefined, scheme.producer === "modelopt" ? f : 1 / f);
      break;
    }
  }
  return e.edits;
}
