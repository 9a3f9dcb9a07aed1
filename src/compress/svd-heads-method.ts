/**
 * svd-heads: direct per-head compression of attention to a smaller head_dim d' (the layout of a
 * direct-SVD checkpoint: dense q/k/v/o, explicit config head_dim).
 *
 * RoPE decides what may be done to q and k. Scores are sums over rotate-half pairs (i, i + d/2),
 * each rotated at its own frequency; a linear map that mixes dims of different pairs does not
 * commute with the rotation, so a truncated SVD of W_q or W_k would change the function at every
 * position but 0. What does commute is keeping whole pairs. So q and k keep d'/2 whole pairs, the
 * same contiguous window of frequencies j0 .. j0 + d'/2 - 1 in every head and layer (RoPE is one
 * config for the model): with rope_theta' = theta^(d'/d) the new pair j' turns at theta^(-2 j'/d),
 * and a window starting at j0 > 0 divides every frequency by theta^(2 j0/d), which a `linear`
 * rope_scaling factor expresses exactly. By default the window starts at 0 (the highest
 * frequencies, which carry local position); `ropeWindow: "mass"` takes the window with the most
 * score mass, pair j's mass being sum over heads of sqrt(E|q_hj|^2 E|k_hj|^2) (calibration
 * activations, or weight norms without them); on the bundled byte-level model that dropped pairs
 * 0-2 at head_dim 32 and perplexity went from 5.59 to 11.78. llama3 rope scaling is not a plain
 * division, so there the window always starts at 0.
 * The softmax scale d^-0.5 is kept by folding sqrt(d'/d) into q_proj.
 *
 * v and o carry no RoPE and get a real SVD: per KV head g, with L_o L_o^T = sum over its query
 * heads of W_o,h^T W_o,h and L_x L_x^T = X^T X (or I), the top d' left singular vectors U of
 * L_o^T W_v,g L_x give W_v,g' = U^T L_o^T W_v,g and W_o,h' = W_o,h L_o^-T U; at d' = d this is the
 * identity up to rounding.
 */
import { GacError } from "../errors.js";
import type { Prediction } from "../profile/predict.js";
import type { LayerSpec, ModelSpec } from "../model/types.js";
import { requireWeight, type Weights } from "../verify/tensor-store.js";
import { dampedCholesky, invertLower } from "./cholesky.js";
import { requireDense } from "./low-rank-method.js";
import { firstCols, matmul, matrix, pickRows, stackCols, stackRows, transpose, type Matrix } from "./matrix.js";
import { headDimCost } from "./size-cost.js";
import { decideSize, energySize } from "./size-policy.js";
import { svd } from "./svd.js";
import type { MethodInput, MethodResult, NewTensor } from "./types.js";

interface Geometry {
  d: number;
  half: number;
  heads: number;
  kvHeads: number;
  hidden: number;
}

function geometry(spec: ModelSpec): Geometry {
  const first = spec.layers[0].attn;
  for (const l of spec.layers) {
    if (l.attn.headDim !== first.headDim || l.attn.numHeads !== first.numHeads || l.attn.numKvHeads !== first.numKvHeads) {
      throw new GacError(
        "UNSUPPORTED",
        `layer ${l.index} has ${l.attn.numHeads}/${l.attn.numKvHeads} heads of ${l.attn.headDim} but layer 0 has ${first.numHeads}/${first.numKvHeads} of ${first.headDim}: svd-heads needs one attention geometry`,
      );
    }
  }
  if (spec.rope.partialRotaryFactor !== 1)
    throw new GacError("UNSUPPORTED", `partial_rotary_factor ${spec.rope.partialRotaryFactor}: svd-heads keeps whole RoPE pairs and needs RoPE on the whole head`);
  if (spec.rope.scaling.type === "other") throw new GacError("UNSUPPORTED", `rope type '${spec.rope.scaling.name}': svd-heads can keep RoPE exact only under default, linear or llama3 frequencies`);
  return { d: first.headDim, half: first.headDim / 2, heads: first.numHeads, kvHeads: first.numKvHeads, hidden: spec.hiddenSize };
}

/** Rows of head `h` for pairs j0 .. j0 + count - 1: first halves, then their partners. */
function pairRows(g: Geometry, h: number, j0: number, count: number): number[] {
  const base = h * g.d;
  const first = Array.from({ length: count }, (_, j) => base + j0 + j);
  return [...first, ...first.map((r) => r + g.half)];
}

