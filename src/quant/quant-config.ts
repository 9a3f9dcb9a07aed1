/**
 * config.json `quantization_config` -> the scheme its weights are stored in. Pure. Only the fields
 * that decide the stored layout are read; the rest (damp_percent, calibration, ...) do not matter.
 *
 *   gptq                bits, group_size (-1: one group per column), desc_act, sym
 *                       (AutoGPTQ/GPTQModel; transformers GPTQConfig)
 *   awq                 bits ("w_bit" in older AutoAWQ), group_size ("q_group_size"), zero_point
 *   fp8                 weight_block_size [bn, bk] (DeepSeek-V3 / transformers FineGrainedFP8Config),
 *                       absent: per-tensor or per-channel weight_scale (vLLM Fp8Config)
 *   compressed-tensors  the format (top level, or the config groups' one format):
 *                       "nvfp4-pack-quantized" (or weights { num_bits 4, type "float", group_size 16 });
 *                       "float-quantized": weights { num_bits 8, type "float", strategy "tensor" |
 *                       "channel" | "block" with block_structure [bn, bk] } (FP8 E4M3, W8A8-FP8);
 *                       "pack-quantized": weights { num_bits 4, type "int", strategy "group" with
 *                       group_size g | "channel", symmetric } (int4 W4A16); any other format is
 *                       refused in one line naming it (vllm-project/compressed-tensors
 *                       src/compressed_tensors/config/base.py CompressionFormat; quantization/
 *                       quant_args.py QuantizationArgs)
 *   modelopt            quant_algo "NVFP4" or "FP8" (top level or under "quantization", as
 *                       hf_quant_config.json has it; vLLM modelopt.py ModelOptFp8Config)
 *   mxfp4               OCP MX FP4 as transformers' gpt-oss stores it (integrations/mxfp4.py):
 *                       E2M1 values and one E8M0 scale per 32; nothing else to read
 */
import { GacError } from "../errors.js";

export type QuantScheme =
  | { method: "gptq"; bits: 4; groupSize: number; descAct: boolean; sym: boolean }
  | { method: "awq"; bits: 4; groupSize: number; zeroPoint: boolean }
  | {
      method: "fp8";
      block?: [number, number];
      /** Who wrote it; absent: the fp8 quant_method (vLLM Fp8Config, DeepSeek-V3 blocks). */
      producer?: "compressed-tensors" | "modelopt";
      /** Without blocks, what the config promises the weight_scale is (absent: read from its shape). */
      granularity?: "tensor" | "channel";
    }
  /** compressed-tensors pack-quantized int4 (W4A16): groupSize -1 is strategy "channel". */
  | { method: "pack-quantized"; bits: 4; groupSize: number; sym: boolean }
  | { method: "nvfp4"; producer: "compressed-tensors" | "modelopt"; groupSize: 16 }
  | { method: "mxfp4"; groupSize: 32 };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function bad(rule: string): never {
  throw new GacError("BAD_QUANT", `config.json quantization_config ${rule}`);
}

function intField(q: Record<string, unknown>, names: string[], fallback?: number): number {
  for (const n of names) {
    if (n in q) {
      const v = q[n];
      if (typeof v !== "number" || !Number.isInteger(v)) bad(`has ${n} ${JSON.stringify(v)}, not an integer`);
      return v;
    }
  }
  if (fallback === undefined) bad(`has no ${names.join(" or ")}`);
  return fallback;
}

function groupSizeOf(q: Record<string, unknown>, names: string[]): number {
  const g = intField(q, names, 128);
  if (g !== -1 && g <= 0) bad(`has ${names[0]} ${g}; a group size is a positive integer or -1 (one group per column)`);
  return g;
}

function fourBits(q: Record<string, unknown>, method: string, names: string[]): 4 {
  const bits = intField(q, names, 4);
  if (bits !== 4) bad(`says ${method} with ${bits} bits; gac reads 4-bit ${method} only (8 int4 values per int32)`);
  return 4;
}

