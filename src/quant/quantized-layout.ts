/**
 * A quantized checkpoint's tensors -> the logical weights the model spec sees. Pure: config and
 * tensor shapes in, out the same shapes with each quantized weight's stored tensors folded into one
 * logical `<base>.weight` [N = out, K = in] entry, and a description of how each is stored.
 *
 * Stored layouts (N out features, K in features, g the group size, G = ceil(K / g), or 1 for g -1):
 *   gptq   <base>.qweight I32 [K/8, N] (8 int4 along K per int32), .scales [G, N] F16/BF16,
 *          .qzeros I32 [G, N/8] (8 zero-points along N), .g_idx I32 [K] (optional)
 *          (AutoGPTQ/GPTQModel pack; vLLM gptq.py create_weights)
 *   awq    <base>.qweight I32 [K, N/8] (8 int4 along N), .qzeros I32 [G, N/8], .scales [G, N]
 *          (AutoAWQ WQLinear_GEMM; vLLM awq.py create_weights)
 *   fp8    <base>.weight F8_E4M3 [N, K] with .weight_scale_inv F32/BF16 [ceil(N/bn), ceil(K/bk)] when
 *          weight_block_size [bn, bk] is set, else .weight_scale [] / [1] (per tensor) or [N] / [N, 1]
 *          (per channel); .input_scale [] / [1] optional (vLLM fp8.py create_weights). The same
 *          tensors from compressed-tensors float-quantized (weight_scale [1] for strategy "tensor",
 *          [N, 1] for "channel", [ceil(N/bn), ceil(K/bk)] for "block": its block scale is named
 *          weight_scale, not weight_scale_inv; naive_quantized.py NaiveQuantizationCompressor,
 *          vLLM compressed_tensors_w8a8_fp8.py create_weights) and from modelopt FP8 (weight_scale
 *          and input_scale F32 scalars; vLLM modelopt.py ModelOptFp8LinearMethod.create_weights)
 *   pack-quantized  compressed-tensors int4 (W4A16): <base>.weight_packed I32 [N, ceil(K/8)]
 *          (8 int4 along K per int32, element 8j + i in bits 4i..4i+3, stored unsigned as q + 8),
 *          .weight_scale F16/BF16/F32 [N, G] (G = K / g; 1 for strategy "channel"),
 *          .weight_zero_point I32 [ceil(N/8), G] when asymmetric (8 along N per int32, same order
 *          and offset), .weight_shape I64 [2] = [N, K] (vllm-project/compressed-tensors
 *          compressors/quantized_compressors/pack_quantized.py compress_module, pack_to_int32;
 *          vLLM compressed_tensors_wNa16.py CompressedTensorsWNA16.create_weights). gac takes K =
 *          8 * the packed width from the header; dequantize.ts checks weight_shape's values.
 *   nvfp4  compressed-tensors: <base>.weight_packed U8 [N, K/2], .weight_scale F8_E4M3 [N, K/16],
 *          .weight_global_scale F32 [] / [1], .input_global_scale optional;
 *          modelopt: <base>.weight U8 [N, K/2], .weight_scale F8_E4M3 [N, K/16], .weight_scale_2 F32,
 *          .input_scale optional (vLLM compressed_tensors_w4a4_nvfp4.py, modelopt.py)
 *   mxfp4  <base>.weight_blocks U8 [N, K/32, 16] (32 E2M1 values per 16 bytes, element 2i in the
 *          low nibble), .weight_scales U8 [N, K/32] (E8M0: 2^(s - 127)) (transformers
 *          integrations/mxfp4.py convert_moe_packed_tensors; gpt-oss's expert stacks add a leading
 *          expert axis, which gac, having no MoE model, refuses)
 * A header that breaks one of these gets a one-line BAD_QUANT error naming the tensor and the rule.
 */
import type { Dtype, TensorShapes } from "../checkpoint/types.js";
import { GacError } from "../errors.js";
import { describeScheme, readQuantScheme, type QuantScheme } from "./quant-config.js";

export type QuantMethod = QuantScheme["method"];

/** How one logical weight [n, k] is stored. */
export interface QuantizedWeight {
  /** The module path, e.g. "model.layers.0.mlp.down_proj"; the logical weight is `${base}.weight`. */
  base: string;
  method: QuantMethod;
  n: number;
  k: number;
  /** Stored tensors by role (qweight, scales, qzeros, g_idx; weight, weight_scale, weight_scale_inv, input_scale; weight_packed, weight_global_scale, ...). */
  tensors: Record<string, string>;
  /** Input channels per scale along K: GPTQ/AWQ/pack-quantized group size (K for -1), FP8 block_k, NVFP4 16; absent for FP8 per-tensor/channel. */
  groupK?: number;
  /** Output channels per scale along N: FP8 block_n; absent where scales are per output channel or per tensor. */
  groupN?: number;
  /** FP8 without blocks: "tensor" or "channel". */
  scaleGranularity?: "tensor" | "channel";
}

