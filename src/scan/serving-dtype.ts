/**
 * The dtype a scan judges and predicts every call at. Runtimes serve in half precision and profiles
 * hold fp16/bf16 tables only, so the stored dtype is not always what the kernels see: vLLM's
 * `--dtype auto` serves F32 and F16 checkpoints as F16 and BF16 ones as BF16, and gac follows that
 * rule. One dtype per model: a stray F32 tensor in a BF16 checkpoint is served as BF16 like the
 * rest, so verdicts and predicted times never mix precisions.
 */
import type { Dtype } from "../checkpoint/types.js";

export type ServingDtype = "F16" | "BF16";

export function servingDtype(modelDtype: Dtype): ServingDtype {
  return modelDtype === "BF16" ? "BF16" : "F16";
}
