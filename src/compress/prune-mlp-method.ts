/**
 * prune-mlp: MLP channels removed by an activation-aware importance score, FLAP-style (An et al.,
 * "Fluctuation-based Adaptive Structured Pruning"): channel j of layer l scores
 *   Var(h_j) * ||W_down[:, j]||^2      (h = silu(gate(x)) * up(x) on calibration tokens)
 * and the removed channels' mean output is folded into a down_proj bias (FLAP's compensation), so
 * the output keeps its mean. Without calibration the score is ||W_down[:, j]||^2 ||W_gate[j]|| ||W_up[j]||
 * and no bias is added. Widths: by default FLAP's adaptive structure, the budget's share of all
 * channels kept by the largest per-layer standardised scores, so each layer keeps its own width;
 * --uniform keeps the same fraction in every layer. The checkpoint is FLAP's layout: per-layer
 * gate/up rows and down columns, the base config.json left as it was (FLAP does not update it).
 */
import type { LayerSpec } from "../model/types.js";
import { requireWeight, type Weights } from "../verify/tensor-store.js";
import type { SiteStats } from "./calibration.js";
import { requireDense } from "./low-rank-method.js";
import { matrix, pickCols, pickRows } from "./matrix.js";
import { mlpWidthCost } from "./size-cost.js";
import { decideSize, energySize, type SizeDecision } from "./size-policy.js";
import type { MethodInput, MethodResult, NewTensor } from "./types.js";

function rowNorms2(w: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r] += w[r * cols + c] ** 2;
  return out;
}

function colNorms2(w: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c] += w[r * cols + c] ** 2;
  return out;
}

/** FLAP's fluctuation score per channel (or the weight-only proxy without calibration). */
function channelScores(layer: LayerSpec, weights: Weights, site: SiteStats | undefined): Float64Array {
  const { gate, up, down } = layer.mlp;
  const width = layer.mlp.intermediate;
  const wDown = requireWeight(weights, requireDense(down, `layers.${layer.index}.mlp.down_proj`).weight.tensor, down.out * width);
  const downCols = colNorms2(wDown, down.out, width);
  if (site !== undefined) {
    return Float64Array.from(downCols, (c, j) => {
      const mean = site.sum[j] / site.count;
      return Math.max(0, site.sumSq[j] / site.count - mean * mean) * c;
    });
  }
  const g = rowNorms2(requireWeight(weights, requireDense(gate, `layers.${layer.index}.mlp.gate_proj`).weight.tensor, width * gate.in), width, gate.in);
  const u = rowNorms2(requireWeight(weights, requireDense(up, `layers.${layer.index}.mlp.up_proj`).weight.tensor, width * up.in), width, up.in);
  return Float64Array.from(downCols, (c, j) => c * Math.sqrt(g[j] * u[j]));
}

/** FLAP's adaptive widths: the `keep` largest standardised scores over all layers, at least one per layer. */
function adaptiveWidths(scores: Float64Array[], keep: number): number[] {
  const all: { layer: number; z: number }[] = [];
  scores.forEach((s, layer) => {
    const mean = s.reduce((a, b) => a + b, 0) / s.length;
    const std = Math.sqrt(s.reduce((a, b) => a + (b - mean) ** 2, 0) / s.length) || 1;
    s.forEach((x) => all.push({ layer, z: (x - mean) / std }));
  });
  all.sort((a, b) => b.z - a.z);
  const widths = scores.map(() => 0);
  for (const x of all.slice(0, keep)) widths[x.layer]++;
  return widths.map((w) => Math.max(1, w));
}