export interface ModelQuantization {
  scheme: QuantScheme;
  /** One line, e.g. "gptq int4 g128". */
  description: string;
  /** By logical weight tensor name (`${base}.weight`). */
  weights: Map<string, QuantizedWeight>;
}

export interface LogicalView {
  shapes: TensorShapes;
  quantization?: ModelQuantization;
}

type Shape = { dtype: Dtype; shape: readonly number[] };

const FLOAT_SCALE: readonly Dtype[] = ["F16", "BF16", "F32"];
const show = (t: Shape) => `${t.dtype} [${t.shape.join(", ")}]`;
const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

class Reader {
  readonly taken = new Set<string>();
  constructor(private readonly shapes: TensorShapes) {}

  get(name: string): Shape | undefined {
    return this.shapes.get(name);
  }

  fail(name: string, t: Shape | undefined, rule: string): never {
    throw new GacError("BAD_QUANT", `tensor '${name}'${t ? ` (${show(t)})` : ""} ${rule}`);
  }

  /** A tensor that must be there, of one of `dtypes` and `rank` dims. */
  need(name: string, dtypes: readonly Dtype[], rank: number, what: string): Shape {
    const t = this.shapes.get(name);
    if (t === undefined) throw new GacError("BAD_QUANT", `tensor '${name}' is missing: ${what}`);
    return this.check(name, t, dtypes, rank, what);
  }

  optional(name: string, dtypes: readonly Dtype[], rank: number, what: string): Shape | undefined {
    const t = this.shapes.get(name);
    return t === undefined ? undefined : this.check(name, t, dtypes, rank, what);
  }

  private check(name: string, t: Shape, dtypes: readonly Dtype[], rank: number, what: string): Shape {
    if (!dtypes.includes(t.dtype)) this.fail(name, t, `should be ${dtypes.join(" or ")}: ${what}`);
    if (t.shape.length !== rank && !(rank === 0 && same(t.shape, [1]))) this.fail(name, t, `should have ${rank} dims: ${what}`);
    this.taken.add(name);
    return t;
  }

  shapeIs(name: string, t: Shape, want: readonly number[], rule: string): void {
    if (!same(t.shape, want)) this.fail(name, t, `should be [${want.join(", ")}]: ${rule}`);
  }
}

const groupsOf = (k: number, g: number) => (g === -1 ? 1 : Math.ceil(k / g));

function readInt4(r: Reader, base: string, s: Extract<QuantScheme, { method: "gptq" | "awq" }>): QuantizedWeight {
  const qn = `${base}.qweight`;
  const q = r.need(qn, ["I32"], 2, `${s.method} packs 8 int4 values per int32`);
  const gptq = s.method === "gptq";
  const k = gptq ? q.shape[0] * 8 : q.shape[0];
  const n = gptq ? q.shape[1] : q.shape[1] * 8;
  if (k === 0 || n === 0) r.fail(qn, q, "is empty");
  const g = s.groupSize;
  const G = groupsOf(k, g);
  const groupRule = `one scale per ${g === -1 ? "column (group_size -1)" : `group of ${g} input channels`} of K = ${k} (${G} group${G === 1 ? "" : "s"}) and N = ${n} outputs`;
  const sn = `${base}.scales`;
  const sc = r.need(sn, FLOAT_SCALE, 2, groupRule);
  r.shapeIs(sn, sc, [G, n], `${groupRule}; qweight ${show(q)} gives K = ${k}, N = ${n}`);
  const zn = `${base}.qzeros`;
  const z = r.need(zn, ["I32"], 2, "zero-points, 8 per int32 along N");
  if (n % 8 !== 0) r.fail(zn, z, `cannot pack N = ${n} zero-points 8 per int32: N must be a multiple of 8`);
  r.shapeIs(zn, z, [G, n / 8], `8 zero-points per int32 along N = ${n}, one row per group (${G})`);
  const tensors: Record<string, string> = { qweight: qn, scales: sn, qzeros: zn };
  const gn = `${base}.g_idx`;
  const gi = r.optional(gn, ["I32"], 1, "the group of each input channel");
  if (gi) {
    if (!gptq) r.fail(gn, gi, "is a GPTQ tensor; AWQ has no g_idx");
    r.shapeIs(gn, gi, [k], `one group index per input channel (K = ${k} from qweight ${show(q)})`);
    tensors.g_idx = gn;
  } else if (gptq && s.descAct) {
    throw new GacError("BAD_QUANT", `tensor '${gn}' is missing: quantization_config says desc_act, so each input channel's group is in g_idx`);
  }
  return { base, method: s.method, n, k, tensors, groupK: g === -1 ? k : g };
}

