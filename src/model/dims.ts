/**
 * The dimensions a kernel sees, one entry per occurrence, each with its alignment to 8 and 16
 * elements (the fp16/bf16 tensor-core granularity: cuDNN SDPA and mem-efficient attention need
 * head_dim % 8, cuBLAS's fast tiles want K and N % 8, kernel_constraints.md §0-1).
 *
 * Per layer: head_dim (and head_dim_v when it differs), every low-rank inner dimension (one per
 * factor pair, one per PaLU group) and the MLP intermediate width; per model: hidden size and
 * vocabulary, once. Head counts are not listed: they never reach a kernel as a GEMM or tile
 * extent on their own (q rows are heads x head_dim, and head_dim is listed).
 *
 * `role` is the module the dimension belongs to, spelled like the kernel graph's roles
 * ("layers.3.self_attn.k_proj", "layers.3.mlp", "model"), so dims and calls can be joined.
 * Repairable dims (head_dim, rank, intermediate) carry a plan DimSite.
 */
import type { DimSite } from "../plan/types.js";
import { layerLinears } from "./layer-linears.js";
import type { ModelSpec } from "./types.js";

export type DimName = "head_dim" | "head_dim_v" | "rank" | "intermediate" | "hidden" | "vocab" | "heads" | "kv_heads";

export interface DimEntry {
  /** Stable id, e.g. "layers.3.self_attn.k_proj.rank.g1", "layers.3.mlp.intermediate", "hidden_size". */
  id: string;
  role: string;
  name: DimName;
  value: number;
  aligned8: boolean;
  aligned16: boolean;
  site?: DimSite;
}

export function collectDims(spec: ModelSpec): DimEntry[] {
  const dims: DimEntry[] = [];
  for (const layer of spec.layers) {
    const i = layer.index;
    const attnRole = `layers.${i}.self_attn`;
    dims.push(entry(`${attnRole}.head_dim`, attnRole, "head_dim", layer.attn.headDim, { kind: "head_dim", layer: i }));
    if (layer.attn.headDimV !== layer.attn.headDim) {
      dims.push(entry(`${attnRole}.head_dim_v`, attnRole, "head_dim_v", layer.attn.headDimV));
    }
    for (const { module, linear } of layerLinears(layer)) {
      const role = `layers.${i}.${module}`;
      if (linear.kind === "lowrank") {
        dims.push(entry(`${role}.rank`, role, "rank", linear.rank, { kind: "rank", layer: i, linear: module }));
      } else if (linear.kind === "grouped") {
        for (const [g, rank] of linear.ranks.entries()) {
          dims.push(entry(`${role}.rank.g${g}`, role, "rank", rank, { kind: "rank", layer: i, linear: module, group: g }));
        }
      }
    }
    const mlpRole = `layers.${i}.mlp`;
    dims.push(entry(`${mlpRole}.intermediate`, mlpRole, "intermediate", layer.mlp.intermediate, { kind: "intermediate", layer: i }));
  }
  dims.push(entry("hidden_size", "model", "hidden", spec.hiddenSize));
  dims.push(entry("vocab_size", "model", "vocab", spec.vocabSize));
  return dims;
}

function entry(id: string, role: string, name: DimName, value: number, site?: DimSite): DimEntry {
  const e: DimEntry = { id, role, name, value, aligned8: value % 8 === 0, aligned16: value % 16 === 0 };
  if (site !== undefined) e.site = site;
  return e;
}
