/**
 * Tensor-parallel divisibility rules: what vLLM and TensorRT-LLM accept when they split a
 * Llama-family layer over `tp` GPUs, and how they pad the vocabulary. Rules are data and cite
 * the file (and its URL) they were read from; graph/shard-spec.ts applies them.
 *
 * Both runtimes shard the Megatron way (q/k/v/gate/up column-parallel: output rows split; o/down
 * row-parallel: input columns split, outputs all-reduced), so the layout is shared; the rules
 * differ only in where they are enforced and in vocabulary padding.
 *
 * Each check returns null when the size splits, else the reason in one sentence with the numbers.
 */
import { GacError } from "../../errors.js";
import type { RuntimeId } from "../types.js";

export interface TpSource {
  /** File and function, as the other rule files cite them. */
  file: string;
  url: string;
}

export interface TensorParallelRule {
  /** The runtime whose code the rules come from. */
  runtime: "vllm" | "tensorrt-llm";
  summary: string;
  /** q heads over tp ranks. */
  heads(heads: number, tp: number): string | null;
  /** kv heads: split when kv >= tp, replicated (tp / kv copies) when kv < tp. */
  kvHeads(kv: number, tp: number): string | null;
  /** A column-parallel output width (gate/up rows = MLP intermediate). */
  columnParallel(out: number, tp: number, what: string): string | null;
  /** A row-parallel input width (down columns = MLP intermediate, o columns = heads x head_dim). */
  rowParallel(inputs: number, tp: number, what: string): string | null;
  /** The lm_head rows in all, padded as the runtime pads them before splitting, and why they do not split (or null). */
  vocab(vocab: number, tp: number): { padded: number; refusal: string | null };
  sources: {
    heads: TpSource;
    kvHeads: TpSource;
    columnParallel: TpSource;
    rowParallel: TpSource;
    vocab: TpSource;
  };
}

const VLLM_LINEAR: TpSource = {
  file: "vllm/model_executor/layers/linear.py",
  url: "https://github.com/vllm-project/vllm/blob/main/vllm/model_executor/layers/linear.py",
};

/** vLLM's DEFAULT_VOCAB_PADDING_SIZE: ParallelLMHead pads the vocabulary to a multiple of 64 before splitting it. */
export const VLLM_VOCAB_PADDING = 64;

function roundUp(value: number, to: number): number {
  return Math.ceil(value / to) * to;
}

function kvRule(kv: number, tp: number, who: string): string | null {
  if (kv >= tp) return kv % tp === 0 ? null : `${kv} kv heads do not split over TP ${tp} (${who})`;
  return tp % kv === 0 ? null : `TP ${tp} is not a multiple of ${kv} kv heads, so they cannot be replicated evenly (${who})`;
}

export const VLLM_TP: TensorParallelRule = {
  runtime: "vllm",
  summary: "vLLM: QKVParallelLinear / MergedColumnParallelLinear / RowParallelLinear, divide() asserts every split; ParallelLMHead pads the vocabulary to 64",
  heads: (heads, tp) => (heads % tp === 0 ? null : `${heads} attention heads do not split over TP ${tp} (QKVParallelLinear: divide(total_num_heads, tp_size) asserts)`),
  kvHeads: (kv, tp) =>
    kvRule(kv, tp, kv >= tp ? "QKVParallelLinear: divide(total_num_kv_heads, tp_size) asserts" : "QKVParallelLinear: num_kv_head_replicas = divide(tp_size, total_num_kv_heads) asserts"),
  columnParallel: (out, tp, what) => (out % tp === 0 ? null : `${what} ${out} does not split over TP ${tp} (MergedColumnParallelLinear asserts output_size % tp_size == 0)`),
  rowParallel: (inputs, tp, what) => (inputs % tp === 0 ? null : `${what} ${inputs} does not split over TP ${tp} (RowParallelLinear: divide(input_size, tp_size) asserts)`),
  vocab(vocab, tp) {
    const padded = roundUp(vocab, VLLM_VOCAB_PADDING);
    return { padded, refusal: padded % tp === 0 ? null : `vocab ${vocab} padded to ${padded} does not split over TP ${tp} (vocab_range_from_global_vocab_size: divide asserts)` };
  },
  sources: {
    heads: { file: `${VLLM_LINEAR.file} QKVParallelLinear.__init__ (num_heads = divide(total_num_heads, tp_size))`, url: VLLM_LINEAR.url },
    kvHeads: {
      file: `${VLLM_LINEAR.file} QKVParallelLinear.__init__ (tp_size >= total_num_kv_heads: 1 kv head per rank, num_kv_head_replicas = divide(tp_size, total_num_kv_heads))`,
      url: VLLM_LINEAR.url,
    },
    columnParallel: {
      file: `${VLLM_LINEAR.file} ColumnParallelLinear.__init__ (divide(output_size, tp_size)), MergedColumnParallelLinear.__init__ (assert output_size % tp_size == 0)`,
      url: VLLM_LINEAR.url,
    },
    rowParallel: { file: `${VLLM_LINEAR.file} RowParallelLinear.__init__ (input_size_per_partition = divide(input_size, tp_size))`, url: VLLM_LINEAR.url },
    vocab: {
      file: "vllm/model_executor/layers/vocab_parallel_embedding.py DEFAULT_VOCAB_PADDING_SIZE = 64, pad_vocab_size, vocab_range_from_global_vocab_size (divide)",
      url: "https://github.com/vllm-project/vllm/blob/main/vllm/model_executor/layers/vocab_parallel_embedding.py",
    },
  },
};

