/**
 * What one strategy costs at each tensor-parallel degree: the plan that aligns every GPU's shard
 * (plan-repair.ts pads the MLP intermediate to a multiple of alignment x tp), its memory overhead,
 * and what the runtime would still refuse to split (heads). `gac plan --tp` prints it for 1/2/4/8.
 */
import type { RuntimeId } from "../contract/types.js";
import type { ModelSpec } from "../model/types.js";
import { planRepair } from "./plan-repair.js";
import type { Strategy } from "./types.js";

export const TP_DEGREES = [1, 2, 4, 8] as const;

export interface TpOverhead {
  tp: number;
  /** Each MLP intermediate after the plan, divided by tp: what one GPU holds (distinct values). */
  intermediatePerGpu: number[];
  dimsChanged: number;
  paramsAdded: number;
  bytesAdded: number;
  paramOverheadPct: number;
  /** Refusals that come from sharding alone (heads that do not split), on top of the TP 1 plan's. */
  shardingRefusals: number;
}

export function overheadByTp(spec: ModelSpec, strategy: Strategy, runtime: RuntimeId, degrees: readonly number[] = TP_DEGREES): TpOverhead[] {
  const base = new Set(planRepair(spec, strategy, { runtime }).refusals.map((r) => r.id));
  return degrees.map((tp) => {
    const plan = planRepair(spec, strategy, { runtime, tp });
    const padded = new Map(plan.changes.filter((c) => c.site.kind === "intermediate").map((c) => [c.site.layer, c.to]));
    const widths = spec.layers.map((l) => Math.ceil((padded.get(l.index) ?? l.mlp.intermediate) / tp));
    return {
      tp,
      intermediatePerGpu: [...new Set(widths)].sort((a, b) => a - b),
      dimsChanged: plan.changes.length,
      paramsAdded: plan.paramsAfter - plan.paramsBefore,
      bytesAdded: plan.bytesAfter - plan.bytesBefore,
      paramOverheadPct: plan.paramOverheadPct,
      shardingRefusals: plan.refusals.filter((r) => !base.has(r.id)).length,
    };
  });
}