function readFp8(r: Reader, base: string, s: Extract<QuantScheme, { method: "fp8" }>): QuantizedWeight {
  const wn = `${base}.weight`;
  const w = r.need(wn, ["F8_E4M3"], 2, "an FP8 weight is E4M3 [N, K]");
  const [n, k] = w.shape;
  const tensors: Record<string, string> = { weight: wn };
  const input = r.optional(`${base}.input_scale`, ["F32", "BF16", "F16"], 0, "one activation scale per tensor");
  if (input) tensors.input_scale = `${base}.input_scale`;
  const by = s.producer ? `${s.producer} ` : "";
  if (r.get(`${base}.weight_zero_point`)) r.fail(`${base}.weight_zero_point`, r.get(`${base}.weight_zero_point`), "is an FP8 zero point (asymmetric float quantization), which gac does not read");
  if (r.get(`${base}.weight_shape_original`)) {
    r.fail(
      `${base}.weight_shape_original`,
      r.get(`${base}.weight_shape_original`),
      "says the FP8 weight was padded to whole blocks when it was compressed; gac does not read padded block checkpoints yet",
    );
  }
  if (s.block) {
    const [bn, bk] = s.block;
    const name = storedName(s, base, "weight_scale_inv");
    const t = r.need(name, FLOAT_SCALE, 2, `${by}weight_block_size [${bn}, ${bk}] needs one scale per block`);
    r.shapeIs(name, t, [Math.ceil(n / bn), Math.ceil(k / bk)], `one scale per ${bn}x${bk} block of weight ${show(w)}`);
    tensors.weight_scale_inv = name;
    return { base, method: "fp8", n, k, tensors, groupN: bn, groupK: bk };
  }
  const name = `${base}.weight_scale`;
  const t = r.get(name);
  if (t === undefined) throw new GacError("BAD_QUANT", `tensor '${name}' is missing: FP8 weight '${wn}' needs a per-tensor or per-channel scale (or set weight_block_size for weight_scale_inv)`);
  if (!FLOAT_SCALE.includes(t.dtype)) r.fail(name, t, `should be ${FLOAT_SCALE.join(" or ")}: the weight's scale`);
  const perTensor = t.shape.length === 0 || same(t.shape, [1]);
  const perChannel = same(t.shape, [n]) || same(t.shape, [n, 1]);
  if (s.granularity === "tensor" && !perTensor) r.fail(name, t, `should be [] or [1]: ${by}FP8 per tensor has one scale for weight ${show(w)}`);
  if (s.granularity === "channel" && !perChannel) r.fail(name, t, `should be [${n}, 1]: ${by}FP8 per channel has one scale per output channel of weight ${show(w)}`);
  if (!perTensor && !perChannel) r.fail(name, t, `should be [] or [1] (per tensor) or [${n}] / [${n}, 1] (per output channel of weight ${show(w)})`);
  r.taken.add(name);
  tensors.weight_scale = name;
  return { base, method: "fp8", n, k, tensors, scaleGranularity: perTensor ? "tensor" : "channel" };
}

/** Most input channels a pack-quantized weight may claim (2^31: int32 indexing in every runtime). */
const MAX_PACKED_K = 2 ** 31;

