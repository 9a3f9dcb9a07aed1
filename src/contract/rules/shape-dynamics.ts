/**
 * Costs that depend on how shapes change between calls, not on one call's shapes: plan caches
 * keyed by a length that grows every step, recompiles per shape. The per-call contract
 * (judge.ts) cannot see them, and fixed-shape microbenchmarks hit the cache and never pay them.
 *
 * A rule looks at one kernel call of one phase, with how that call's shape evolves over the
 * phase's calls (decode with a growing cache: kv_len + 1 per step), and says what it costs and
 * what fixes it. The first rule, measured (research/end_to_end.md section 1, H200, torch 2.11,
 * cuDNN 9.19, transformers 5.17):
 *
 * cuDNN SDPA re-plans per KV length on sm90. PyTorch tries cuDNN first there
 * (sdp_utils.cpp check_prefer_cudnn_attention: cuDNN >= 9.9 on compute capability 9.0/10.0 unless
 * TORCH_CUDNN_SDPA_PREFERRED=0), and cuDNN keys its execution-graph cache by the full problem,
 * s_kv included (aten/src/ATen/native/cudnn/MHA.cpp: MHAParams.s_kv, setMHAParams,
 * MHAGraphCache), so every decode step with a dynamic cache (one key longer) builds a new graph:
 * ~9 ms of host time per aten::_cudnn_attention_forward against 8.5 µs on the GPU. Stock
 * transformers decode went from 6.7 (head_dim 106, not cuDNN-eligible) to 47.9 ms per step at
 * head_dim 112 after a repair; enable_cudnn_sdp(False) made the same repaired model 2.0x faster
 * than the unrepaired one. TORCH_CUDNN_SDPA_AVOID_RECOMPILE=1 (PyTorch PR #155958, MHA.cpp
 * use_ragged_in_dense: s_kv rounded up to a power of two, only for BSHD-contiguous q/k/v/o and no
 * bias) helped (75 -> 48 ms) but stayed 3-5x slower than the unrepaired model. MLX PR #2743 ("the
 * cuDNN graph is recreated whenever sequence length increases") and sglang PR #4650 (graph
 * build ~400 ms) describe the same cost in other runtimes.
 */
import type { AttentionCall, KernelCall } from "../../graph/types.js";
import { sdpaCudnn } from "./pytorch-sdpa.js";
import { judgeCall } from "../judge.js";
import type { GpuId, RuntimeId } from "../types.js";

/** How a phase's calls change shape from one call to the next. */
export type ShapeEvolution =
  /** Decode with a growing cache (transformers' DynamicCache, what generate() uses): kv_len + 1 per step. */
  | "kv-grows-per-step"
  /** Fixed shapes between calls: a static cache of fixed length, a CUDA graph replay. */
  | "fixed";

export interface DynamicCost {
  /** Stable id of the rule. */
  rule: string;
  /** What triggers it, in one sentence with the numbers. */
  trigger: string;
  /** What it costs, measured. */
  cost: string;
  /** What fixes it, each a flag or an engine choice. */
  fixes: string[];
  /** Files, functions and pull requests the rule is read from. */
  sources: string[];
}

export interface ShapeDynamicsRule {
  id: string;
  summary: string;
  /** The cost this call pays given how its shape evolves, or null. */
  applies(call: KernelCall, runtime: RuntimeId, gpu: GpuId, evolution: ShapeEvolution): DynamicCost | null;
}

export const CUDNN_REPLAN_SOURCES = [
  "pytorch aten/src/ATen/native/transformers/cuda/sdp_utils.cpp check_prefer_cudnn_attention, priority_order",
  "pytorch aten/src/ATen/native/cudnn/MHA.cpp MHAParams (s_q, s_kv in the graph cache key), setMHAParams, MHAGraphCache, use_ragged_in_dense",
  "pytorch/pytorch PR #155958 (TORCH_CUDNN_SDPA_AVOID_RECOMPILE)",
  "ml-explore/mlx PR #2743 (cuDNN graph recreated whenever the sequence length increases)",
  "sgl-project/sglang PR #4650 (cuDNN graph build ~400 ms)",
  "research/end_to_end.md section 1 (H200 measurements)",
];

export const CUDNN_REPLAN_FIXES = [
  "torch.backends.cuda.enable_cudnn_sdp(False) before decoding (measured: the repaired model 2.0x faster than unrepaired instead of 3-6x slower; the dense Llama-3-8B's stock-transformers decode step 56.2 ms with cuDNN, 24.6 ms without, results/20261202T055814Z-e2e)",
  'a static KV cache (transformers StaticCache / cache_implementation="static"): the KV length no longer changes per step',
  "a CUDA-graph decode engine (vLLM, TensorRT-LLM, SGLang, gac's graph engine): shapes fixed at capture; with a split-KV decode attention rather than cuDNN's, which tiles only the query axis (measured, H200, Llama-3-8B at batch 1 and 4096 tokens: 8.46 ms per step with SDPA under a mask, 6.63 ms with gac's split-KV attention, results/20261202T055814Z-e2e)",
];

/** GPUs where the re-plan was measured and PyTorch puts cuDNN first (sm100 also prefers cuDNN, but was not measured). */
const REPLAN_GPUS: readonly GpuId[] = ["sm90"];

const CUDNN_REPLAN_ID = "cudnn-sdpa-replan-per-kv-length";

export const cudnnSdpaReplan: ShapeDynamicsRule = {
  id: CUDNN_REPLAN_ID,
  summary: "cuDNN SDPA builds a new execution plan for every new KV length (decode with a growing cache, sm90)",
  applies(call, runtime, gpu, evolution) {
    if (call.kind !== "attention" || call.phase !== "decode" || evolution !== "kv-grows-per-step") return null;
    if (runtime !== "pytorch-sdpa" || !REPLAN_GPUS.includes(gpu)) return null;
    const verdict = judgeCall(call, runtime, gpu);
    if (!verdict.kernel.startsWith("cuDNN")) return null;
    return {
      rule: CUDNN_REPLAN_ID,
      trigger: `${describe(call)} runs cuDNN SDPA on ${gpu} (PyTorch's first choice there), and a growing cache changes kv_len every step, so cuDNN builds a new plan every step`,
      cost: "~9 ms of host time per cuDNN attention call against ~9 µs on the GPU: stock transformers decode of Llama-3-8B shapes went from 6.7 ms (head_dim 106, not cuDNN-eligible) to 47.9 ms per step at head_dim 112 (H200)",
      fixes: CUDNN_REPLAN_FIXES,
      sources: [sdpaCudnn.source, ...CUDNN_REPLAN_SOURCES],
    };
  },
};

function describe(call: AttentionCall): string {
  return `decode attention (head_dim ${call.headDimQk}, ${call.numHeads}/${call.numKvHeads} heads, kv_len ${call.kvLen})`;
}

export const SHAPE_DYNAMICS_RULES: readonly ShapeDynamicsRule[] = [cudnnSdpaReplan];
