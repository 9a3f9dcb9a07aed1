/**
 * svd-pairs and asvd: every projection of every layer becomes a factor pair at the policy's rank,
 * in the layout its tool saves:
 *   svd-pairs (SVD-LLM)  {layer}.self_attn.q_v_proj.weight [r, in], q_u_proj.weight [out, r];
 *                        whitened by the Cholesky factor of the calibration Gram matrix, plain SVD
 *                        without calibration; SVD-LLM saves the base model's config.json unchanged.
 *   asvd (ASVD)          {layer}.self_attn.q_proj.BLinear.weight [r, in], ALinear.weight [out, r];
 *                        scaled by mean |x|^0.5 per input channel; config truncation_ranks.
 * A budget B keeps B of each matrix's parameters, rank floor(B out in / (out + in)) as both tools
 * compute it; an energy target E keeps the fewest singular values holding E of sigma^2.
 */
import { GacError } from "../errors.js";
import { LINEAR_MODULES, layerLinear, type LinearModule } from "../model/layer-linears.js";
import type { LinearSpec } from "../model/types.js";
import type { ActivationSite } from "../verify/forward.js";
import { requireWeight } from "../verify/tensor-store.js";
import { dampedCholesky } from "./cholesky.js";
import { asvdScaling, prepareFactorisation, type InputTransform } from "./factor-linear.js";
import { matrix } from "./matrix.js";
import { lowRankCost } from "./size-cost.js";
import { decideSize, energySize, type SizeTarget } from "./size-policy.js";
import type { MethodInput, MethodResult, NewTensor } from "./types.js";

const SITE: Record<LinearModule, ActivationSite> = {
  "self_attn.q_proj": "attn_in",
  "self_attn.k_proj": "attn_in",
  "self_attn.v_proj": "attn_in",
  "self_attn.o_proj": "o_in",
  "mlp.gate_proj": "mlp_in",
  "mlp.up_proj": "mlp_in",
  "mlp.down_proj": "down_in",
};

export type LowRankLayout = "svdllm" | "asvd";

/** The factor tensor names for the dense module whose weight is `{base}.weight`. */
export function factorNames(base: string, layout: LowRankLayout): { first: string; second: string; bias: string } {
  if (layout === "asvd") return { first: `${base}.BLinear.weight`, second: `${base}.ALinear.weight`, bias: `${base}.ALinear.bias` };
  const svd = base.replace(/_proj$/, "");
  return { first: `${svd}_v_proj.weight`, second: `${svd}_u_proj.weight`, bias: `${svd}_u_proj.bias` };
}

/** Rank target of a matrix: the parameter budget's floor(B out in / (out + in)) or the energy target. */
export function rankTarget(target: SizeTarget, out: number, inFeatures: number, energy: Float64Array | null): number {
  const full = Math.min(out, inFeatures);
  if (target.kind === "energy") return energySize(energy, full, target.fraction, 1);
  return Math.max(1, Math.min(full, Math.floor((target.fraction * out * inFeatures) / (out + inFeatures))));
}

export function requireDense(linear: LinearSpec, where: string): Extract<LinearSpec, { kind: "dense" }> {
  if (linear.kind !== "dense") {
    throw new GacError(
      "UNSUPPORTED",
      `${where} is stored as ${linear.kind === "lowrank" ? "a factor pair" : "PaLU groups"}: gac compress starts from a dense checkpoint (give it the uncompressed model)`,
    );
  }
  return linear;
}

export function compressLowRank(input: MethodInput, layout: LowRankLayout): MethodResult {
  const { spec, weights, stats } = input;
  const replacements = new Map<string, NewTensor[]>();
  const decisions = [];
  const truncationRanks: Record<string, number> = {};
  let damped = 0;
  for (const layer of spec.layers) {
    for (const module of LINEAR_MODULES) {
      const where = `layers.${layer.index}.${module}`;
      const lin = requireDense(layerLinear(layer, module), where);
      const base = lin.weight.tensor.replace(/\.weight$/, "");
      const names = factorNames(base, layout);
      let prepared = input.factorisations?.get(lin.weight.tensor) ?? null;
      if (weights !== null && prepared === null) {
        const w = matrix(lin.out, lin.in, requireWeight(weights, lin.weight.tensor, lin.out * lin.in));
        let t: InputTransform = { kind: "plain" };
        const site = stats?.[layer.index][SITE[module]];
        if (site?.gram != null && layout === "svdllm") {
          const c = dampedCholesky(site.gram);
          if (c.damping > 0) damped++;
          t = { kind: "whitened", l: c.l };
        } else if (site !== undefined) {
          t = { kind: "scaled", s: asvdScaling(site.sumAbs, site.count) };
        }
        prepared = prepareFactorisation(w, t);
        input.factorisations?.set(lin.weight.tensor, prepared);
      }
      const energy = prepared?.energy ?? null;
      const decision = decideSize(
        {
          id: `${where}.rank`,
          full: Math.min(lin.out, lin.in),
          energy,
          step: 1,
          target: rankTarget(input.target, lin.out, lin.in, energy),
          cost: input.profile === null ? undefined : lowRankCost(input.profile, lin.out, lin.in, input.servingDtype),
        },
        input.align,
      );
      decisions.push(decision);
      const r = decision.chosen;
      const factors = prepared?.factorsAt(r);
      const bias = lin.weight.bias;
      replacements.set(lin.weight.tensor, [
        { name: names.first, shape: [r, lin.in], values: factors?.first.data ?? null },
        { name: names.second, shape: [lin.out, r], values: factors?.second.data ?? null },
        ...(bias === undefined ? [] : [{ name: names.bias, shape: [lin.out], values: weights === null ? null : requireWeight(weights, bias, lin.out) }]),
      ]);
      if (bias !== undefined) replacements.set(bias, []);
      truncationRanks[base] = r;
    }
  }
  const notes: string[] = [];
  if (stats === null)
    notes.push(
      layout === "svdllm" ? "no calibration: plain truncated SVD of each weight (SVD-LLM without whitening)" : "no calibration: plain truncated SVD of each weight (ASVD's scaling needs activations)",
    );
  else if (layout === "svdllm")
    notes.push(
      `whitened by the Cholesky factor of each input's Gram matrix${damped > 0 ? `; ${damped} Gram matrices needed a small diagonal to factor (too few calibration tokens for their width)` : ""}`,
    );
  else notes.push("each input channel scaled by mean |x|^0.5 before the SVD (ASVD, alpha 0.5)");
  const config =
    layout === "asvd"
      ? {
          ...input.config,
          architectures: ["ASVDLlamaForCausalLM"],
          auto_map: { AutoConfig: "configuration_asvd_llama.ASVDLlamaConfig", AutoModelForCausalLM: "modeling_asvd_llama.ASVDLlamaForCausalLM" },
          truncation_ranks: truncationRanks,
        }
      : { ...input.config };
  return { replacements, config, decisions, notes };
}
