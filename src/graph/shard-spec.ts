/**
 * Tensor-parallel sharding as a transformation of the ModelSpec: shardModelSpec(spec, tp, rank)
 * is the model one GPU holds, so buildKernelGraph, the contract, the profile and the planner see
 * per-GPU shapes through their one code path (DESIGN.md "Beyond one GPU").
 *
 * The layout vLLM and TensorRT-LLM give Llama-family layers (contract/rules/tensor-parallel.ts):
 *   q, k, v, gate, up   column-parallel: output rows split, each rank a contiguous block
 *                       (q: heads/tp heads; gate/up: intermediate/tp channels)
 *   o, down             row-parallel: input columns split the same way, outputs all-reduced
 *   k, v when kv < tp   one kv head per rank, each replicated on tp/kv ranks
 *   lm_head             vocabulary padded as the runtime pads it, then split by rows
 *   attention           heads/tp q heads and the rank's kv heads; head_dim unchanged
 * Low-rank pairs (ASVD, SVD-LLM) split like vLLM's LoRA pairs: in a column-parallel projection
 * the first factor [r, in] is replicated and the second [out, r] split by rows; in a row-parallel
 * one the first factor is split by input columns and the second [out, r] kept whole. The rank r
 * is never split. PaLU groups go with their heads: a rank holds the U.g of the groups its kv
 * heads fall in (rows of its heads only) and the VT rows of those groups; a group wider than a
 * rank's heads has its VT rows replicated on each rank it spans.
 *
 * A size the runtime refuses to split becomes a ShardRefusal naming the module it blocks; the
 * shard then holds ceil(size / tp) there (the first torch.chunk), so its calls still have shapes.
 * TP 1 returns the spec itself.
 */
import { GacError } from "../errors.js";
import type { TensorParallelRule } from "../contract/rules/tensor-parallel.js";
import type { LayerSpec, LinearSpec, ModelSpec } from "../model/types.js";

/** Largest TP degree accepted: past 64 GPUs per model no Llama-family layer has heads to split. */
export const MAX_TP = 64;
/** Pipeline stages: a bound on typos (a stage holds whole layers, so shapes never change). */
export const MAX_PP = 256;

export interface ShardRefusal {
  /** "layers.3.self_attn.heads", "layers.3.mlp.intermediate", "vocab_size". */
  id: string;
  /** Kernel-call roles starting with this are blocked: "layers.3.self_attn", "layers.3.mlp", "lm_head". */
  role: string;
  value: number;
  reason: string;
  source: string;
}

export interface ModelShard {
  tp: number;
  rank: number;
  spec: ModelSpec;
  refusals: ShardRefusal[];
}

export function checkTensorParallel(tp: number, pp = 1): void {
  if (!Number.isSafeInteger(tp) || tp < 1 || tp > MAX_TP) {
    throw new GacError("BAD_ARGS", `--tp expects a whole number from 1 to ${MAX_TP} (GPUs one model is split over); got ${tp}`);
  }
  if (!Number.isSafeInteger(pp) || pp < 1 || pp > MAX_PP) {
    throw new GacError("BAD_ARGS", `--pp expects a whole number from 1 to ${MAX_PP} (pipeline stages); got ${pp}`);
  }
}

/** The model GPU `rank` of `tp` holds. */
export function shardModelSpec(spec: ModelSpec, tp: number, rank: number, rule: TensorParallelRule): ModelShard {
  checkTensorParallel(tp);
  if (!Number.isSafeInteger(rank) || rank < 0 || rank >= tp) throw new RangeError(`rank ${rank} is not one of 0..${tp - 1}`);
  if (tp === 1) return { tp, rank, spec, refusals: [] };
  const refusals: ShardRefusal[] = [];
  const out = structuredClone(spec);
  out.layers = spec.layers.map((layer) => shardLayer(layer, tp, rank, rule, refusals));
  out.numHeads = Math.ceil(spec.numHeads / tp);
  out.numKvHeads = kvBlock(spec.numKvHeads, tp, rank).count;
  const vocab = rule.vocab(spec.vocabSize, tp);
  if (vocab.refusal) refusals.push({ id: "vocab_size", role: "lm_head", value: spec.vocabSize, reason: vocab.refusal, source: rule.sources.vocab.file });
  out.vocabSize = Math.ceil(vocab.padded / tp);
  return { tp, rank, spec: out, refusals };
}

/** Every rank's shard, rank 0 first. */
export function shardModelSpecs(spec: ModelSpec, tp: number, rule: TensorParallelRule): ModelShard[] {
  return Array.from({ length: tp }, (_, rank) => shardModelSpec(spec, tp, rank, rule));
}

interface Block {
  start: number;
  count: number;
}

/** A rank's contiguous block of `units` split `tp` ways (the first chunk's size when it does not divide). */
function splitBlock(units: number, tp: number, rank: number): Block {
  const count = Math.ceil(units / tp);
  return { start: Math.min(rank * count, Math.max(0, units - count)), count };
}

/** A rank's kv heads: its block when kv >= tp, else the one head it replicates (rank // (tp / kv)). */
function kvBlock(kv: number, tp: number, rank: number): Block {
  if (kv >= tp) return splitBlock(kv, tp, rank);
  return { start: Math.min(kv - 1, Math.floor((rank * kv) / tp)), count: 1 };
}

