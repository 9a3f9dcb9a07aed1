/**
 * applyPlanToSpec: the ModelSpec a repaired checkpoint will have, from the original spec and a
 * plan. Pure: the input is not touched. Only the sizes a DimChange names move, by the same rules
 * planRepair grows tensors with (plan-repair.ts header):
 *   rank r -> R          low-rank pair: first.out and second.in; PaLU group g: ranks[g], VT rows
 *                        (first.out = sum of ranks) and U.g columns
 *   intermediate I -> I' gate/up outputs, down inputs
 *   head_dim d -> D      head_dim and head_dim_v, q/k/v outputs per head (PaLU: each group's
 *                        groupDim by its heads' share), o_proj inputs per head
 * Tensor names, head counts, hidden size, vocabulary and dtypes stay. The scan runs the kernel
 * graph and the profile over the result, so a strategy's predicted time comes from the same code
 * path as the unrepaired one.
 */
import { GacError } from "../errors.js";
import { layerLinear, LINEAR_MODULES, type LinearModule } from "../model/layer-linears.js";
import type { LayerSpec, LinearSpec, ModelSpec } from "../model/types.js";
import type { DimChange, RepairPlan } from "./types.js";

export function applyPlanToSpec(spec: ModelSpec, plan: RepairPlan): ModelSpec {
  const out = structuredClone(spec);
  for (const change of plan.changes) applyChange(out, change);
  const headDims = new Set(out.layers.map((l) => l.attn.headDim));
  const [shared] = headDims;
  // The config-level head_dim follows when every layer ends up with one head_dim.
  if (headDims.size === 1 && shared !== undefined) out.headDim = shared;
  return out;
}

function applyChange(spec: ModelSpec, change: DimChange): void {
  const { site } = change;
  const layer = spec.layers.find((l) => l.index === site.layer);
  if (layer === undefined) throw new GacError("UNSUPPORTED", `plan change ${change.id} names layer ${site.layer}, which the model does not have`);
  const by = change.to - change.from;
  switch (site.kind) {
    case "rank": {
      const linear = layerLinear(layer, moduleOf(site.linear, change.id));
      if (linear.kind === "lowrank" && site.group === undefined) {
        expect(change, linear.rank);
        linear.rank += by;
        linear.first.out += by;
        linear.second.in += by;
        return;
      }
      const group = linear.kind === "grouped" && site.group !== undefined ? linear.groups[site.group] : undefined;
      if (linear.kind !== "grouped" || site.group === undefined || group === undefined) {
        throw new GacError("UNSUPPORTED", `plan change ${change.id} pads a rank, but ${site.linear} in layer ${site.layer} has no such rank: the plan is for another model`);
      }
      expect(change, linear.ranks[site.group] ?? 0);
      linear.ranks[site.group] = change.to;
      linear.first.out += by;
      group.in += by;
      return;
    }
    case "intermediate":
      expect(change, layer.mlp.intermediate);
      layer.mlp.intermediate += by;
      growOutputs(layer.mlp.gate, 1, by, change.id);
      growOutputs(layer.mlp.up, 1, by, change.id);
      growInputs(layer.mlp.down, by);
      return;
    case "head_dim":
      applyHeadDim(layer, change, by);
      return;
  }
}

function applyHeadDim(layer: LayerSpec, change: DimChange, by: number): void {
  const { attn } = layer;
  expect(change, attn.headDim);
  if (attn.headDimV !== attn.headDim) {
    throw new GacError("UNSUPPORTED", `plan change ${change.id} pads head_dim ${attn.headDim}, but head_dim_v is ${attn.headDimV}: the planner refuses that layout`);
  }
  attn.headDim += by;
  attn.headDimV += by;
  growOutputs(attn.q, attn.numHeads, by, change.id);
  growOutputs(attn.k, attn.numKvHeads, by, change.id);
  growOutputs(attn.v, attn.numKvHeads, by, change.id);
  growInputs(attn.o, attn.numHeads * by);
}

/** Each of `units` output blocks (heads, or 1 for a plain width) grows by `by`. */
function growOutputs(linear: LinearSpec, units: number, by: number, id: string): void {
  linear.out += units * by;
  switch (linear.kind) {
    case "dense":
      linear.weight.out += units * by;
      return;
    case "lowrank":
      linear.second.out += units * by;
      return;
    case "grouped": {
      if (units % linear.groups.length !== 0) {
        throw new GacError("UNSUPPORTED", `plan change ${id}: ${units} output blocks do not split over ${linear.groups.length} groups of ${linear.first.tensor}`);
      }
      const perGroup = (units / linear.groups.length) * by;
      linear.groupDim += perGroup;
      for (const g of linear.groups) g.out += perGroup;
    }
  }
}

function growInputs(linear: LinearSpec, by: number): void {
  linear.in += by;
  if (linear.kind === "dense") linear.weight.in += by;
  else linear.first.in += by;
}

function expect(change: DimChange, actual: number): void {
  if (actual !== change.from) {
    throw new GacError("UNSUPPORTED", `plan change ${change.id} pads ${change.from} -> ${change.to}, but the model has ${actual} there: the plan is for another model`);
  }
}

function moduleOf(linear: string, id: string): LinearModule {
  const m = LINEAR_MODULES.find((x) => x === linear);
  if (m === undefined) throw new GacError("UNSUPPORTED", `plan change ${id} names unknown linear module '${linear}'`);
  return m;
}
