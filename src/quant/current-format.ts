/** Which of the contract's formats (formats.ts) a quantized checkpoint is stored in, if any. */
import type { QuantFormatId } from "./formats.js";
import type { QuantScheme } from "./quant-config.js";

export function currentFormat(s: QuantScheme): QuantFormatId | null {
  switch (s.method) {
    case "gptq":
      return s.groupSize === 128 ? "gptq-int4-g128" : null;
    case "awq":
      return s.groupSize === 128 ? "awq-int4-g128" : null;
    // vLLM serves compressed-tensors W4A16 with the GPTQ Marlin/Machete kernels (CompressedTensorsWNA16:
    // verify_marlin_supports_shape, gptq_marlin_repack of weight_packed transposed), so GPTQ's rules apply.
    case "pack-quantized":
      return s.groupSize === 128 ? "gptq-int4-g128" : null;
    case "fp8":
      return s.block === undefined ? "fp8-tensor" : s.block[0] === 128 && s.block[1] === 128 ? "fp8-block128" : null;
    case "nvfp4":
      return "nvfp4";
    case "mxfp4":
      return "mxfp4";
  }
}
