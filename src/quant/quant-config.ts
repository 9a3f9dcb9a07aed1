/**
 * config.json `quantization_config` -> the scheme its weights are stored in. Pure. Only the fields
 * that decide the stored layout are read; the rest (damp_percent, calibration, ...) do not matter.
 *
 *   gptq                bits, group_size (-1: one group per column), desc_act, sym
 *                       (AutoGPTQ/GPTQModel; transformers GPTQConfig)
 *   awq                 bits ("w_bit" in older AutoAWQ), group_size ("q_group_size"), zero_point
 *   fp8                 weight_block_size [bn, bk] (DeepSeek-V3 / transformers FineGrainedFP8Config),
 *                       absent: per-tensor or per-channel weight_scale (vLLM Fp8Config)
 *   compressed-tensors  a config group whose format is "nvfp4-pack-quantized", or weights
 *                       { num_bits 4, type "float", group_size 16 }
 *   modelopt            quant_algo "NVFP4" (top level or under "quantization")
 *   mxfp4               OCP MX FP4 as transformers' gpt-oss stores it (integrations/mxfp4.py):
 *                       E2M1 values and one E8M0 scale per 32; nothing else to read
 */
import { GacError } from "../errors.js";

export type QuantScheme =
  | { method: "gptq"; bits: 4; groupSize: number; descAct: boolean; sym: boolean }
  | { method: "awq"; bits: 4; groupSize: number; zeroPoint: boolean }
  | { method: "fp8"; block?: [number, number] }
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
    case "compressed-tensors": {
      const groups = isObject(q.config_groups) ? Object.values(q.config_groups).filter(isObject) : [];
      const nvfp4 = q.format === "nvfp4-pack-quantized" || groups.some((g) => g.format === "nvfp4-pack-quantized" || isNvfp4Weights(g.weights));
      if (!nvfp4) bad(`is compressed-tensors in format ${JSON.stringify(q.format)}; gac reads its nvfp4-pack-quantized format only`);
      return { method: "nvfp4", producer: "compressed-tensors", groupSize: 16 };
    }
    case "modelopt": {
      const algo = q.quant_algo ?? (isObject(q.quantization) ? q.quantization.quant_algo : undefined);
      if (algo !== "NVFP4") bad(`is modelopt with quant_algo ${JSON.stringify(algo)}; gac reads modelopt NVFP4 only`);
      return { method: "nvfp4", producer: "modelopt", groupSize: 16 };
    }
    case "mxfp4":
      return { method, groupSize: 32 };
    default:
      bad(`has quant_method ${JSON.stringify(method)}; gac reads gptq, awq, fp8, compressed-tensors (nvfp4), modelopt (NVFP4) and mxfp4`);
  }
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
    case "fp8":
      return s.block ? `fp8 e4m3 block ${s.block[0]}x${s.block[1]}` : "fp8 e4m3 per-tensor/channel";
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
      return s.block ? { quant_method: "fp8", activation_scheme: "dynamic", weight_block_size: [...s.block] } : { quant_method: "fp8", activation_scheme: "dynamic" };
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
