/**
 * From dim changes to byte edits: which rows and columns of which tensors get zeros, and which
 * tensors get the folded softmax scale. Pure (a ModelSpec and DimChanges in, TensorEdits out), so
 * the mapping from the exactness rules to tensors is tested without files.
 *
 *   rank r -> R        first factor: rows (+ its bias); second factor: columns
 *                      PaLU: VT rows per group segment, U.g columns
 *   intermediate I->I' gate/up: rows (+ bias); down: columns
 *   head_dim d -> D    q/k: rows per head, RoPE half-split (+ bias); v: rows per head at the end
 *                      (+ bias); o: columns per head at the end; q's output factor x sqrt(D/d) in
 *                      fold mode; a stored rotary inv_freq [d/2] gets zeros (frequency 0 on dims
 *                      that are zero anyway)
 */
import { GacError } from "../errors.js";
import { DTYPES, type Dtype } from "../checkpoint/types.js";
import { layerLinear, type LinearModule, LINEAR_MODULES } from "../model/layer-linears.js";
import type { LayerSpec, LinearSpec, ModelSpec, WeightRef } from "../model/types.js";
import type { DimChange } from "../plan/types.js";
import { padAtEnd, padHeadsAtEnd, padHeadsHalfSplit, padSegments, repeatLayout, type PadLayout } from "./rules/layout.js";
import { attentionScaleFold } from "./rules/fold-scale.js";

export type ScaleMode = "fold" | "logical";

/** What happens to one tensor. Weights are [rows, cols]; biases and inv_freq are 1-D (rows only). */
export interface TensorEdit {
  tensor: string;
  dtype: Dtype;
  from: number[];
  to: number[];
  rows?: PadLayout;
  cols?: PadLayout;
  /** Multiply every element by this before padding (the folded attention scale). */
  scale?: number;
  /** Which rules touched it, for the manifest: "rows: head_dim 100->104 (RoPE half-split)". */
  reasons: string[];
  /** What padded positions hold when not all-zero bytes (stored tensors of quantized weights: quant/quantized-edits.ts). */
  fill?: PadFill;
}

/**
 * Padding values other than zero bytes, for the stored tensors of a quantized weight: a neutral
 * scale 1.0, int4 codes at a group's zero-point, group numbers that move with their groups.
 */
export interface PadFill {
  /** One element's bytes, at every padded position unless `row` gives that row. */
  element: Uint8Array;
  /** The bytes of padded destination row r when it is not all `element` (undefined: all `element`). */
  row?: (dstRow: number) => Uint8Array | undefined;
  /**
   * Rewrites a block of whole source rows before it is padded (returns a new array; the block is
   * never written): into rows of the output's width when the edit has no `cols` (int4 words
   * repacked along the row), else into rows of the same width.
   */
  mapRows?: (block: Uint8Array, firstRow: number) => Uint8Array;
}

type Axis = "rows" | "cols";

/** A tensor's stored dtype and shape, by name. */
export type TensorLookup = (name: string) => { dtype: Dtype; shape: readonly number[] };

/** Bytes an edit adds to the checkpoint. */
export function addedBytes(e: TensorEdit): number {
  const n = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
  return (n(e.to) - n(e.from)) * DTYPES[e.dtype].bytes;
}

class EditBook {
  readonly edits = new Map<string, TensorEdit>();

  constructor(private readonly lookup: TensorLookup) {}

  pad(tensor: string, axis: Axis, layout: PadLayout, reason: string): void {
    const e = this.editOf(tensor);
    const dim = axis === "rows" ? 0 : 1;
    if (e.from.length <= dim) throw new GacError("UNSUPPORTED", `cannot pad ${axis} of '${tensor}' [${e.from.join(", ")}]: it has no such axis`);
    if (e.from[dim] !== layout.from) {
      throw new GacError("UNSUPPORTED", `cannot pad ${axis} of '${tensor}' [${e.from.join(", ")}] from ${layout.from}: the tensor has ${e.from[dim]} (${reason})`);
    }
    if (e[axis] !== undefined) throw new GacError("UNSUPPORTED", `two rules pad the ${axis} of '${tensor}' (${e.reasons.join("; ")}; ${reason})`);
    e[axis] = layout;
    e.to[dim] = layout.to;
    e.reasons.push(`${axis}: ${reason}`);
  }

