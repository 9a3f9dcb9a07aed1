/**
 * llama.cpp's quantization block rule: a ggml quantized type packs each row (ne[0], the
 * contiguous dim) in blocks, so a tensor takes the type only when its row length is a multiple of
 * the block. ggml `ggml-common.h`: QK_K = 256 for the k-quants and i-quants, QK4_0 = QK8_0 = 32
 * for the legacy types. When a row does not divide, llama.cpp's quantizer (src/llama-quant.cpp)
 * falls back: Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0, the other 256-block types -> IQ4_NL, and
 * to F16 when the row is not a multiple of 32 either: bigger files and slower kernels.
 */

/** The quantized types users pick, by block size. */
export const QUANT_BLOCKS = {
  256: ["Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K", "IQ1_S", "IQ1_M", "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ3_XXS", "IQ3_S", "IQ4_XS", "TQ1_0", "TQ2_0"],
  32: ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "IQ4_NL", "MXFP4"],
} as const;

type BlockSize = keyof typeof QUANT_BLOCKS;
export const BLOCK_SIZES: readonly BlockSize[] = [256, 32];

/** Where llama.cpp puts a tensor whose row does not divide the block of the requested type. */
export const QUANT_FALLBACK: Readonly<Record<string, string>> = {
  Q4_K: "Q5_0",
  Q5_K: "Q5_1",
  Q6_K: "Q8_0",
  Q2_K: "IQ4_NL",
  Q3_K: "IQ4_NL",
  IQ4_XS: "IQ4_NL",
  IQ1_S: "IQ4_NL",
  IQ1_M: "IQ4_NL",
  IQ2_XXS: "IQ4_NL",
  IQ2_XS: "IQ4_NL",
  IQ2_S: "IQ4_NL",
  IQ3_XXS: "IQ4_NL",
  IQ3_S: "IQ4_NL",
};

export interface RowBlocks {
  /** Quantized types this row length cannot take, 256-block types first. */
  blocked: string[];
  /** For each block size the row misses: the next multiple (zero-pad the row to it). */
  padTo: Partial<Record<`${BlockSize}`, number>>;
}

export function rowBlocks(rowLength: number): RowBlocks {
  const blocked: string[] = [];
  const padTo: RowBlocks["padTo"] = {};
  for (const block of BLOCK_SIZES) {
    if (rowLength % block === 0) continue;
    blocked.push(...QUANT_BLOCKS[block]);
    padTo[`${block}`] = Math.ceil(rowLength / block) * block;
  }
  return { blocked, padTo };
}
