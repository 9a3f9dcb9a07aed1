/** The `quantization` field of a scan call: how the weight a GEMM multiplies by is stored. */
import type { ModelQuantization } from "./quantized-layout.js";

export interface CallQuantization {
  /** gptq, awq, fp8 (fp8, compressed-tensors float-quantized, modelopt FP8), pack-quantized (compressed-tensors int4), nvfp4 (compressed-tensors and modelopt NVFP4) or mxfp4. */
  method: string;
  /** One line, e.g. "gptq int4 g128", "fp8 e4m3 block 128x128". */
  scheme: string;
  /** Input channels per scale (group size, block_k, 16); null for per-tensor/channel FP8. */
  group_k: number | null;
  /** Output channels per scale (FP8 block_n); null otherwise. */
  group_n: number | null;
  /** The stored tensors, by role (qweight, scales, qzeros, g_idx, weight, weight_scale_inv, weight_packed, weight_zero_point, weight_shape, ...). */
  tensors: Record<string, string>;
}

export function callQuantization(q: ModelQuantization | undefined, tensor: string): CallQuantization | undefined {
  const w = q?.weights.get(tensor);
  if (q === undefined || w === undefined) return undefined;
  return { method: w.method, scheme: q.description, group_k: w.groupK ?? null, group_n: w.groupN ?? null, tensors: { ...w.tensors } };
}
