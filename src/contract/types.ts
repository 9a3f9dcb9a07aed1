/**
 * A shape contract: per runtime and GPU generation, what each kernel family accepts, where it
 * leaves its fast path, and where it refuses. Rules are data and cite the source file they come from.
 */
export type VerdictKind = "fast" | "slow" | "refused";

export interface Verdict {
  verdict: VerdictKind;
  /** The kernel (or backend) that runs, e.g. "cuDNN SDPA sm90", "FA2 (padded 107->112, hdim128 template)". */
  kernel: string;
  /** Why this verdict, in one sentence with the numbers. Empty for a plain fast path. */
  reason: string;
  /** Where the rule comes from: "pytorch aten/src/ATen/native/transformers/cuda/sdp_utils.cpp check_cudnn_tensor_shapes". */
  source: string;
}