function readPackQuantized(r: Reader, base: string, s: Extract<QuantScheme, { method: "pack-quantized" }>): QuantizedWeight {
  const pn = `${base}.weight_packed`;
  const p = r.need(pn, ["I32"], 2, "pack-quantized packs 8 int4 values per int32 along K ([N, K/8])");
  const [n, words] = p.shape;
  const k = words * 8;
  if (n === 0 || words === 0) r.fail(pn, p, "is empty");
  if (k > MAX_PACKED_K) r.fail(pn, p, `claims K = ${k} input channels, more than ${MAX_PACKED_K}: the header is damaged`);
  const g = s.groupSize;
  if (g !== -1 && k % g !== 0) {
    r.fail(
      pn,
      p,
      `has K = ${k} input channels, which group_size ${g} does not divide: vLLM's Marlin kernels refuse it (verify_marlin_supports_shape); re-quantize with a group size that divides K, or pad K first (gac repair of the 16-bit checkpoint)`,
    );
  }
  const G = groupsOf(k, g);
  const groupRule = `one scale per ${g === -1 ? "output channel (strategy channel)" : `group of ${g} input channels`} of K = ${k} (${G} group${G === 1 ? "" : "s"}) and N = ${n} outputs; ${pn} ${show(p)} gives K = ${k}`;
  const sn = `${base}.weight_scale`;
  const sc = r.need(sn, FLOAT_SCALE, 2, groupRule);
  r.shapeIs(sn, sc, [n, G], groupRule);
  const tensors: Record<string, string> = { weight_packed: pn, weight_scale: sn };
  const zn = `${base}.weight_zero_point`;
  if (s.sym) {
    const z = r.get(zn);
    if (z) r.fail(zn, z, "is a zero point, but the config says symmetric: the config or the checkpoint is wrong");
  } else {
    const z = r.need(zn, ["I32"], 2, "an asymmetric pack-quantized weight has zero points, 8 per int32 along N");
    r.shapeIs(zn, z, [Math.ceil(n / 8), G], `8 zero points per int32 along N = ${n}, one column per group (${G})`);
    tensors.weight_zero_point = zn;
  }
  const hn = `${base}.weight_shape`;
  const h = r.optional(hn, ["I64"], 1, "the unpacked [N, K] of the weight");
  if (h === undefined)
    throw new GacError(
      "BAD_QUANT",
      `tensor '${hn}' is missing: a pack-quantized weight stores its unpacked [N, K] there (compressed-tensors pack_quantized.py); the checkpoint is incomplete, re-export it`,
    );
  r.shapeIs(hn, h, [2], "the unpacked [N, K] of the weight");
  tensors.weight_shape = hn;
  if (r.get(`${base}.weight_g_idx`)) r.fail(`${base}.weight_g_idx`, r.get(`${base}.weight_g_idx`), "is an activation-order permutation (actorder group), which gac does not read for pack-quantized");
  return { base, method: "pack-quantized", n, k, tensors, groupK: g === -1 ? k : g };
}

function readNvfp4(r: Reader, base: string, s: Extract<QuantScheme, { method: "nvfp4" }>): QuantizedWeight {
  const ct = s.producer === "compressed-tensors";
  const pn = ct ? `${base}.weight_packed` : `${base}.weight`;
  const p = r.need(pn, ["U8"], 2, "NVFP4 packs two E2M1 values per byte along K ([N, K/2])");
  const [n, half] = p.shape;
  const k = half * 2;
  const sn = `${base}.weight_scale`;
  const sc = r.need(sn, ["F8_E4M3"], 2, "NVFP4 has one E4M3 scale per 16 input channels");
  r.shapeIs(sn, sc, [n, Math.ceil(k / 16)], `one E4M3 scale per 16 input channels of ${pn} ${show(p)} (K = ${k})`);
  const gname = ct ? `${base}.weight_global_scale` : `${base}.weight_scale_2`;
  r.need(gname, ["F32"], 0, "NVFP4's per-tensor FP32 scale");
  const tensors: Record<string, string> = { weight_packed: pn, weight_scale: sn, weight_global_scale: gname };
  const iname = ct ? `${base}.input_global_scale` : `${base}.input_scale`;
  if (r.optional(iname, ["F32"], 0, "the activation's per-tensor scale")) tensors.input_scale = iname;
  return { base, method: "nvfp4", n, k, tensors, groupK: 16 };
}

function readMxfp4(r: Reader, base: string): QuantizedWeight {
  const bn = `${base}.weight_blocks`;
  const b = r.get(bn)!;
  if (b.dtype !== "U8") r.fail(bn, b, "should be U8: MXFP4 packs two E2M1 values per byte");
  if (b.shape.length === 4) r.fail(bn, b, "is a stack of experts [E, N, K/32, 16] (gpt-oss MoE): gac models dense linears only and cannot read MoE experts");
  r.need(bn, ["U8"], 3, "MXFP4 blocks are [N, K/32, 16]: 32 E2M1 values in 16 bytes per block");
  const [n, groups, bytes] = b.shape;
  if (bytes !== 16) r.fail(bn, b, `should end in 16: one MXFP4 block is 32 E2M1 values in 16 bytes, not ${bytes}`);
  if (n === 0 || groups === 0) r.fail(bn, b, "is empty");
  const k = groups * 32;
  const sn = `${base}.weight_scales`;
  const sc = r.need(sn, ["U8"], 2, "MXFP4 has one E8M0 scale (U8) per 32 input channels");
  r.shapeIs(sn, sc, [n, groups], `one E8M0 scale per 32-value block of ${bn} ${show(b)} (N = ${n}, K = ${k})`);
  return { base, method: "mxfp4", n, k, tensors: { weight_blocks: bn, weight_scales: sn }, groupK: 32 };
}

