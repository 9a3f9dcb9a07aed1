/**
 * The seven linear maps of a Llama-style layer, in forward order, with their module path inside
 * the layer ("self_attn.k_proj", the `linear` of a DimSite). One list serves the spec builder,
 * collectDims and the kernel graph, so they cannot disagree on names or order.
 */
import type { LayerSpec, LinearSpec, WeightRef } from "./types.js";

export const LINEAR_MODULES = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"] as const;

export type LinearModule = (typeof LINEAR_MODULES)[number];

export function layerLinear(layer: LayerSpec, module: LinearModule): LinearSpec {
  switch (module) {
    case "self_attn.q_proj":
      return layer.attn.q;
    case "self_attn.k_proj":
      return layer.attn.k;
    case "self_attn.v_proj":
      return layer.attn.v;
    case "self_attn.o_proj":
      return layer.attn.o;
    case "mlp.gate_proj":
      return layer.mlp.gate;
    case "mlp.up_proj":
      return layer.mlp.up;
    case "mlp.down_proj":
      return layer.mlp.down;
  }
}

export function layerLinears(layer: LayerSpec): { module: LinearModule; linear: LinearSpec }[] {
  return LINEAR_MODULES.map((module) => ({ module, linear: layerLinear(layer, module) }));
}

/** The stored weight matrices of a linear in the order the forward pass multiplies by them. */
export function linearFactors(linear: LinearSpec): WeightRef[] {
  switch (linear.kind) {
    case "dense":
      return [linear.weight];
    case "lowrank":
      return [linear.first, linear.second];
    case "grouped":
      return [linear.first, ...linear.groups];
  }
}