/** undefined for an unquantized checkpoint; a GacError for a quantization gac does not read. */
export function readQuantScheme(config: Record<string, unknown>): QuantScheme | undefined {
  const q = config.quantization_config;
  if (q === undefined || q === null) return undefined;
  if (!isObject(q)) bad(`is ${JSON.stringify(q)}, not an object`);
  const method = q.quant_method;
  switch (method) {
    case "gptq":
      return { method, bits: fourBits(q, "gptq", ["bits"]), groupSize: groupSizeOf(q, ["group_size"]), descAct: q.desc_act === true, sym: q.sym !== false };
    case "awq":
      return { method, bits: fourBits(q, "awq", ["bits", "w_bit"]), groupSize: groupSizeOf(q, ["group_size", "q_group_size"]), zeroPoint: q.zero_point !== false };
    case "fp8": {
      const b = q.weight_block_size;
      if (b === undefined || b === null) return { method };
      if (!Array.isArray(b) || b.length !== 2 || !b.every((x) => typeof x === "number" && Number.isInteger(x) && x > 0)) {
        bad(`has weight_block_size ${JSON.stringify(b)}; expected [block_n, block_k] positive integers`);
      }
      return { method, block: [b[0], b[1]] };
    }
    case "compressed-tensors":
      return compressedTensorsScheme(q);
    case "modelopt": {
      const algo = q.quant_algo ?? (isObject(q.quantization) ? q.quantization.quant_algo : undefined);
      if (algo === "FP8") return { method: "fp8", producer: "modelopt", granularity: "tensor" };
      if (algo !== "NVFP4") bad(`is modelopt with quant_algo ${JSON.stringify(algo)}; gac reads modelopt NVFP4 and FP8 only`);
      return { method: "nvfp4", producer: "modelopt", groupSize: 16 };
    }
    case "mxfp4":
      return { method, groupSize: 32 };
    default:
      bad(`has quant_method ${JSON.stringify(method)}; gac reads gptq, awq, fp8, compressed-tensors (nvfp4, float-quantized FP8, pack-quantized int4), modelopt (NVFP4, FP8) and mxfp4`);
  }
}

const CT_FORMATS = "nvfp4-pack-quantized, float-quantized (FP8) and pack-quantized (int4)";

/**
 * compressed-tensors: one format for the checkpoint (the top-level "format", else the one format
 * of its config groups), and one set of weight arguments (every group the same): gac reads one
 * scheme per checkpoint, as for every other method.
 */
function compressedTensorsScheme(q: Record<string, unknown>): QuantScheme {
  const groups = isObject(q.config_groups) ? Object.values(q.config_groups).filter(isObject) : [];
  if (q.format === "nvfp4-pack-quantized" || groups.some((g) => g.format === "nvfp4-pack-quantized" || isNvfp4Weights(g.weights))) {
    return { method: "nvfp4", producer: "compressed-tensors", groupSize: 16 };
  }
  const formats = [...new Set(groups.map((g) => g.format ?? q.format))];
  const format = typeof q.format === "string" && q.format !== "mixed-precision" ? q.format : formats.length === 1 ? formats[0] : q.format;
  if (format !== "float-quantized" && format !== "pack-quantized") {
    bad(
      `is compressed-tensors in format ${JSON.stringify(format)}${formats.length > 1 ? ` (groups in ${formats.map((f) => JSON.stringify(f)).join(", ")})` : ""}; gac reads its ${CT_FORMATS} formats, one per checkpoint`,
    );
  }
  const args = [...new Set(groups.map((g) => JSON.stringify(g.weights ?? null)))];
  if (args.length !== 1)
    bad(`is compressed-tensors ${format} with ${args.length === 0 ? "no config_groups" : `${args.length} different weight schemes in its config_groups`}; gac reads one weight scheme per checkpoint`);
  const w = JSON.parse(args[0]) as unknown;
  if (!isObject(w)) bad(`is compressed-tensors ${format} with no weights arguments in its config group`);
  const strategy = w.strategy;
  if (format === "float-quantized") {
    if (w.type !== "float" || w.num_bits !== 8) bad(`is compressed-tensors float-quantized with weights ${w.type} ${w.num_bits} bits; gac reads FP8 (type "float", num_bits 8) only`);
    if (strategy === "tensor" || strategy === "channel") return { method: "fp8", producer: "compressed-tensors", granularity: strategy };
    if (strategy === "block") {
      const b = w.block_structure;
      if (!Array.isArray(b) || b.length !== 2 || !b.every((x) => typeof x === "number" && Number.isInteger(x) && x > 0)) {
        bad(`has block_structure ${JSON.stringify(b)}; expected [block_n, block_k] positive integers`);
      }
      return { method: "fp8", producer: "compressed-tensors", block: [b[0], b[1]] };
    }
    bad(`is compressed-tensors float-quantized with strategy ${JSON.stringify(strategy)}; gac reads FP8 weights per "tensor", "channel" or "block"`);
  }
  if (w.type !== "int" || w.num_bits !== 4) bad(`is compressed-tensors pack-quantized with weights ${w.type} ${w.num_bits} bits; gac reads int4 (type "int", num_bits 4) only`);
  // actorder "group" / "dynamic" (or true) stores weight_g_idx, a permutation gac does not read for this format.
  if (w.actorder === "group" || w.actorder === "dynamic" || w.actorder === true) {
    bad(`is compressed-tensors pack-quantized with actorder ${JSON.stringify(w.actorder)}, which stores weight_g_idx; gac reads actorder null or "weight" only`);
  }
  const sym = w.symmetric !== false;
  if (strategy === "channel") return { method: "pack-quantized", bits: 4, groupSize: -1, sym };
  if (strategy !== "group") bad(`is compressed-tensors pack-quantized with strategy ${JSON.stringify(strategy)}; gac reads "group" and "channel"`);
  const g = w.group_size;
  if (typeof g !== "number" || !Number.isInteger(g) || g <= 0) bad(`has group_size ${JSON.stringify(g)} for strategy "group"; a group size is a positive integer`);
  return { method: "pack-quantized", bits: 4, groupSize: g, sym };
}

