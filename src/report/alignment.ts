/**
 * The three alignment classes every figure distinguishes. 16 is the FP16 Tensor Core tile edge and
 * 8 the float4 (8 x fp16 = 16 bytes) vector load; the seeds' staircase steps at both.
 */
export type AlignmentClass = "16-aligned" | "8-aligned" | "misaligned";

export const ALIGNMENT_CLASSES: readonly AlignmentClass[] = ["16-aligned", "8-aligned", "misaligned"];

export function alignmentClass(value: number): AlignmentClass {
  if (value % 16 === 0) return "16-aligned";
  if (value % 8 === 0) return "8-aligned";
  return "misaligned";
}

/** Smallest multiple of `to` that is >= value (107, 8 -> 112). */
export function roundUp(value: number, to: number): number {
  return Math.ceil(value / to) * to;
}