const TRT_RUNNER: TpSource = {
  file: "tensorrt_llm/runtime/model_runner.py ModelRunner.from_engine (num_heads // tp_size; num_kv_heads = (num_kv_heads + tp_size - 1) // tp_size)",
  url: "https://github.com/NVIDIA/TensorRT-LLM/blob/main/tensorrt_llm/runtime/model_runner.py",
};

const TRT_LINEAR: TpSource = {
  file: "tensorrt_llm/layers/linear.py Linear.__init__ (out_features // tp_size); tensorrt_llm/models/convert_utils.py split (torch.chunk: the last chunk is shorter when the size does not divide)",
  url: "https://github.com/NVIDIA/TensorRT-LLM/blob/main/tensorrt_llm/layers/linear.py",
};

export const TRTLLM_TP: TensorParallelRule = {
  runtime: "tensorrt-llm",
  summary: "TensorRT-LLM: ColumnLinear / RowLinear hold size // tp_size, the checkpoint converter splits with torch.chunk and duplicates kv heads when kv < tp; lm_head padded to a multiple of tp",
  heads: (heads, tp) => (heads % tp === 0 ? null : `${heads} attention heads do not split over TP ${tp} (the engine holds num_heads // tp_size heads per rank)`),
  kvHeads: (kv, tp) => kvRule(kv, tp, kv >= tp ? "convert_checkpoint asserts k_weight rows % (tp_size * head_size) == 0" : "dup_kv_weight asserts tp_size % num_head == 0"),
  columnParallel: (out, tp, what) =>
    out % tp === 0
      ? null
      : `${what} ${out} does not split over TP ${tp} (ColumnLinear holds ${Math.floor(out / tp)} rows per rank, torch.chunk hands it ${Math.ceil(out / tp)}: the weights do not load)`,
  rowParallel: (inputs, tp, what) =>
    inputs % tp === 0
      ? null
      : `${what} ${inputs} does not split over TP ${tp} (RowLinear holds ${Math.floor(inputs / tp)} columns per rank, torch.chunk hands it ${Math.ceil(inputs / tp)}: the weights do not load)`,
  vocab: (vocab, tp) => ({ padded: roundUp(vocab, tp), refusal: null }),
  sources: {
    heads: TRT_RUNNER,
    kvHeads: {
      file: "tensorrt_llm/models/llama/convert.py (num_key_value_heads < tp_size: dup_kv_weight; assert k_weight.shape[0] % (tp_size * head_size) == 0); tensorrt_llm/models/convert_utils.py dup_kv_weight (assert tp_size % num_head == 0)",
      url: "https://github.com/NVIDIA/TensorRT-LLM/blob/main/tensorrt_llm/models/convert_utils.py",
    },
    columnParallel: TRT_LINEAR,
    rowParallel: TRT_LINEAR,
    vocab: {
      file: "tensorrt_llm/models/llama/convert.py (vocab_size % tp_size != 0: lm_head padded with zero rows to pad_vocab_size(vocab_size, tp_size))",
      url: "https://github.com/NVIDIA/TensorRT-LLM/blob/main/tensorrt_llm/models/llama/convert.py",
    },
  },
};

/**
 * How low-rank factor pairs and PaLU groups are split. Neither runtime loads ASVD, SVD-LLM or
 * PaLU checkpoints; gac shards them the way vLLM shards the low-rank pairs it does serve.
 */
export const LOW_RANK_SHARDING: TpSource = {
  file:
    "vllm/lora/layers/column_parallel_linear.py ColumnParallelLinearWithLoRA (lora_a not sliced: the first factor is replicated, lora_b split by output rows); " +
    "vllm/lora/layers/row_parallel_linear.py RowParallelLinearWithLoRA.slice_lora_a (first factor split by input columns, lora_b whole); " +
    "vllm/model_executor/models/deepseek_v2.py (q_a_proj ReplicatedLinear, q_b_proj ColumnParallelLinear)",
  url: "https://github.com/vllm-project/vllm/tree/main/vllm/lora/layers",
};

export interface TensorParallelChoice {
  rule: TensorParallelRule;
  /** Set when the runtime has no TP of its own and gac borrows vLLM's layout. */
  note?: string;
}

/**
 * The rule for a runtime. pytorch-sdpa and the flash-attn kernels are single-GPU kernels, so they
 * take vLLM's layout and rules (torch.distributed.tensor.parallel's ColwiseParallel/RowwiseParallel
 * split the same axes). llama.cpp splits whole layers or row blocks (--split-mode), not heads:
 * returns null.
 */
export function tensorParallelRule(runtime: RuntimeId): TensorParallelChoice | null {
  switch (runtime) {
    case "vllm":
      return { rule: VLLM_TP };
    case "tensorrt-llm":
      return { rule: TRTLLM_TP };
    case "pytorch-sdpa":
    case "flash-attn2":
    case "flash-attn3":
      return { rule: VLLM_TP, note: `${runtime} has no tensor parallelism of its own: per-GPU shapes as vLLM shards the model` };
    case "llama.cpp":
      return null;
  }
}

/** tensorParallelRule, or a one-line GacError for a runtime that has no head-wise TP (only asked for when tp > 1). */
export function requireTensorParallelRule(runtime: RuntimeId): TensorParallelChoice {
  const choice = tensorParallelRule(runtime);
  if (choice === null) {
    throw new GacError(
      "UNSUPPORTED",
      `${runtime} splits a model over GPUs by whole layers or row blocks (--split-mode), not by heads, so --tp has no per-GPU shapes to show; use --runtime vllm or tensorrt-llm`,
    );
  }
  return choice;
}
