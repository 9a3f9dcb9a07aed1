/**
 * planRepair: for one strategy, the new size of every repairable dimension (head_dim, low-rank
 * ranks, MLP intermediate), the shape of every tensor that follows, and what the padding costs
 * over the whole model. Dims repair cannot pad exactly become Refusals, never silent changes.
 *
 * Which tensors grow (DESIGN.md "Exactness rules"):
 *   rank r -> R          first factor rows (+bias) and second factor columns; for a PaLU group g:
 *                        VT rows and U.g columns
 *   intermediate I -> I' gate/up output rows (+bias), down input columns
 *   head_dim d -> D      q/k/v output rows per head (+bias; PaLU: each U.g's rows), o_proj input
 *                        columns per head, inv_freq [d/2] -> [D/2]; head counts and so the GQA
 *                        ratio are unchanged
 *
 * Under tensor parallelism (opts.tp > 1) each GPU holds intermediate / tp MLP channels, so the
 * intermediate is padded per shard: tp x the strategy's size of ceil(I / tp), the smallest
 * multiple of alignment x tp (11472 at TP 8: 1434 per GPU -> 1440, 11520 whole). head_dim and
 * ranks are never split (graph/shard-spec.ts), so they pad as at TP 1. What the runtime still
 * cannot split after the plan (heads that do not divide by tp) is listed as refusals.
 */
import { GacError } from "../errors.js";
import { collectDims, type DimEntry } from "../model/dims.js";
import { layerLinear, LINEAR_MODULES, type LinearModule } from "../model/layer-linears.js";
import type { LayerSpec, LinearSpec, ModelSpec } from "../model/types.js";
import { RUNTIMES, DEFAULT_RUNTIME } from "../contract/runtimes.js";
import type { RuntimeId } from "../contract/types.js";
import { requireTensorParallelRule } from "../contract/rules/tensor-parallel.js";
import { checkTensorParallel, shardModelSpec } from "../graph/shard-spec.js";
import { applyPlanToSpec } from "./apply-plan.js";
import { padTarget, raiseToMultiple } from "./pad-target.js";
import { elementCount, modelTensors, type TensorInfo } from "./model-tensors.js";
import type { DimChange, DimSite, Refusal, RepairPlan, Strategy, TensorShapeChange } from "./types.js";

export interface PlanOptions {
  /** The runtime whose compiled head sizes PREDEFINED targets (default pytorch-sdpa). */
  runtime?: RuntimeId;
  /** TRADEOFF's per-dim memory budget in percent (default 10). */
  budgetPct?: number;
  /** false: leave the vocabulary out of the plan, refusal included. */
  padVocab?: false;
  /** GPUs the model is split over (default 1); the runtime's TP rules say how (contract/rules/tensor-parallel.ts). */
  tp?: number;
  /**
   * Every padded size must also be a multiple of this (a quantized checkpoint's format blocks,
   * quant/repair-quantized.ts): each target is raised to the least common multiple of the kernel
   * alignment the strategy chose and this, and a dim the strategy leaves alone is padded when it
   * breaks it (except head_dim: the blocks bind heads x head_dim, so a head_dim the strategy keeps
   * stays; one it pads is raised too, which the quantized repair needs for zeros between heads).
   */
  multiple?: number;
}

/** Growth of one tensor axis; several dims may grow the same tensor (SVD-LLM o_v_proj: rank rows, head_dim columns). */
interface Growth {
  tensor: string;
  axis: 0 | 1;
  by: number;
}

