/** LlamaMLP: down(silu(gate(x)) * up(x)), in float64. */
import type { MlpSpec } from "../model/types.js";
import { applyLinear } from "./linear.js";
import type { Weights } from "./tensor-store.js";

/** silu(x) = x * sigmoid(x); silu(0) = 0, which is why zero intermediate channels are exact. */
export function silu(x: number): number {
  return x / (1 + Math.exp(-x));
}

/** `observeHidden` sees silu(gate) * up [rows, intermediate], the input of down_proj. */
export function mlpBlock(spec: MlpSpec, weights: Weights, x: Float64Array, rows: number, observeHidden?: (act: Float64Array) => void): Float64Array {
  const gate = applyLinear(spec.gate, weights, x, rows);
  const up = applyLinear(spec.up, weights, x, rows);
  for (let i = 0; i < gate.length; i++) gate[i] = silu(gate[i]) * up[i];
  observeHidden?.(gate);
  return applyLinear(spec.down, weights, gate, rows);
}
