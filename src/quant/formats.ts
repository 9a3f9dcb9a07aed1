/**
 * Quantization formats and the kernels that serve them, as contract data: for one GEMM weight
 * [N = out, K = in], which sizes each format and kernel need divisible by what, and what happens
 * otherwise. Every rule names its source. A format's own layout rules (packing, scale blocks)
 * hold for every runtime; a kernel's rules hold where that kernel is the one chosen.
 */

export type QuantFormatId = "gptq-int4-g128" | "awq-int4-g128" | "fp8-tensor" | "fp8-block128" | "nvfp4" | "mxfp4";

/** What a runtime does with a layer whose shape a rule rejects. */
export type QuantOutcome =
  | "refused" // the checkpoint cannot be written or loaded in this format at this shape
  | "fallback-kernel" // a slower kernel serves it
  | "unquantized"; // tools keep the layer in 16 bits

export interface QuantRule {
  /** Which axis of the weight [N, K] the rule constrains. */
  axis: "N" | "K";
  multiple: number;
  /** "format": the layout itself (packing, scale groups); "kernel": the serving kernel. */
  kind: "format" | "kernel";
  why: string;
  outcome: QuantOutcome;
  source: string;
}

export interface QuantFormat {
  id: QuantFormatId;
  name: string;
  /** GPUs whose tensor cores run it natively (others dequantize or refuse). */
  hardware: string;
  rules: QuantRule[];
}

const MARLIN =
  "vllm-project/vllm vllm/model_executor/layers/quantization/utils/marlin_utils.py (GPTQ_MARLIN_MIN_THREAD_N = 64, GPTQ_MARLIN_MIN_THREAD_K = 128, MARLIN_SUPPORTED_GROUP_SIZES = [-1, 32, 64, 128])";
const MP_KERNELS =
  "vllm-project/vllm vllm/model_executor/layers/quantization/kernels/mixed_precision/__init__.py (choose_mp_linear_kernel: the first kernel in priority order that can implement the layer, else an error at load)";
const CUBLAS_FP8 = "NVIDIA cuBLAS docs §2.1.11 (cublasLt FP8: leading dimensions and pointers 16-byte aligned, required), via research/kernel_constraints.md";
const OCP_MX = "OCP Microscaling Formats (MX) v1.0 §5 (MXFP4: E2M1 elements, one E8M0 scale per block of 32)";
const NVFP4 = "NVIDIA NVFP4 (Blackwell): E2M1 elements, one E4M3 scale per 16 elements plus a per-tensor FP32 scale; compressed-tensors nvfp4 layout weight_packed [N, K/2], weight_scale [N, K/16]";