export function planRepair(spec: ModelSpec, strategy: Strategy, opts: PlanOptions = {}): RepairPlan {
  const runtime = opts.runtime ?? DEFAULT_RUNTIME;
  const tp = opts.tp ?? 1;
  checkTensorParallel(tp);
  const compiledHeadDims = RUNTIMES[runtime].compiledHeadDims;
  const target = (value: number, headDim: boolean, shards: number) => {
    const to = shards * padTarget(Math.ceil(value / shards), strategy, { predefined: headDim ? compiledHeadDims : undefined, budgetPct: opts.budgetPct });
    // A format's blocks bind the weights' widths (heads x head_dim), not one head: a head_dim the strategy keeps stays.
    return headDim && to === value ? to : raiseToMultiple(to, opts.multiple ?? 1);
  };

  const changes: DimChange[] = [];
  const refusals: Refusal[] = [];
  const growths: Growth[] = [];

  for (const dim of collectDims(spec)) {
    const to = target(dim.value, dim.name === "head_dim", dim.name === "intermediate" ? tp : 1);
    if (to === dim.value) continue;
    if (dim.site === undefined) {
      const refusal = whole(dim, to, opts);
      if (refusal) refusals.push(refusal);
      continue;
    }
    const layer = spec.layers.find((l) => l.index === dim.site?.layer);
    if (layer === undefined) throw new GacError("UNSUPPORTED", `dim ${dim.id} names layer ${dim.site.layer}, which the model does not have`);
    const edit = growthsFor(spec, layer, dim.site, dim.value, to);
    if (typeof edit === "string") {
      refusals.push({ id: dim.id, value: dim.value, reason: edit });
      continue;
    }
    changes.push({ site: dim.site, id: dim.id, from: dim.value, to });
    growths.push(...edit);
  }

  if (tp > 1) refusals.push(...shardingRefusals(spec, strategy, changes, tp, runtime));

  const inventory = modelTensors(spec);
  const tensors = applyGrowths(inventory, growths);
  let paramsBefore = 0;
  let bytesBefore = 0;
  for (const t of inventory.values()) {
    const n = elementCount(t.shape);
    paramsBefore += n;
    bytesBefore += n * t.bytesPerElement;
  }
  const addedParams = tensors.reduce((a, t) => a + t.addedElements, 0);
  const addedBytes = tensors.reduce((a, t) => a + t.addedBytes, 0);
  const paramsAfter = paramsBefore + addedParams;
  return {
    strategy,
    changes,
    tensors,
    refusals,
    paramsBefore,
    paramsAfter,
    paramOverheadPct: paramsBefore === 0 ? 0 : (100 * addedParams) / paramsBefore,
    bytesBefore,
    bytesAfter: bytesBefore + addedBytes,
  };
}

/** What the runtime still cannot split once the changes are made (heads, kv heads); a padded intermediate always splits. */
function shardingRefusals(spec: ModelSpec, strategy: Strategy, changes: DimChange[], tp: number, runtime: RuntimeId): Refusal[] {
  const { rule } = requireTensorParallelRule(runtime);
  const planned: RepairPlan = { strategy, changes, tensors: [], refusals: [], paramsBefore: 0, paramsAfter: 0, paramOverheadPct: 0, bytesBefore: 0, bytesAfter: 0 };
  const shard = shardModelSpec(applyPlanToSpec(spec, planned), tp, 0, rule);
  return shard.refusals.map((r) => ({ id: r.id, value: r.value, reason: `${r.reason}; ${r.id.endsWith("heads") ? "padding whole heads is not implemented" : "not padded"}` }));
}

/** Hidden size and vocabulary: flagged when irregular, never padded (RMSNorm's mean, logits over padded rows). */
function whole(dim: DimEntry, to: number, opts: PlanOptions): Refusal | null {
  if (dim.name === "hidden") {
    return { id: dim.id, value: dim.value, reason: `hidden size ${dim.value} -> ${to}: padding changes RMSNorm's mean over the hidden size; not done` };
  }
  if (dim.name === "vocab") {
    if (opts.padVocab === false) return null;
    return { id: dim.id, value: dim.value, reason: `vocab ${dim.value} -> ${to}: padded logits would need masking before softmax and sampling; not done` };
  }
  return null;
}

function growthsFor(spec: ModelSpec, layer: LayerSpec, site: DimSite, from: number, to: number): Growth[] | string {
  const by = to - from;
  switch (site.kind) {
    case "rank": {
      const linear = layerLinear(layer, moduleOf(site.linear));
      if (linear.kind === "lowrank") return [...rows(linear.first.tensor, linear.first.bias, by), { tensor: linear.second.tensor, axis: 1, by }];
      if (linear.kind === "grouped" && site.group !== undefined) {
        const group = linear.groups[site.group];
        if (group === undefined) return `${site.linear} has no group ${site.group}`;
        return [...rows(linear.first.tensor, linear.first.bias, by), { tensor: group.tensor, axis: 1, by }];
      }
      return `${site.linear} is dense: it has no inner rank`;
    }
    case "intermediate":
      return [...outputRows(layer.mlp.gate, 1, by), ...outputRows(layer.mlp.up, 1, by), ...inputColumns(layer.mlp.down, by)];
    case "head_dim":
      return headDimGrowths(spec, layer, from, to);
  }
}

