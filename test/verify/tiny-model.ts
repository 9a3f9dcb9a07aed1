/**
 * In-memory Llama-family models for the reference forward's tests: a ModelSpec built by hand plus
 * seeded random float64 weights, and the padding rules written out independently of src/repair so
 * that each exactness identity is checked against the forward, not against repair's own code.
 */
import type { AttentionSpec, LayerSpec, LinearSpec, MlpSpec, ModelSpec, RopeScaling, WeightRef } from "../../src/model/types.js";
import type { LoadedModel } from "../../src/verify/forward.js";
import { randomNormals } from "../../src/util/prng.js";

export type LinearKind = "dense" | "lowrank" | "grouped";

export interface TinyOptions {
  hidden?: number;
  vocab?: number;
  layers?: number;
  heads?: number;
  kvHeads?: number;
  headDim?: number;
  intermediate?: number;
  /** Inner rank of every low-rank linear (kind "lowrank"), or of each PaLU group of k/v (kind "grouped"). */
  rank?: number;
  kind?: LinearKind;
  qkvBias?: boolean;
  theta?: number;
  scaling?: RopeScaling;
  tied?: boolean;
  seed?: number;
}

export interface TinyModel extends LoadedModel {
  weights: Map<string, Float64Array>;
}

const P = (i: number) => `model.layers.${i}`;

export function tinyModel(o: TinyOptions = {}): TinyModel {
  const hidden = o.hidden ?? 16;
  const vocab = o.vocab ?? 24;
  const numLayers = o.layers ?? 2;
  const heads = o.heads ?? 4;
  const kvHeads = o.kvHeads ?? 2;
  const headDim = o.headDim ?? 6;
  const inter = o.intermediate ?? 20;
  const rank = o.rank ?? 5;
  const kind = o.kind ?? "dense";
  let seed = o.seed ?? 1;
  const weights = new Map<string, Float64Array>();
  const put = (name: string, n: number, scale: number): void => {
    const w = randomNormals(seed++, n);
    for (let i = 0; i < n; i++) w[i] *= scale;
    weights.set(name, w);
  };
  const ref = (name: string, out: number, inDim: number, bias: boolean): WeightRef => {
    put(`${name}.weight`, out * inDim, 1 / Math.sqrt(inDim));
    if (bias) put(`${name}.bias`, out, 0.1);
    return { tensor: `${name}.weight`, ...(bias ? { bias: `${name}.bias` } : {}), out, in: inDim };
  };
  const linear = (name: string, out: number, inDim: number, bias: boolean, groupable: boolean): LinearSpec => {
    if (kind === "lowrank") {
      const first = ref(`${name}.BLinear`, rank, inDim, false);
      const second = ref(`${name}.ALinear`, out, rank, bias);
      return { kind: "lowrank", in: inDim, out, rank, first, second };
    }
    if (kind === "grouped" && groupable) {
      const groups = kvHeads; // one kv head per group keeps the tiny model small
      const groupDim = out / groups;
      const ranks = Array.from({ length: groups }, (_, g) => rank + g); // unequal ranks exercise the offsets
      const first = ref(
        `${name}.VT`,
        ranks.reduce((a, b) => a + b, 0),
        inDim,
        false,
      );
      const gs = ranks.map((r, g) => ref(`${name}.U.${g}`, groupDim, r, bias));
      return { kind: "grouped", in: inDim, out, ranks, groupDim, first, groups: gs };
    }
    return { kind: "dense", in: inDim, out, weight: ref(name, out, inDim, bias) };
  };

  put("model.embed_tokens.weight", vocab * hidden, 1);
  const layers: LayerSpec[] = [];
  for (let i = 0; i < numLayers; i++) {
    const inputNorm = `${P(i)}.input_layernorm.weight`;
    const postAttentionNorm = `${P(i)}.post_attention_layernorm.weight`;
    weights.set(
      inputNorm,
      randomNormals(seed++, hidden).map((x) => 1 + 0.1 * x),
    );
    weights.set(
      postAttentionNorm,
      randomNormals(seed++, hidden).map((x) => 1 + 0.1 * x),
    );
    const qb = o.qkvBias ?? false;
    const attn: AttentionSpec = {
      numHeads: heads,
      numKvHeads: kvHeads,
      headDim,
      headDimV: headDim,
      q: linear(`${P(i)}.self_attn.q_proj`, heads * headDim, hidden, qb, false),
      k: linear(`${P(i)}.self_attn.k_proj`, kvHeads * headDim, hidden, qb, true),
      v: linear(`${P(i)}.self_attn.v_proj`, kvHeads * headDim, hidden, qb, true),
      o: linear(`${P(i)}.self_attn.o_proj`, hidden, heads * headDim, false, false),
    };
    const mlp: MlpSpec = {
      intermediate: inter,
      gate: linear(`${P(i)}.mlp.gate_proj`, inter, hidden, false, false),
      up: linear(`${P(i)}.mlp.up_proj`, inter, hidden, false, false),
      down: linear(`${P(i)}.mlp.down_proj`, hidden, inter, false, false),
    };
    layers.push({ index: i, inputNorm, postAttentionNorm, attn, mlp });
  }
  weights.set(
    "model.norm.weight",
    randomNormals(seed++, hidden).map((x) => 1 + 0.1 * x),
  );
  const tied = o.tied ?? false;
  if (!tied) put("lm_head.weight", vocab * hidden, 1 / Math.sqrt(hidden));
  const spec: ModelSpec = {
    family: kind === "dense" ? "dense" : kind === "lowrank" ? "asvd" : "palu",
    modelType: "llama",
    hiddenSize: hidden,
    vocabSize: vocab,
    numLayers,
    rmsNormEps: 1e-6,
    rope: { theta: o.theta ?? 10000, scaling: o.scaling ?? { type: "default" }, partialRotaryFactor: 1 },
    numHeads: heads,
    numKvHeads: kvHeads,
    headDim,
    embedTokens: "model.embed_tokens.weight",
    lmHead: tied ? "model.embed_tokens.weight" : "lm_head.weight",
    finalNorm: "model.norm.weight",
    tieWordEmbeddings: tied,
    dtype: "F64",
    layers,
    heterogeneous: false,
    configDisagreements: [],
  };
  return { spec, weights };
}