export function compressMlpWidths(input: MethodInput): MethodResult {
  const { spec, weights, stats } = input;
  const scores = weights === null ? null : spec.layers.map((l) => channelScores(l, weights, stats?.[l.index].down_in));
  const fraction = input.target.fraction;
  const totalWidth = spec.layers.reduce((s, l) => s + l.mlp.intermediate, 0);
  const adaptive = !input.uniform && scores !== null && input.target.kind === "budget" ? adaptiveWidths(scores, Math.floor(fraction * totalWidth)) : null;
  const replacements = new Map<string, NewTensor[]>();
  const decisions: SizeDecision[] = [];
  for (const layer of spec.layers) {
    const width = layer.mlp.intermediate;
    const gate = requireDense(layer.mlp.gate, `layers.${layer.index}.mlp.gate_proj`);
    const up = requireDense(layer.mlp.up, `layers.${layer.index}.mlp.up_proj`);
    const down = requireDense(layer.mlp.down, `layers.${layer.index}.mlp.down_proj`);
    const s = scores?.[layer.index] ?? null;
    const order = s === null ? Array.from({ length: width }, (_, j) => j) : Array.from({ length: width }, (_, j) => j).sort((a, b) => s[b] - s[a] || a - b);
    const energy = s === null ? null : Float64Array.from(order, (j) => s[j]);
    const target = input.target.kind === "energy" ? energySize(energy, width, fraction, 1) : adaptive !== null ? adaptive[layer.index] : Math.max(1, Math.min(width, Math.round(fraction * width)));
    const decision = decideSize(
      {
        id: `layers.${layer.index}.mlp.intermediate`,
        full: width,
        energy,
        step: 1,
        target,
        cost: input.profile === null ? undefined : mlpWidthCost(input.profile, spec.hiddenSize, input.servingDtype),
      },
      input.align,
    );
    decisions.push(decision);
    const kept = order.slice(0, decision.chosen).sort((a, b) => a - b);
    const dropped = order.slice(decision.chosen);
    const w = decision.chosen;
    const rowsOf = (name: string, cols: number) => (weights === null ? null : pickRows(matrix(width, cols, requireWeight(weights, name, width * cols)), kept).data);
    const gateTensors: NewTensor[] = [{ name: gate.weight.tensor, shape: [w, gate.in], values: rowsOf(gate.weight.tensor, gate.in) }];
    const upTensors: NewTensor[] = [{ name: up.weight.tensor, shape: [w, up.in], values: rowsOf(up.weight.tensor, up.in) }];
    replacements.set(gate.weight.tensor, gateTensors);
    replacements.set(up.weight.tensor, upTensors);
    for (const lin of [gate, up]) if (lin.weight.bias !== undefined) replacements.set(lin.weight.bias, [{ name: lin.weight.bias, shape: [w], values: rowsOf(lin.weight.bias, 1) }]);
    const wDown = weights === null ? null : matrix(down.out, width, requireWeight(weights, down.weight.tensor, down.out * width));
    const site = stats?.[layer.index].down_in;
    const downTensors: NewTensor[] = [{ name: down.weight.tensor, shape: [down.out, w], values: wDown === null ? null : pickCols(wDown, kept).data }];
    const biasName = down.weight.bias ?? down.weight.tensor.replace(/\.weight$/, ".bias");
    if (site !== undefined && wDown !== null) {
      const bias = down.weight.bias === undefined ? new Float64Array(down.out) : requireWeight(weights!, down.weight.bias, down.out).slice();
      for (const j of dropped) {
        const mean = site.sum[j] / site.count;
        for (let o = 0; o < down.out; o++) bias[o] += wDown.data[o * width + j] * mean;
      }
      downTensors.push({ name: biasName, shape: [down.out], values: bias });
      if (down.weight.bias !== undefined) replacements.set(down.weight.bias, []);
    }
    replacements.set(down.weight.tensor, downTensors);
  }
  const notes = [
    stats === null
      ? "no calibration: channels ranked by ||W_down[:, j]||^2 ||W_gate[j]|| ||W_up[j]||; no compensation bias"
      : "channels ranked by FLAP's fluctuation Var(h_j) ||W_down[:, j]||^2; removed channels' mean output folded into a down_proj bias",
    adaptive !== null
      ? "widths per layer from the largest standardised scores over all layers (FLAP's adaptive structure)"
      : input.target.kind === "energy"
        ? "widths per layer from the energy target"
        : "the same fraction of channels in every layer",
  ];
  return { replacements, config: { ...input.config }, decisions, notes };
}