function headDimGrowths(spec: ModelSpec, layer: LayerSpec, d: number, D: number): Growth[] | string {
  const { attn } = layer;
  if (spec.rope.scaling.type === "other") {
    return `rope scaling '${spec.rope.scaling.name}' derives its frequencies from head_dim; padding ${d} -> ${D} is not handled`;
  }
  if (d % 2 === 1) {
    return `head_dim ${d} is odd: rotate-half RoPE pairs dim i with i + d/2, so the two halves cannot be padded separately`;
  }
  if (spec.rope.partialRotaryFactor !== 1) {
    return `partial_rotary_factor ${spec.rope.partialRotaryFactor}: padding a partly rotated head_dim ${d} -> ${D} is not handled`;
  }
  if (attn.headDimV !== d) return `head_dim_v ${attn.headDimV} differs from head_dim ${d}: not handled`;
  if (attn.o.in !== attn.numHeads * d) {
    return `o_proj takes ${attn.o.in} inputs, not heads x head_dim = ${attn.numHeads * d} (latent-V layout): not handled`;
  }
  for (const [name, linear, heads] of [
    ["q_proj", attn.q, attn.numHeads],
    ["k_proj", attn.k, attn.numKvHeads],
    ["v_proj", attn.v, attn.numKvHeads],
  ] as const) {
    if (linear.out !== heads * d) return `${name} has ${linear.out} outputs, not ${heads} heads x ${d}: not handled`;
  }
  const by = D - d;
  const growths = [...outputRows(attn.q, attn.numHeads, by), ...outputRows(attn.k, attn.numKvHeads, by), ...outputRows(attn.v, attn.numKvHeads, by), ...inputColumns(attn.o, attn.numHeads * by)];
  if (layer.rotaryInvFreq !== undefined) growths.push({ tensor: layer.rotaryInvFreq, axis: 0, by: by / 2 });
  return growths;
}

function rows(tensor: string, bias: string | undefined, by: number): Growth[] {
  const g: Growth[] = [{ tensor, axis: 0, by }];
  if (bias !== undefined) g.push({ tensor: bias, axis: 0, by });
  return g;
}

/** Each of `units` output blocks (heads, or 1 for a plain width) grows by `by` rows. */
function outputRows(linear: LinearSpec, units: number, by: number): Growth[] {
  switch (linear.kind) {
    case "dense":
      return rows(linear.weight.tensor, linear.weight.bias, units * by);
    case "lowrank":
      return rows(linear.second.tensor, linear.second.bias, units * by);
    case "grouped": {
      if (units % linear.groups.length !== 0) {
        throw new GacError("UNSUPPORTED", `${linear.first.tensor}: ${units} output blocks do not split over ${linear.groups.length} groups`);
      }
      const perGroup = (units / linear.groups.length) * by;
      return linear.groups.flatMap((g) => rows(g.tensor, g.bias, perGroup));
    }
  }
}

function inputColumns(linear: LinearSpec, by: number): Growth[] {
  return [{ tensor: linear.kind === "dense" ? linear.weight.tensor : linear.first.tensor, axis: 1, by }];
}

function applyGrowths(inventory: ReadonlyMap<string, TensorInfo>, growths: Growth[]): TensorShapeChange[] {
  const shapes = new Map<string, number[]>();
  for (const g of growths) {
    const info = inventory.get(g.tensor);
    if (info === undefined) throw new GacError("UNSUPPORTED", `the plan grows tensor '${g.tensor}', which the model spec does not list`);
    const shape = shapes.get(g.tensor) ?? [...info.shape];
    shape[g.axis] += g.by;
    shapes.set(g.tensor, shape);
  }
  return [...shapes].map(([tensor, to]) => {
    const info = inventory.get(tensor);
    const from = info?.shape ?? [];
    const addedElements = elementCount(to) - elementCount(from);
    return { tensor, from: [...from], to, addedElements, addedBytes: addedElements * (info?.bytesPerElement ?? 0) };
  });
}

function moduleOf(linear: string): LinearModule {
  const m = LINEAR_MODULES.find((x) => x === linear);
  if (m === undefined) throw new GacError("UNSUPPORTED", `unknown linear module '${linear}'`);
  return m;
}