// ---- padding rules, written out for the tests --------------------------------------------------

/** Copies of w [rows, cols] with row r moved to rowMap(r) in a [newRows, cols] zero matrix. */
export function remapRows(w: Float64Array, rows: number, cols: number, newRows: number, rowMap: (r: number) => number): Float64Array {
  const out = new Float64Array(newRows * cols);
  for (let r = 0; r < rows; r++) out.set(w.subarray(r * cols, (r + 1) * cols), rowMap(r) * cols);
  return out;
}

/** Copies of w [rows, cols] with column c moved to colMap(c) in a [rows, newCols] zero matrix. */
export function remapCols(w: Float64Array, rows: number, cols: number, newCols: number, colMap: (c: number) => number): Float64Array {
  const out = new Float64Array(rows * newCols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * newCols + colMap(c)] = w[r * cols + c];
  return out;
}

function clone(m: TinyModel): TinyModel {
  return { spec: structuredClone(m.spec), weights: new Map([...m.weights].map(([k, v]) => [k, v.slice()])) };
}

function denseRef(l: LinearSpec): WeightRef {
  if (l.kind !== "dense") throw new Error(`test helper pads dense q/k/v/o only, got ${l.kind}`);
  return l.weight;
}

export interface HeadDimPadding {
  to: number;
  /** "halves": [0,d/2) stays, [d/2,d) moves to [D/2, D/2+d/2) (the rule); "end": [0,d) stays (wrong for RoPE). */
  layout: "halves" | "end";
  /** Fold sqrt(D/d) into q_proj weight and bias (fold mode); false leaves the scale to the caller (logical mode). */
  foldScale: boolean;
  /** Set rope_theta' = rope_theta^(D/d) (the rule); false keeps theta (wrong). */
  adjustTheta: boolean;
}

