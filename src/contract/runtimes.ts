/** Every runtime gac has a contract for, and the names `--runtime` accepts. */
import { GacError } from "../errors.js";
import type { RuntimeId, RuntimeRule } from "./types.js";
import { pytorchSdpa } from "./rules/pytorch-sdpa.js";
import { flashAttn2, flashAttn3 } from "./rules/flash-attn.js";
import { vllm } from "./rules/vllm.js";
import { tensorrtLlm } from "./rules/tensorrt-llm.js";
import { llamaCpp } from "./rules/llama-cpp.js";

export const RUNTIMES: Record<RuntimeId, RuntimeRule> = {
  "pytorch-sdpa": pytorchSdpa,
  "flash-attn2": flashAttn2,
  "flash-attn3": flashAttn3,
  vllm,
  "tensorrt-llm": tensorrtLlm,
  "llama.cpp": llamaCpp,
};

export const RUNTIME_IDS: readonly RuntimeId[] = ["pytorch-sdpa", "flash-attn2", "flash-attn3", "vllm", "tensorrt-llm", "llama.cpp"];

export const DEFAULT_RUNTIME: RuntimeId = "pytorch-sdpa";

/** "vLLM" -> "vllm"; GacError UNKNOWN_RUNTIME listing the valid ids otherwise. */
export function parseRuntime(name: string): RuntimeId {
  const key = name.trim().toLowerCase();
  const found = RUNTIME_IDS.find((id) => id === key);
  if (found) return found;
  throw new GacError("UNKNOWN_RUNTIME", `unknown runtime '${name}'; valid: ${RUNTIME_IDS.join(", ")}`);
}