/** E|y_r|^2 (up to the token count) for rows of W given the input Gram G: diag(W G W^T). */
function rowEnergy(w: Matrix, gram: Matrix | null): Float64Array {
  const wg = gram === null ? w : matmul(w, gram);
  const out = new Float64Array(w.rows);
  for (let r = 0; r < w.rows; r++) {
    let s = 0;
    for (let c = 0; c < w.cols; c++) s += wg.data[r * w.cols + c] * w.data[r * w.cols + c];
    out[r] = Math.max(0, s);
  }
  return out;
}

function weightOf(weights: Weights, name: string, rows: number, cols: number): Matrix {
  return matrix(rows, cols, requireWeight(weights, name, rows * cols));
}

/** Score mass of each pair j in one layer: sum over q heads of sqrt(E|q_hj|^2 E|k_g(h)j|^2). */
function pairMass(layer: LayerSpec, g: Geometry, weights: Weights, gram: Matrix | null): Float64Array {
  const q = requireDense(layer.attn.q, `layers.${layer.index}.self_attn.q_proj`);
  const k = requireDense(layer.attn.k, `layers.${layer.index}.self_attn.k_proj`);
  const eq = rowEnergy(weightOf(weights, q.weight.tensor, q.out, q.in), gram);
  const ek = rowEnergy(weightOf(weights, k.weight.tensor, k.out, k.in), gram);
  const mass = new Float64Array(g.half);
  for (let h = 0; h < g.heads; h++) {
    const kv = Math.floor(h / (g.heads / g.kvHeads));
    for (let j = 0; j < g.half; j++) {
      const qe = eq[h * g.d + j] + eq[h * g.d + g.half + j];
      const ke = ek[kv * g.d + j] + ek[kv * g.d + g.half + j];
      mass[j] += Math.sqrt(qe * ke);
    }
  }
  return mass;
}

/** The contiguous window of `count` pairs with the most mass (start 0 when only a prefix keeps RoPE exact). */
function bestWindow(mass: Float64Array, count: number, prefixOnly: boolean): { start: number; kept: number } {
  let best = { start: 0, kept: -1 };
  for (let start = 0; start + count <= mass.length; start++) {
    if (prefixOnly && start > 0) break;
    let kept = 0;
    for (let j = start; j < start + count; j++) kept += mass[j];
    if (kept > best.kept) best = { start, kept };
  }
  return best;
}

interface ValueMaps {
  /** Per KV head: W_v' [d', hidden] and its bias, and per query head W_o,h' [hidden, d']. */
  perKv: { v: Matrix; vBias: Float64Array | null; o: Matrix[] }[];
}

/** The decreasing sigma^2 of L_o^T W_v,g L_x, per KV head, and the maps at d' from them. */
function prepareValues(layer: LayerSpec, g: Geometry, weights: Weights, lx: Matrix | null) {
  const v = requireDense(layer.attn.v, `layers.${layer.index}.self_attn.v_proj`);
  const o = requireDense(layer.attn.o, `layers.${layer.index}.self_attn.o_proj`);
  const wv = weightOf(weights, v.weight.tensor, v.out, v.in);
  const vBias = v.weight.bias === undefined ? null : requireWeight(weights, v.weight.bias, v.out);
  const wo = weightOf(weights, o.weight.tensor, o.out, o.in);
  const group = g.heads / g.kvHeads;
  const woT = transpose(wo); // [H d, hidden]: head h's block is rows h d .. (h + 1) d
  const groups = Array.from({ length: g.kvHeads }, (_, kv) => {
    const heads = Array.from({ length: group }, (_, i) => kv * group + i);
    const oBlocks = heads.map((h) =>
      transpose(
        pickRows(
          woT,
          Array.from({ length: g.d }, (_, i) => h * g.d + i),
        ),
      ),
    ); // [hidden, d]
    const a = matrix(g.d, g.d);
    for (const b of oBlocks) {
      const bb = matmul(transpose(b), b);
      for (let i = 0; i < a.data.length; i++) a.data[i] += bb.data[i];
    }
    const lo = dampedCholesky(a).l;
    const loT = transpose(lo);
    const loInvT = transpose(invertLower(lo));
    const wvg = pickRows(
      wv,
      Array.from({ length: g.d }, (_, i) => kv * g.d + i),
    );
    const projected = matmul(loT, wvg); // L_o^T W_v,g [d, hidden]
    const d = svd(lx === null ? projected : matmul(projected, lx));
    const bias = vBias === null ? null : matrix(g.d, 1, vBias.slice(kv * g.d, (kv + 1) * g.d));
    return { d, projected, loInvT, oBlocks, bias, loT };
  });
  const energy = new Float64Array(g.d);
  for (const x of groups) x.d.s.forEach((s, i) => (energy[i] += s * s));
  const at = (dPrime: number): ValueMaps => ({
    perKv: groups.map((x) => {
      const uk = firstCols(x.d.u, dPrime); // [d, d']
      const ukT = transpose(uk);
      return {
        v: matmul(ukT, x.projected),
        vBias: x.bias === null ? null : matmul(ukT, matmul(x.loT, x.bias)).data,
        o: x.oBlocks.map((b) => matmul(b, matmul(x.loInvT, uk))),
      };
    }),
  });
  return { energy, at };
}