/** Pads head_dim d -> D in every layer of a dense model. */
export function padHeadDim(m: TinyModel, p: HeadDimPadding): TinyModel {
  const out = clone(m);
  const d = m.spec.headDim;
  const D = p.to;
  const qkMap = (i: number): number => (p.layout === "end" || i < d / 2 ? i : i - d / 2 + D / 2);
  const vMap = (i: number): number => i;
  const fold = p.foldScale ? Math.sqrt(D / d) : 1;
  const perHead = (r: number, map: (i: number) => number): number => Math.floor(r / d) * D + map(r % d);
  for (const layer of out.spec.layers) {
    const a = layer.attn;
    const rowsOf = (l: LinearSpec, heads: number, map: (i: number) => number, scale: number): void => {
      const w = denseRef(l);
      const wt = out.weights.get(w.tensor)!;
      out.weights.set(
        w.tensor,
        remapRows(wt, w.out, w.in, heads * D, (r) => perHead(r, map)).map((x) => x * scale),
      );
      if (w.bias)
        out.weights.set(
          w.bias,
          remapRows(out.weights.get(w.bias)!, w.out, 1, heads * D, (r) => perHead(r, map)).map((x) => x * scale),
        );
      w.out = heads * D;
      l.out = heads * D;
    };
    rowsOf(a.q, a.numHeads, qkMap, fold);
    rowsOf(a.k, a.numKvHeads, qkMap, 1);
    rowsOf(a.v, a.numKvHeads, vMap, 1);
    const o = denseRef(a.o);
    out.weights.set(
      o.tensor,
      remapCols(out.weights.get(o.tensor)!, o.out, o.in, a.numHeads * D, (c) => perHead(c, vMap)),
    );
    o.in = a.numHeads * D;
    a.o.in = a.numHeads * D;
    a.headDim = D;
    a.headDimV = D;
  }
  out.spec.headDim = D;
  if (p.adjustTheta) out.spec.rope.theta = Math.pow(m.spec.rope.theta, D / d);
  return out;
}

/** Pads the MLP intermediate I -> I' with zero gate/up rows and zero down columns (at the end). */
export function padIntermediate(m: TinyModel, to: number): TinyModel {
  const out = clone(m);
  for (const layer of out.spec.layers) {
    const { gate, up, down } = layer.mlp;
    for (const l of [gate, up]) {
      const w = denseRef(l);
      out.weights.set(
        w.tensor,
        remapRows(out.weights.get(w.tensor)!, w.out, w.in, to, (r) => r),
      );
      w.out = to;
      l.out = to;
    }
    const w = denseRef(down);
    out.weights.set(
      w.tensor,
      remapCols(out.weights.get(w.tensor)!, w.out, w.in, to, (c) => c),
    );
    w.in = to;
    down.in = to;
    layer.mlp.intermediate = to;
  }
  return out;
}

/** Pads every low-rank inner dim (lowrank: r -> R; grouped: each group's r_g -> R_g = r_g + extra). */
export function padRanks(m: TinyModel, extra: number): TinyModel {
  const out = clone(m);
  const all = out.spec.layers.flatMap((l) => [l.attn.q, l.attn.k, l.attn.v, l.attn.o, l.mlp.gate, l.mlp.up, l.mlp.down]);
  for (const l of all) {
    if (l.kind === "lowrank") {
      const R = l.rank + extra;
      const f = l.first;
      const s = l.second;
      out.weights.set(
        f.tensor,
        remapRows(out.weights.get(f.tensor)!, f.out, f.in, R, (r) => r),
      );
      out.weights.set(
        s.tensor,
        remapCols(out.weights.get(s.tensor)!, s.out, s.in, R, (c) => c),
      );
      f.out = R;
      s.in = R;
      l.rank = R;
    } else if (l.kind === "grouped") {
      const oldOffsets = offsets(l.ranks);
      const newRanks = l.ranks.map((r) => r + extra);
      const newOffsets = offsets(newRanks);
      const total = newRanks.reduce((a, b) => a + b, 0);
      const groupOf = (row: number): number => oldOffsets.filter((o) => o <= row).length - 1;
      const f = l.first;
      out.weights.set(
        f.tensor,
        remapRows(out.weights.get(f.tensor)!, f.out, f.in, total, (r) => newOffsets[groupOf(r)] + r - oldOffsets[groupOf(r)]),
      );
      f.out = total;
      l.groups.forEach((g, gi) => {
        out.weights.set(
          g.tensor,
          remapCols(out.weights.get(g.tensor)!, g.out, g.in, newRanks[gi], (c) => c),
        );
        g.in = newRanks[gi];
      });
      l.ranks = newRanks;
    }
  }
  return out;
}

function offsets(ranks: number[]): number[] {
  const o: number[] = [];
  let acc = 0;
  for (const r of ranks) {
    o.push(acc);
    acc += r;
  }
  return o;
}