function isNvfp4Weights(w: unknown): boolean {
  return isObject(w) && w.num_bits === 4 && w.type === "float" && w.group_size === 16;
}

/** One line for messages and the scan: "gptq int4 g128 (desc_act)", "fp8 e4m3 block 128x128", ... */
export function describeScheme(s: QuantScheme): string {
  switch (s.method) {
    case "gptq":
      return `gptq int4 g${s.groupSize}${s.descAct ? " desc_act" : ""}${s.sym ? "" : " asym"}`;
    case "awq":
      return `awq int4 g${s.groupSize}`;
    case "fp8": {
      const by = s.producer ? ` (${s.producer})` : "";
      return s.block ? `fp8 e4m3 block ${s.block[0]}x${s.block[1]}${by}` : `fp8 e4m3 ${s.granularity ? `per-${s.granularity}` : "per-tensor/channel"}${by}`;
    }
    case "pack-quantized":
      return `int4 ${s.groupSize === -1 ? "per-channel" : `g${s.groupSize}`}${s.sym ? "" : " asym"} (compressed-tensors pack-quantized)`;
    case "nvfp4":
      return `nvfp4 (${s.producer})`;
    case "mxfp4":
      return "mxfp4 (e2m1, e8m0 per 32)";
  }
}

/** The quantization_config a checkpoint in `s` carries (what readQuantScheme reads back). */
export function schemeConfig(s: QuantScheme): Record<string, unknown> {
  switch (s.method) {
    case "gptq":
      return { quant_method: "gptq", bits: s.bits, group_size: s.groupSize, desc_act: s.descAct, sym: s.sym, checkpoint_format: "gptq" };
    case "awq":
      return { quant_method: "awq", bits: s.bits, group_size: s.groupSize, zero_point: s.zeroPoint, version: "gemm" };
    case "fp8":
      if (s.producer === "modelopt") return { quant_method: "modelopt", quant_algo: "FP8" };
      if (s.producer === "compressed-tensors") {
        const weights = s.block
          ? { num_bits: 8, type: "float", symmetric: true, strategy: "block", block_structure: [...s.block] }
          : { num_bits: 8, type: "float", symmetric: true, strategy: s.granularity ?? "tensor" };
        return compressedTensorsConfig("float-quantized", weights);
      }
      return s.block ? { quant_method: "fp8", activation_scheme: "dynamic", weight_block_size: [...s.block] } : { quant_method: "fp8", activation_scheme: "dynamic" };
    case "pack-quantized":
      return compressedTensorsConfig("pack-quantized", {
        num_bits: 4,
        type: "int",
        symmetric: s.sym,
        ...(s.groupSize === -1 ? { strategy: "channel" } : { strategy: "group", group_size: s.groupSize }),
        actorder: null,
      });
    case "mxfp4":
      return { quant_method: "mxfp4", modules_to_not_convert: [] };
    case "nvfp4":
      return s.producer === "modelopt"
        ? { quant_method: "modelopt", quant_algo: "NVFP4", group_size: 16 }
        : {
            quant_method: "compressed-tensors",
            format: "nvfp4-pack-quantized",
            config_groups: { group_0: { format: "nvfp4-pack-quantized", weights: { num_bits: 4, type: "float", group_size: 16, strategy: "tensor_group" }, targets: ["Linear"] } },
          };
  }
}

/** A compressed-tensors quantization_config with one config group over every Linear but lm_head. */
function compressedTensorsConfig(format: string, weights: Record<string, unknown>): Record<string, unknown> {
  return {
    quant_method: "compressed-tensors",
    format,
    quantization_status: "compressed",
    ignore: ["lm_head"],
    config_groups: { group_0: { format, targets: ["Linear"], weights, input_activations: null, output_activations: null } },
  };
}