  scale(tensor: string, factor: number, reason: string): void {
    const e = this.editOf(tensor);
    if (e.scale !== undefined) throw new GacError("UNSUPPORTED", `two rules scale '${tensor}'`);
    e.scale = factor;
    e.reasons.push(`scale x${factor.toPrecision(8)}: ${reason}`);
  }

  private editOf(tensor: string): TensorEdit {
    let e = this.edits.get(tensor);
    if (!e) {
      const { shape, dtype } = this.lookup(tensor);
      e = { tensor, dtype, from: [...shape], to: [...shape], reasons: [] };
      this.edits.set(tensor, e);
    }
    return e;
  }
}

/** The output side of a linear: the factor that produces y, with its bias. */
function padOutput(book: EditBook, linear: LinearSpec, perBlock: PadLayout, blocks: number, reason: string): void {
  const refs: WeightRef[] = linear.kind === "dense" ? [linear.weight] : linear.kind === "lowrank" ? [linear.second] : linear.groups;
  const blocksPerRef = blocks / refs.length;
  if (!Number.isInteger(blocksPerRef)) {
    throw new GacError("UNSUPPORTED", `${reason}: ${blocks} heads do not split evenly over ${refs.length} PaLU groups`);
  }
  const layout = repeatLayout(perBlock, blocksPerRef);
  for (const ref of refs) {
    book.pad(ref.tensor, "rows", layout, reason);
    if (ref.bias) book.pad(ref.bias, "rows", layout, reason);
  }
}

/** The input side of a linear: the factor that reads x. */
function padInput(book: EditBook, linear: LinearSpec, layout: PadLayout, reason: string): void {
  const ref = linear.kind === "dense" ? linear.weight : linear.first;
  book.pad(ref.tensor, "cols", layout, reason);
}

function scaleOutput(book: EditBook, linear: LinearSpec, factor: number, reason: string): void {
  const refs: WeightRef[] = linear.kind === "dense" ? [linear.weight] : linear.kind === "lowrank" ? [linear.second] : linear.groups;
  for (const ref of refs) {
    book.scale(ref.tensor, factor, reason);
    if (ref.bias) book.scale(ref.bias, factor, reason);
  }
}

function findLayer(spec: ModelSpec, index: number): LayerSpec {
  const layer = spec.layers.find((l) => l.index === index);
  if (!layer) throw new GacError("UNSUPPORTED", `the plan changes layer ${index} but the model has layers 0..${spec.layers.length - 1}`);
  return layer;
}

function linearOf(layer: LayerSpec, module: string): LinearSpec {
  const m = LINEAR_MODULES.find((x) => x === module);
  if (!m) throw new GacError("UNSUPPORTED", `the plan names linear '${module}', which is not one of ${LINEAR_MODULES.join(", ")}`);
  return layerLinear(layer, m satisfies LinearModule);
}

/**
 * Turns accepted dim changes into tensor edits. `shapes` gives each tensor's stored shape (edits are
 * checked against it: a rule that expects 107 rows where the file has 112 is an error, not a guess).
 * Changes are assumed already checked by exactness.ts (RoPE type, even head_dim, one d -> D).
 */
