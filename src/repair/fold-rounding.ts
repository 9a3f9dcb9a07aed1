/**
 * What folding the softmax scale costs, said where the choice is made (plan, repair) and checked
 * (verify). Stock Llama, Mistral and Qwen2 loaders take the attention scale from head_dim only
 * (transformers' LlamaAttention: scaling = head_dim**-0.5; none of the three configs has a field for
 * it), so after padding d -> D the only stock-loadable way to keep d^-0.5 is to multiply q_proj by
 * sqrt(D/d), which rounds every q weight once to the storage grid unless the factor is a power of
 * two. Granite's `attention_multiplier` and Gemma2's `query_pre_attn_scalar` are such fields, in
 * other architectures (other model_type, other modules); `--scale logical` is the exact option:
 * weights only zero-padded, the runtime passes attention_scale from gac-repair.json.
 */
import type { Dtype } from "../checkpoint/types.js";
import type { TensorEdit } from "./tensor-edits.js";

/** Half the spacing of the storage grid relative to the value: the largest relative rounding of one weight. */
export const RELATIVE_ROUNDING: Partial<Record<Dtype, number>> = { F64: 2 ** -53, F32: 2 ** -24, F16: 2 ** -11, BF16: 2 ** -8 };

export interface FoldRounding {
  tensors: number;
  /** The distinct factors folded (one per head_dim change). */
  factors: number[];
  dtype: Dtype;
  /** True when every factor is a power of two: the products are exact, nothing rounds. */
  exact: boolean;
  relativeStep: number;
  /** True when the factor went into a quantized q's dequantization scales (the codes are unchanged; each scale rounds once). */
  intoScales: boolean;
}

function isPowerOfTwo(x: number): boolean {
  return x > 0 && Number.isInteger(Math.log2(x)) && 2 ** Math.log2(x) === x;
}

/** The folded-scale edits of a repair, summarized; undefined when nothing is folded. */
export function foldRounding(edits: readonly TensorEdit[]): FoldRounding | undefined {
  const folded = edits.filter((e) => e.scale !== undefined);
  if (folded.length === 0) return undefined;
  const factors = [...new Set(folded.map((e) => e.scale!))];
  const dtype = folded[0].dtype;
  const intoScales = folded.every((e) => !/\.(weight|bias)$/.test(e.tensor));
  return { tensors: folded.length, factors, dtype, exact: factors.every(isPowerOfTwo), relativeStep: RELATIVE_ROUNDING[dtype] ?? NaN, intoScales };
}

/** One line for plan and repair output. */
export function foldRoundingLine(f: FoldRounding): string {
  const xs = f.factors.map((x) => `x${x.toPrecision(7)}`).join(", ");
  if (f.exact) return `Softmax scale: ${f.tensors} q_proj tensors ${xs} (a power of two: the products are exact, nothing rounds).`;
  if (f.intoScales) {
    return (
      `Softmax scale: ${f.tensors} quantized q_proj scale tensors ${xs}, each dequantization scale rounded once to ${f.dtype} (relative error up to ${f.relativeStep.toExponential(1)} per scale; codes unchanged; ` +
      "gac verify shows what it does to the logits). For an exact repair use --scale logical (the runtime passes attention_scale from gac-repair.json)."
    );
  }
  return (
    `Softmax scale: ${f.tensors} q_proj tensors ${xs}, each weight rounded once to ${f.dtype} (relative error up to ${f.relativeStep.toExponential(1)} per weight; ` +
    "gac verify shows what it does to the logits). Llama/Mistral/Qwen2 configs have no attention-scale field a stock loader reads; " +
    "for bit-exact weights use --scale logical (the runtime passes attention_scale from gac-repair.json)."
  );
}