function shardLayer(layer: LayerSpec, tp: number, rank: number, rule: TensorParallelRule, refusals: ShardRefusal[]): LayerSpec {
  const out = structuredClone(layer);
  const { attn, mlp } = out;
  const attnRole = `layers.${layer.index}.self_attn`;
  const refuse = (what: string, role: string, value: number, reason: string | null, source: string) => {
    if (reason !== null) refusals.push({ id: `${role}.${what}`, role, value, reason, source });
  };
  refuse("heads", attnRole, attn.numHeads, rule.heads(attn.numHeads, tp), rule.sources.heads.file);
  refuse("kv_heads", attnRole, attn.numKvHeads, rule.kvHeads(attn.numKvHeads, tp), rule.sources.kvHeads.file);
  const q = splitBlock(attn.numHeads, tp, rank);
  const kv = kvBlock(attn.numKvHeads, tp, rank);
  for (const [name, linear, heads, width] of [
    ["q_proj", attn.q, attn.numHeads, attn.headDim],
    ["k_proj", attn.k, attn.numKvHeads, attn.headDim],
    ["v_proj", attn.v, attn.numKvHeads, attn.headDimV],
  ] as const) {
    if (linear.out !== heads * width) {
      refuse(name, attnRole, linear.out, `${name} has ${linear.out} outputs, not ${heads} heads x ${width}: gac cannot tell which rows each rank holds`, rule.sources.heads.file);
    }
  }
  attn.q = shardColumns(attn.q, q, attn.headDim);
  attn.k = shardColumns(attn.k, kv, attn.headDim);
  attn.v = shardColumns(attn.v, kv, attn.headDimV);
  if (attn.o.in !== attn.numHeads * attn.headDimV) {
    refuse(
      "o_proj",
      attnRole,
      attn.o.in,
      `o_proj takes ${attn.o.in} inputs, not heads x head_dim = ${attn.numHeads * attn.headDimV}: gac cannot tell which columns each rank holds`,
      rule.sources.rowParallel.file,
    );
    attn.o = shardRows(attn.o, Math.ceil(attn.o.in / tp));
  } else {
    attn.o = shardRows(attn.o, q.count * attn.headDimV);
  }
  attn.numHeads = q.count;
  attn.numKvHeads = kv.count;

  const mlpRole = `layers.${layer.index}.mlp`;
  const width = mlp.intermediate;
  refuse("intermediate", mlpRole, width, rule.columnParallel(width, tp, "MLP intermediate"), rule.sources.columnParallel.file);
  const channels = splitBlock(width, tp, rank);
  mlp.gate = shardColumns(mlp.gate, channels, 1);
  mlp.up = shardColumns(mlp.up, channels, 1);
  mlp.down = shardRows(mlp.down, channels.count);
  mlp.intermediate = channels.count;
  return out;
}

/** Column-parallel: the rank keeps output units [start, start + count) of `width` rows each. */
function shardColumns(linear: LinearSpec, block: Block, width: number): LinearSpec {
  const rows = block.count * width;
  switch (linear.kind) {
    case "dense":
      return { ...linear, out: rows, weight: { ...linear.weight, out: rows } };
    case "lowrank":
      // The first factor [r, in] is replicated; only the second's rows split.
      return { ...linear, out: rows, second: { ...linear.second, out: rows } };
    case "grouped":
      return shardGroups(linear, block, width);
  }
}

/** PaLU: the groups the rank's heads fall in, each keeping the rows of those heads; VT keeps those groups' latent rows. */
function shardGroups(linear: Extract<LinearSpec, { kind: "grouped" }>, block: Block, width: number): LinearSpec {
  const headsPerGroup = linear.groupDim / width;
  if (!Number.isInteger(headsPerGroup) || headsPerGroup < 1) {
    throw new GacError("UNSUPPORTED", `${linear.first.tensor}: group width ${linear.groupDim} is not a whole number of ${width}-wide heads, so gac cannot tell how its groups split over GPUs`);
  }
  const end = block.start + block.count;
  const first = Math.floor(block.start / headsPerGroup);
  const last = Math.floor((end - 1) / headsPerGroup);
  const ranks: number[] = [];
  const groups = [];
  let groupHeads = 0;
  for (let g = first; g <= last && g < linear.groups.length; g++) {
    const heads = Math.min(end, (g + 1) * headsPerGroup) - Math.max(block.start, g * headsPerGroup);
    groupHeads = Math.max(groupHeads, heads);
    ranks.push(linear.ranks[g]);
    groups.push({ ...linear.groups[g], out: heads * width });
  }
  const latent = ranks.reduce((a, b) => a + b, 0);
  return { ...linear, out: block.count * width, ranks, groupDim: groupHeads * width, groups, first: { ...linear.first, out: latent } };
}

/** Row-parallel: the rank keeps `inputs` input columns; low-rank pairs split the first factor's columns. */
function shardRows(linear: LinearSpec, inputs: number): LinearSpec {
  switch (linear.kind) {
    case "dense":
      return { ...linear, in: inputs, weight: { ...linear.weight, in: inputs } };
    case "lowrank":
    case "grouped":
      return { ...linear, in: inputs, first: { ...linear.first, in: inputs } };
  }
}
