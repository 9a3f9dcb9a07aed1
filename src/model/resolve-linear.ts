/**
 * Finds how the checkpoint stores one linear map of one layer and checks that its factors chain.
 * Each projection is resolved on its own because compressors mix forms (ASVD leaves some
 * projections dense; PaLU replaces only k_proj and v_proj). Tensor names per form
 * (compressed_formats.md §1-2), for base = "model.layers.3.self_attn.k_proj":
 *   dense   base.weight [out, in] (+ base.bias)
 *   asvd    base.BLinear.weight [r, in] then base.ALinear.weight [out, r] (+ .bias on either)
 *   svdllm  model.layers.3.self_attn.k_v_proj.weight [r, in] then k_u_proj.weight [out, r]
 *   palu    base.VT.weight [sum r_g, in] then base.U.{g}.weight [groupDim, r_g] (+ U.{g}.bias)
 */
import { GacError } from "../errors.js";
import type { LinearModule } from "./layer-linears.js";
import type { TensorInfo, TensorPlacer } from "./placer.js";
import type { LinearSpec, WeightRef } from "./types.js";

export type LinearForm = "dense" | "asvd" | "svdllm" | "palu";
const LINEAR_FORMS: readonly LinearForm[] = ["dense", "asvd", "svdllm", "palu"];

export interface ResolvedLinear {
  form: LinearForm;
  linear: LinearSpec;
}

/** More groups than any real model has heads: a bound on the U.{g} scan, not a limit in practice. */
const MAX_PALU_GROUPS = 4096;

export function resolveLinear(placer: TensorPlacer, layerPrefix: string, module: LinearModule): ResolvedLinear {
  const base = `${layerPrefix}.${module}`;
  const [parent, leaf] = module.split(".");
  const svdBase = `${layerPrefix}.${parent}.${leaf.replace(/_proj$/, "")}`;
  const anchors: Record<LinearForm, string> = {
    dense: `${base}.weight`,
    asvd: `${base}.BLinear.weight`,
    svdllm: `${svdBase}_v_proj.weight`,
    palu: `${base}.VT.weight`,
  };
  const found = LINEAR_FORMS.filter((form) => placer.has(anchors[form]));
  if (found.length === 0) {
    throw new GacError(
      "UNKNOWN_LAYOUT",
      `no weight for '${base}' (looked for '${anchors.dense}', '${anchors.asvd}', '${anchors.svdllm}' and '${anchors.palu}'): ` +
        `gac does not know how this projection is stored${placer.firstUnplacedClause(base)}`,
    );
  }
  if (found.length > 1) {
    throw new GacError("UNKNOWN_LAYOUT", `'${base}' is stored in two forms at once ('${anchors[found[0]]}' and '${anchors[found[1]]}'): gac cannot tell which one the model uses`);
  }
  const form = found[0];
  switch (form) {
    case "dense": {
      const weight = takeWeight(placer, base);
      return { form, linear: { kind: "dense", in: weight.in, out: weight.out, weight } };
    }
    case "asvd":
      return { form, linear: lowRank(takeWeight(placer, `${base}.BLinear`), takePair(placer, `${base}.ALinear`, `${base}.BLinear`, "an ASVD BLinear/ALinear pair")) };
    case "svdllm":
      return { form, linear: lowRank(takeWeight(placer, `${svdBase}_v_proj`), takePair(placer, `${svdBase}_u_proj`, `${svdBase}_v_proj`, "an SVD-LLM v_proj/u_proj pair")) };
    case "palu":
      return { form, linear: grouped(placer, base) };
  }
}

function takePair(placer: TensorPlacer, second: string, first: string, what: string): WeightRef {
  if (!placer.has(`${second}.weight`)) {
    throw new GacError("UNKNOWN_LAYOUT", `'${first}.weight' has no partner '${second}.weight': ${what} needs both factors`);
  }
  return takeWeight(placer, second);
}

function lowRank(first: WeightRef, second: WeightRef): LinearSpec {
  if (first.out !== second.in) {
    throw new GacError("CONFIG_MISMATCH", `'${first.tensor}' has rank ${first.out} rows but '${second.tensor}' takes ${second.in} inputs: the factor pair does not chain`);
  }
  return { kind: "lowrank", in: first.in, out: second.out, rank: first.out, first, second };
}

function grouped(placer: TensorPlacer, base: string): LinearSpec {
  const first = takeWeight(placer, `${base}.VT`);
  const groups: WeightRef[] = [];
  while (groups.length < MAX_PALU_GROUPS && placer.has(`${base}.U.${groups.length}.weight`)) {
    groups.push(takeWeight(placer, `${base}.U.${groups.length}`));
  }
  if (groups.length === 0) {
    throw new GacError("UNKNOWN_LAYOUT", `'${base}.VT.weight' has no '${base}.U.0.weight': a PaLU projection needs VT and one U per group`);
  }
  const groupDim = groups[0].out;
  for (const u of groups) {
    if (u.out !== groupDim) {
      throw new GacError("CONFIG_MISMATCH", `'${u.tensor}' has ${u.out} rows but '${groups[0].tensor}' has ${groupDim}: PaLU groups of one projection share one group width`);
    }
  }
  const ranks = groups.map((u) => u.in);
  const total = ranks.reduce((a, b) => a + b, 0);
  if (total !== first.out) {
    throw new GacError(
      "CONFIG_MISMATCH",
      `'${first.tensor}' has ${first.out} latent rows but the U.{g} in-dims of '${base}' sum to ${total} (${ranks.join(" + ")}): the groups do not cover the latent`,
    );
  }
  return { kind: "grouped", in: first.in, out: groupDim * groups.length, ranks, groupDim, first, groups };
}

/** Takes `${path}.weight` (2-D) and `${path}.bias` (1-D, out long) when present. */
function takeWeight(placer: TensorPlacer, path: string): WeightRef {
  const w = placer.take(`${path}.weight`);
  if (w === undefined) throw new Error(`unreachable: '${path}.weight' was checked to exist`);
  if (w.shape.length !== 2) {
    throw new GacError("UNKNOWN_LAYOUT", `'${w.name}' has shape ${shapeText(w)} but a linear weight is 2-D [out, in]`);
  }
  const [out, inFeatures] = w.shape;
  const ref: WeightRef = { tensor: w.name, out, in: inFeatures, dtype: w.dtype };
  const b = placer.take(`${path}.bias`);
  if (b !== undefined) {
    if (b.shape.length !== 1 || b.shape[0] !== out) {
      throw new GacError("CONFIG_MISMATCH", `'${b.name}' has shape ${shapeText(b)} but '${w.name}' has ${out} rows: a bias has one entry per output row`);
    }
    ref.bias = b.name;
  }
  return ref;
}

export function shapeText(t: Pick<TensorInfo, "shape">): string {
  return `[${t.shape.join(", ")}]`;
}