function readWeight(r: Reader, base: string, s: QuantScheme): QuantizedWeight {
  switch (s.method) {
    case "gptq":
    case "awq":
      return readInt4(r, base, s);
    case "fp8":
      return readFp8(r, base, s);
    case "pack-quantized":
      return readPackQuantized(r, base, s);
    case "nvfp4":
      return readNvfp4(r, base, s);
    case "mxfp4":
      return readMxfp4(r, base);
  }
}

/** The module paths of the quantized weights: every tensor named like the scheme's anchor. */
function anchorsOf(shapes: TensorShapes, s: QuantScheme): string[] {
  const bases: string[] = [];
  for (const [name, t] of shapes) {
    const m =
      s.method === "gptq" || s.method === "awq"
        ? /^(.*)\.qweight$/.exec(name)
        : s.method === "pack-quantized"
          ? /^(.*)\.weight_packed$/.exec(name)
          : s.method === "fp8"
            ? t.dtype === "F8_E4M3"
              ? /^(.*)\.weight$/.exec(name)
              : null
            : s.method === "mxfp4"
              ? /^(.*)\.weight_blocks$/.exec(name)
              : s.producer === "compressed-tensors"
                ? /^(.*)\.weight_packed$/.exec(name)
                : t.dtype === "U8"
                  ? /^(.*)\.weight$/.exec(name)
                  : null;
    if (m) bases.push(m[1]);
  }
  return bases;
}

/** The dtype the logical weights compute in: the scales' for int4, else the embedding table's. */
function computeDtype(shapes: TensorShapes, w: QuantizedWeight): Dtype {
  if (w.method === "gptq" || w.method === "awq") return shapes.get(w.tensors.scales)!.dtype;
  if (w.method === "pack-quantized") return shapes.get(w.tensors.weight_scale)!.dtype;
  const embed = shapes.get("model.embed_tokens.weight") ?? shapes.get("embed_tokens.weight");
  return embed && FLOAT_SCALE.includes(embed.dtype) ? embed.dtype : "BF16";
}

const STRAY = /\.(qweight|qzeros|scales|g_idx|weight_packed|weight_scale|weight_scale_inv|weight_global_scale|weight_blocks|weight_scales|weight_zero_point|weight_shape)$/;

export function logicalView(config: Record<string, unknown>, shapes: TensorShapes): LogicalView {
  const scheme = readQuantScheme(config);
  if (scheme === undefined) {
    for (const [name, t] of shapes) {
      if (STRAY.test(name) || t.dtype === "F8_E4M3") {
        throw new GacError("BAD_QUANT", `tensor '${name}' (${show(t)}) is stored quantized but config.json has no quantization_config: gac cannot tell how to read it`);
      }
    }
    return { shapes };
  }
  const r = new Reader(shapes);
  const weights = new Map<string, QuantizedWeight>();
  for (const base of anchorsOf(shapes, scheme)) {
    const w = readWeight(r, base, scheme);
    weights.set(`${base}.weight`, w);
  }
  if (weights.size === 0) throw new GacError("BAD_QUANT", `config.json says ${describeScheme(scheme)} but no tensor is stored that way: the config or the checkpoint is wrong`);
  const out = new Map<string, Shape>();
  for (const [name, t] of shapes) if (!r.taken.has(name)) out.set(name, t);
  for (const [name, w] of weights) out.set(name, { dtype: computeDtype(shapes, w), shape: [w.n, w.k] });
  return { shapes: out, quantization: { scheme, description: describeScheme(scheme), weights } };
}

/** The stored tensor name of one role of a quantized weight (the inverse of the readers above). */
export function storedName(scheme: QuantScheme, base: string, role: string): string {
  if (scheme.method === "nvfp4") {
    const ct = scheme.producer === "compressed-tensors";
    if (role === "weight_packed") return ct ? `${base}.weight_packed` : `${base}.weight`;
    if (role === "weight_global_scale") return ct ? `${base}.weight_global_scale` : `${base}.weight_scale_2`;
    if (role === "input_scale") return ct ? `${base}.input_global_scale` : `${base}.input_scale`;
  }
  // compressed-tensors names its FP8 block scales weight_scale (a multiplier, as weight_scale_inv is).
  if (scheme.method === "fp8" && scheme.producer === "compressed-tensors" && role === "weight_scale_inv") return `${base}.weight_scale`;
  return `${base}.${role}`;
}