export function tensorEdits(spec: ModelSpec, changes: readonly DimChange[], scaleMode: ScaleMode, lookup: TensorLookup): TensorEdit[] {
  const book = new EditBook(lookup);
  // PaLU groups of one linear share one VT, so their rank changes become one segmented row layout.
  const groupedRanks = new Map<string, { layer: LayerSpec; module: string; to: Map<number, number> }>();

  for (const c of changes) {
    const site = c.site;
    const layer = findLayer(spec, site.layer);
    const what = `${c.id} ${c.from}->${c.to}`;
    switch (site.kind) {
      case "rank": {
        const linear = linearOf(layer, site.linear);
        if (linear.kind === "lowrank") {
          if (linear.rank !== c.from) throw new GacError("UNSUPPORTED", `${c.id}: the plan says rank ${c.from} but '${linear.first.tensor}' has ${linear.rank}`);
          const layout = padAtEnd(c.from, c.to);
          book.pad(linear.first.tensor, "rows", layout, what);
          if (linear.first.bias) book.pad(linear.first.bias, "rows", layout, what);
          book.pad(linear.second.tensor, "cols", layout, what);
        } else if (linear.kind === "grouped") {
          if (site.group === undefined) throw new GacError("UNSUPPORTED", `${c.id}: a PaLU rank change must name its group`);
          if (linear.ranks[site.group] !== c.from) {
            throw new GacError("UNSUPPORTED", `${c.id}: the plan says group ${site.group} has rank ${c.from} but '${linear.first.tensor}' has ${linear.ranks[site.group]}`);
          }
          const key = `${site.layer}/${site.linear}`;
          const entry = groupedRanks.get(key) ?? { layer, module: site.linear, to: new Map<number, number>() };
          entry.to.set(site.group, c.to);
          groupedRanks.set(key, entry);
          book.pad(linear.groups[site.group].tensor, "cols", padAtEnd(c.from, c.to), what);
        } else {
          throw new GacError("UNSUPPORTED", `${c.id}: '${site.linear}' of layer ${site.layer} is dense and has no rank`);
        }
        break;
      }
      case "intermediate": {
        if (layer.mlp.intermediate !== c.from) throw new GacError("UNSUPPORTED", `${c.id}: the plan says ${c.from} but layer ${site.layer} has ${layer.mlp.intermediate}`);
        const layout = padAtEnd(c.from, c.to);
        padOutput(book, layer.mlp.gate, layout, 1, what);
        padOutput(book, layer.mlp.up, layout, 1, what);
        padInput(book, layer.mlp.down, layout, what);
        break;
      }
      case "head_dim": {
        const a = layer.attn;
        const d = c.from;
        const D = c.to;
        if (a.headDim !== d || a.headDimV !== d) {
          throw new GacError("UNSUPPORTED", `${c.id}: the plan says head_dim ${d} but layer ${site.layer} has q/k ${a.headDim} and v ${a.headDimV}`);
        }
        padOutput(book, a.q, padHeadsHalfSplit(1, d, D), a.numHeads, `${what} (RoPE half-split)`);
        padOutput(book, a.k, padHeadsHalfSplit(1, d, D), a.numKvHeads, `${what} (RoPE half-split)`);
        padOutput(book, a.v, padAtEnd(d, D), a.numKvHeads, `${what} (per head, at the end)`);
        padInput(book, a.o, padHeadsAtEnd(a.numHeads, d, D), `${what} (per head, at the end, matching v)`);
        if (scaleMode === "fold") scaleOutput(book, a.q, attentionScaleFold(d, D), `${what}: softmax scale sqrt(${D}/${d}) folded into q`);
        if (layer.rotaryInvFreq) book.pad(layer.rotaryInvFreq, "rows", padAtEnd(d / 2, D / 2), `${what} (inv_freq 0 on the added dims)`);
        break;
      }
    }
  }

  for (const { layer, module, to } of groupedRanks.values()) {
    const linear = linearOf(layer, module);
    if (linear.kind !== "grouped") continue;
    const target = linear.ranks.map((r, g) => to.get(g) ?? r);
    const reason = `layers.${layer.index}.${module} group ranks [${linear.ranks.join(", ")}] -> [${target.join(", ")}] (each group padded after its own rows)`;
    book.pad(linear.first.tensor, "rows", padSegments(linear.ranks, target), reason);
    if (linear.first.bias) book.pad(linear.first.bias, "rows", padSegments(linear.ranks, target), reason);
  }
  return [...book.edits.values()];
}