/** Per-dim energy whose prefix sums are a normalised mix of the best q/k window mass and the v/o spectrum. */
function headDimEnergy(mass: Float64Array, valueEnergy: Float64Array, prefixOnly: boolean): Float64Array {
  const half = mass.length;
  const totalMass = mass.reduce((a, b) => a + b, 0) || 1;
  const totalValue = valueEnergy.reduce((a, b) => a + b, 0) || 1;
  const out = new Float64Array(2 * half);
  let previous = 0;
  let valueKept = 0;
  for (let w = 1; w <= half; w++) {
    valueKept += valueEnergy[2 * w - 2] + valueEnergy[2 * w - 1];
    const kept = 0.5 * (bestWindow(mass, w, prefixOnly).kept / totalMass) + 0.5 * (valueKept / totalValue);
    out[2 * w - 2] = out[2 * w - 1] = (kept - previous) / 2;
    previous = kept;
  }
  return out;
}

function ropeConfig(config: Record<string, unknown>, spec: ModelSpec, d: number, dPrime: number, start: number): { config: Record<string, unknown>; note: string } {
  const theta = Math.pow(spec.rope.theta, dPrime / d);
  const shift = Math.pow(spec.rope.theta, (2 * start) / d);
  const scaling = spec.rope.scaling;
  const factor = scaling.type === "linear" ? scaling.factor * shift : shift;
  const linear = start > 0 ? { rope_type: "linear", factor } : undefined;
  const next: Record<string, unknown> = { ...config, head_dim: dPrime };
  const parameters = config.rope_parameters;
  if (parameters !== undefined && parameters !== null && typeof parameters === "object" && !Array.isArray(parameters)) {
    next.rope_parameters = { ...parameters, rope_theta: theta, ...(linear ?? {}) };
  } else {
    next.rope_theta = theta;
    if (linear !== undefined) next.rope_scaling = linear;
  }
  const how = start > 0 ? `; frequencies divided by ${factor.toPrecision(6)} (rope_scaling linear) for the window's start` : "";
  return { config: next, note: `RoPE: pairs ${start}..${start + dPrime / 2 - 1} of ${d / 2} kept in every q/k head; rope_theta ${spec.rope.theta} -> ${theta.toPrecision(10)}${how}` };
}

/** One head_dim serves every layer: its predicted time is the per-layer prediction times the layer count. */
function allLayers(perLayer: (d: number) => Prediction | null, layers: number): (d: number) => Prediction | null {
  return (d) => {
    const p = perLayer(d);
    return p && { ms: p.ms * layers, basis: `${layers} layers x (${p.basis})` };
  };
}

