/**
 * dynamicCosts: the shape-dynamics rules (rules/shape-dynamics.ts) over a model's kernel calls,
 * grouped by rule: which calls pay a cost that depends on how their shapes change between calls.
 * Decode is judged as transformers' generate() runs it by default (a growing cache); pass
 * `evolution: "fixed"` for a static cache or a CUDA-graph engine.
 */
import type { KernelCall } from "../graph/types.js";
import { SHAPE_DYNAMICS_RULES, type DynamicCost, type ShapeEvolution } from "./rules/shape-dynamics.js";
import type { GpuId, RuntimeId } from "./types.js";

export interface DynamicCostFinding extends DynamicCost {
  phase: "prefill" | "decode";
  /** Calls of the forward pass that pay it. */
  calls: number;
  /** The first such call's id. */
  first_call: string;
}

export function dynamicCosts(calls: readonly KernelCall[], runtime: RuntimeId, gpu: GpuId, evolution: ShapeEvolution = "kv-grows-per-step"): DynamicCostFinding[] {
  const found = new Map<string, DynamicCostFinding>();
  for (const call of calls) {
    for (const rule of SHAPE_DYNAMICS_RULES) {
      const cost = rule.applies(call, runtime, gpu, call.phase === "decode" ? evolution : "fixed");
      if (!cost) continue;
      const key = `${rule.id}\u0000${call.phase}`;
      const seen = found.get(key);
      if (seen) seen.calls++;
      else found.set(key, { ...cost, phase: call.phase, calls: 1, first_call: call.id });
    }
  }
  return [...found.values()];
}

/**
 * The shape-dependent costs a repair introduces: paid by the repaired model's decode and not by the
 * original's (e.g. a head_dim padded to a cuDNN-eligible size on sm90 in stock transformers).
 */
export function introducedDynamicCosts(before: readonly KernelCall[], after: readonly KernelCall[], runtime: RuntimeId, gpu: GpuId): DynamicCostFinding[] {
  const had = new Set(dynamicCosts(before, runtime, gpu).map((f) => `${f.rule}/${f.phase}`));
  return dynamicCosts(after, runtime, gpu).filter((f) => !had.has(`${f.rule}/${f.phase}`));
}