export const QUANT_FORMATS: readonly QuantFormat[] = [
  {
    id: "gptq-int4-g128",
    // Also compressed-tensors pack-quantized int4 g128 (W4A16): vLLM serves it with the same Marlin/Machete
    // kernels (compressed_tensors_wNa16.py CompressedTensorsWNA16), weight_packed [N, K/8] packed along K.
    name: "GPTQ int4, group 128 (vLLM Marlin)",
    hardware: "sm80+ (Marlin), sm90 (Machete)",
    rules: [
      {
        axis: "K",
        multiple: 8,
        kind: "format",
        why: "qweight packs 8 int4 values per int32 along K ([K/8, N])",
        outcome: "refused",
        source: "AutoGPTQ/GPTQModel packing (qweight [in/8, out] int32); compressed-tensors pack_quantized.py pack_to_int32 (weight_packed [out, in/8])",
      },
      {
        axis: "N",
        multiple: 8,
        kind: "format",
        why: "qzeros pack 8 zero-points per int32 along N ([K/g, N/8])",
        outcome: "refused",
        source: "AutoGPTQ/GPTQModel packing (qzeros [in/g, out/8] int32)",
      },
      { axis: "K", multiple: 128, kind: "format", why: "one scale per group of 128 input channels ([K/128, N])", outcome: "refused", source: MARLIN },
      { axis: "N", multiple: 64, kind: "kernel", why: "Marlin's thread block covers 64 output columns", outcome: "fallback-kernel", source: `${MARLIN}; ${MP_KERNELS}` },
      { axis: "K", multiple: 128, kind: "kernel", why: "Marlin's thread block covers 128 input rows", outcome: "fallback-kernel", source: MARLIN },
    ],
  },
  {
    id: "awq-int4-g128",
    name: "AWQ int4, group 128 (vLLM AWQ-Marlin)",
    hardware: "sm80+",
    rules: [
      {
        axis: "N",
        multiple: 8,
        kind: "format",
        why: "qweight packs 8 int4 values per int32 along N ([K, N/8])",
        outcome: "refused",
        source: "casper-hansen/AutoAWQ packing (qweight [in, out/8] int32)",
      },
      { axis: "K", multiple: 128, kind: "format", why: "one scale and zero-point per group of 128 input channels", outcome: "refused", source: "AutoAWQ (q_group_size 128)" },
      { axis: "N", multiple: 64, kind: "kernel", why: "Marlin's thread block covers 64 output columns", outcome: "fallback-kernel", source: MARLIN },
      { axis: "K", multiple: 128, kind: "kernel", why: "Marlin's thread block covers 128 input rows", outcome: "fallback-kernel", source: MARLIN },
    ],
  },
  {
    id: "fp8-tensor",
    name: "FP8 E4M3, per-tensor or per-channel scales (cuBLASLt / CUTLASS scaled_mm)",
    hardware: "sm89, sm90, sm100",
    rules: [
      { axis: "K", multiple: 16, kind: "kernel", why: "FP8 operands need 16-byte aligned rows (16 elements)", outcome: "refused", source: CUBLAS_FP8 },
      { axis: "N", multiple: 16, kind: "kernel", why: "FP8 operands need 16-byte aligned rows (16 elements)", outcome: "refused", source: CUBLAS_FP8 },
    ],
  },
  {
    id: "fp8-block128",
    name: "FP8 E4M3, 128x128 block scales (DeepSeek-V3 style, weight_block_size [128, 128])",
    hardware: "sm90, sm100",
    rules: [
      { axis: "K", multiple: 16, kind: "kernel", why: "FP8 operands need 16-byte aligned rows", outcome: "refused", source: CUBLAS_FP8 },
      { axis: "N", multiple: 16, kind: "kernel", why: "FP8 operands need 16-byte aligned rows", outcome: "refused", source: CUBLAS_FP8 },
      {
        axis: "K",
        multiple: 128,
        kind: "format",
        why: "a partial last scale block: vLLM checks each tensor-parallel partition against the block size",
        outcome: "refused",
        source: "vllm-project/vllm vllm/model_executor/layers/quantization/utils/fp8_utils.py (validate_fp8_block_shape) and fp8.py (Fp8LinearMethod.create_weights)",
      },
      {
        axis: "N",
        multiple: 128,
        kind: "format",
        why: "a partial last scale block: vLLM checks each tensor-parallel partition against the block size",
        outcome: "refused",
        source: "vllm-project/vllm vllm/model_executor/layers/quantization/utils/fp8_utils.py (validate_fp8_block_shape)",
      },
    ],
  },
  {
    id: "nvfp4",
    name: "NVFP4 (E2M1, E4M3 scale per 16)",
    hardware: "sm100 (Blackwell)",
    rules: [
      { axis: "K", multiple: 16, kind: "format", why: "one E4M3 scale per 16 consecutive input channels", outcome: "refused", source: NVFP4 },
      {
        axis: "K",
        multiple: 32,
        kind: "kernel",
        why: "16-byte aligned rows of packed E2M1 (32 values)",
        outcome: "refused",
        source: "CUTLASS sm100 block-scaled GEMM operand alignment (128 bits); derived from the 16-byte rule, not measured here",
      },
    ],
  },
  {
    id: "mxfp4",
    name: "MXFP4 (E2M1, E8M0 scale per 32)",
    hardware: "sm100 (Blackwell)",
    rules: [{ axis: "K", multiple: 32, kind: "format", why: "one E8M0 scale per block of 32 input channels", outcome: "refused", source: OCP_MX }],
  },
];

export function quantFormat(id: QuantFormatId): QuantFormat {
  const f = QUANT_FORMATS.find((q) => q.id === id);
  if (!f) throw new Error(`unknown quantization format ${id}`);
  return f;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
export const lcm = (a: number, b: number): number => (a / gcd(a, b)) * b;

/** The least multiple that satisfies every rule of `format` on `axis` (1 when none applies). */
export function axisMultiple(format: QuantFormat, axis: "N" | "K"): number {
  return format.rules.filter((r) => r.axis === axis).reduce((m, r) => lcm(m, r.multiple), 1);
}