export function compressHeadDim(input: MethodInput): MethodResult {
  const { spec, weights, stats } = input;
  const g = geometry(spec);
  const prefixOnly = spec.rope.scaling.type === "llama3" || input.ropeWindow === "prefix";
  const mass = new Float64Array(g.half);
  const valueEnergy = new Float64Array(g.d);
  const values: ReturnType<typeof prepareValues>[] = [];
  if (weights !== null) {
    for (const layer of spec.layers) {
      const gram = stats?.[layer.index].attn_in.gram ?? null;
      pairMass(layer, g, weights, gram).forEach((m, j) => (mass[j] += m));
      const lx = gram === null ? null : dampedCholesky(gram).l;
      const prepared = prepareValues(layer, g, weights, lx);
      prepared.energy.forEach((e, i) => (valueEnergy[i] += e));
      values.push(prepared);
    }
  }
  const energy = weights === null ? null : headDimEnergy(mass, valueEnergy, prefixOnly);
  const budgetSize = Math.max(2, 2 * Math.floor((input.target.fraction * g.d) / 2));
  const target = input.target.kind === "energy" ? energySize(energy, g.d, input.target.fraction, 2) : budgetSize;
  const decision = decideSize(
    {
      id: "self_attn.head_dim",
      full: g.d,
      energy,
      step: 2,
      target,
      cost: input.profile === null ? undefined : allLayers(headDimCost(input.profile, { hidden: g.hidden, numHeads: g.heads, numKvHeads: g.kvHeads }, input.servingDtype), spec.numLayers),
    },
    input.align,
  );
  const dPrime = decision.chosen;
  if (dPrime % 2 !== 0) throw new Error(`unreachable: head_dim ${dPrime} is odd`);
  const count = dPrime / 2;
  const start = weights === null ? 0 : bestWindow(mass, count, prefixOnly).start;
  const qScale = Math.sqrt(dPrime / g.d);

  const replacements = new Map<string, NewTensor[]>();
  for (const layer of spec.layers) {
    const q = requireDense(layer.attn.q, `layers.${layer.index}.self_attn.q_proj`);
    const k = requireDense(layer.attn.k, `layers.${layer.index}.self_attn.k_proj`);
    const v = requireDense(layer.attn.v, `layers.${layer.index}.self_attn.v_proj`);
    const o = requireDense(layer.attn.o, `layers.${layer.index}.self_attn.o_proj`);
    const qRows = Array.from({ length: g.heads }, (_, h) => pairRows(g, h, start, count)).flat();
    const kRows = Array.from({ length: g.kvHeads }, (_, h) => pairRows(g, h, start, count)).flat();
    const maps = weights === null ? null : values[layer.index].at(dPrime);
    const select = (name: string, rows: number[], cols: number, total: number, scale = 1): Float64Array | null => {
      if (weights === null) return null;
      const w = pickRows(matrix(total, cols, requireWeight(weights, name, total * cols)), rows).data;
      return scale === 1 ? w : w.map((x) => x * scale);
    };
    const put = (lin: typeof q, rows: number, weight: Float64Array | null, bias: Float64Array | null) => {
      replacements.set(lin.weight.tensor, [{ name: lin.weight.tensor, shape: [rows, lin.in], values: weight }]);
      if (lin.weight.bias !== undefined) replacements.set(lin.weight.bias, [{ name: lin.weight.bias, shape: [rows], values: bias }]);
    };
    put(q, g.heads * dPrime, select(q.weight.tensor, qRows, q.in, q.out, qScale), q.weight.bias === undefined ? null : select(q.weight.bias, qRows, 1, q.out, qScale));
    put(k, g.kvHeads * dPrime, select(k.weight.tensor, kRows, k.in, k.out), k.weight.bias === undefined ? null : select(k.weight.bias, kRows, 1, k.out));
    const vWeight = maps === null ? null : stackRows(maps.perKv.map((m) => m.v)).data;
    const vBias = maps === null || v.weight.bias === undefined ? null : Float64Array.from(maps.perKv.flatMap((m) => Array.from(m.vBias ?? [])));
    put(v, g.kvHeads * dPrime, vWeight, vBias);
    const oWeight = maps === null ? null : stackCols(maps.perKv.flatMap((m) => m.o)).data;
    replacements.set(o.weight.tensor, [{ name: o.weight.tensor, shape: [o.out, g.heads * dPrime], values: oWeight }]);
  }
  const rope = ropeConfig(input.config, spec, g.d, dPrime, start);
  const notes = [
    rope.note,
    `q_proj scaled by sqrt(${dPrime}/${g.d}) so the softmax keeps the original head_dim^-0.5`,
    `v/o: per KV head, top ${dPrime} singular directions of the o_proj-weighted value map${stats === null ? "" : ", whitened by the attention input's Gram matrix"}`,
  ];
  if (spec.rope.scaling.type === "llama3") notes.push("llama3 rope_scaling is not a plain division of frequencies: the window starts at pair 0");
  else if (input.ropeWindow === "prefix")
    notes.push("window: the highest-frequency pairs (--rope-window prefix; the score-mass window dropped the local-position pairs and doubled perplexity on the bundled model)");
  if (weights === null) notes.push("--sizes-only: no weights, the window starts at pair 0");
  return { replacements, config: rope.config, decisions: [decision], notes };
}
