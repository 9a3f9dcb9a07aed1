/** Small shared helpers for the rule files: dtype widths, rounding, and how a call's head dims read in a message. */
import { DTYPES, type Dtype } from "../../checkpoint/types.js";
import type { AttentionCall } from "../../graph/types.js";
import type { Cost } from "../types.js";

/** fp16/bf16: the dtypes every fused attention kernel here is built for. */
export function isHalf(dtype: Dtype): boolean {
  return dtype === "F16" || dtype === "BF16";
}

export function isFp8(dtype: Dtype): boolean {
  return dtype === "F8_E4M3" || dtype === "F8_E5M2";
}

/** Elements per 16 bytes: the vector width every 128-bit load / TMA rule in this contract is about (8 for fp16). */
export function elementsPer16Bytes(dtype: Dtype): number {
  return 16 / DTYPES[dtype].bytes;
}

export function roundUp(value: number, to: number): number {
  return Math.ceil(value / to) * to;
}

export function nextPow2(value: number): number {
  let p = 1;
  while (p < value) p *= 2;
  return p;
}

/** Smallest compiled size >= value (a template bucket), or undefined above the largest. */
export function bucket(value: number, sizes: readonly number[]): number | undefined {
  return sizes.find((s) => s >= value);
}

/** "head_dim 107", or "head_dim 192/128" when q/k and v differ. */
export function headDimText(call: AttentionCall): string {
  return call.headDimQk === call.headDimV ? `head_dim ${call.headDimQk}` : `head_dim ${call.headDimQk}/${call.headDimV}`;
}

/** The alignment rejection most kernels give, with the value in it. */
export function notMultipleOf(call: AttentionCall, multiple: number): string | null {
  if (call.headDimQk % multiple === 0 && call.headDimV % multiple === 0) return null;
  return `${headDimText(call)} is not a multiple of ${multiple}`;
}

/**
 * FA2's cost, shared by flash-attn called directly and PyTorch's vendored copy: q/k/v are padded to
 * a multiple of 8 and the padded size runs the smallest compiled template that fits. `howPadded`
 * says how that caller pads (the copies it makes), for the reason text.
 */
export function fa2Cost(call: AttentionCall, templates: readonly number[], howPadded: (d: number, padded: number) => string): Cost {
  const d = call.headDimQk;
  const padded = roundUp(d, 8);
  const template = bucket(padded, templates) ?? padded;
  if (padded !== d) {
    return {
      verdict: "slow",
      kernel: `FA2 (padded ${d}->${padded}, hdim${template} template)`,
      reason: `${howPadded(d, padded)} and runs the hdim${template} template`,
    };
  }
  return { verdict: "fast", kernel: `FA2 hdim${template} template`, reason: template === d ? "" : `head_dim ${d} runs the hdim${template} template` };
}

/** Whether q/k and v share one head dim that is among a kernel's compiled sizes (MMHA, FlashInfer, llama.cpp FA). */
export function isCompiledHeadDim(call: AttentionCall, sizes: readonly number[]): boolean {
  return call.headDimQk === call.headDimV && sizes.includes(call.headDimQk);
}
