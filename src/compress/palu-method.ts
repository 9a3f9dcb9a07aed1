/**
 * palu: PaLU-style grouped low-rank K/V (shadowpa0327/Palu, research/compressed_formats.md §1).
 * k_proj and v_proj of every layer become HeadwiseLowRankModules: the KV heads are split into
 * groups of `head_group_size` consecutive heads, and each group's rows W_g [groupDim, in] get one
 * joint factorisation W_g ~ U_g VT_g at its own rank r_g, saved as PaLU saves them:
 *   {layer}.self_attn.k_proj.VT.weight   [sum_g r_g, in]  (the VT_g stacked in group order)
 *   {layer}.self_attn.k_proj.U.{g}.weight [groupDim, r_g] (+ U.{g}.bias with k/v biases)
 * and config.json as dump_to_huggingface_repos writes it (model_type palullama / palumistral /
 * paluqwen2, PaluLlamaForCausalLM, head_wise_ranks, original_model_name_or_path). q, o and the MLP
 * stay dense. With calibration each W_g is whitened by the Cholesky factor of the layer's input
 * Gram matrix before the SVD (PaLU's `whiten` decomposition, SVD-LLM's truncation-aware
 * whitening); without, a plain SVD.
 *
 * Ranks. A budget B keeps B of each module's parameters: total rank R = floor(B out in / (in +
 * groupDim)) (VT and the U_g together hold R (in + groupDim)). PaLU's `fisher` search shares a
 * module's rank between groups by importance (rank_g ~ fisher_g); gac has no gradients on the CPU,
 * so each next unit of rank goes to the group whose next singular value is largest (water-filling
 * on sigma^2 of the whitened W_g, which is the output error on the calibration data: the split that
 * minimises the module's total error). An energy target E keeps the fewest singular values of the
 * module, pooled over its groups, holding E of its sigma^2. Every group keeps at least rank 1.
 * Ranks are per group and irregular (PaLU itself rounds them to multiples of 32 afterwards; gac
 * leaves that to --align, per group).
 */
import { GacError } from "../errors.js";
import type { ModelSpec } from "../model/types.js";
import { requireWeight } from "../verify/tensor-store.js";
import { dampedCholesky } from "./cholesky.js";
import { prepareFactorisation, type InputTransform, type PreparedFactorisation } from "./factor-linear.js";
import { requireDense } from "./low-rank-method.js";
import { matrix, sliceRows, stackRows, type Matrix } from "./matrix.js";
import { lowRankCost } from "./size-cost.js";
import { decideSize, type SizeDecision, type SizeTarget } from "./size-policy.js";
import type { MethodInput, MethodResult, NewTensor } from "./types.js";

/** PaLU's compress.py default --head_group_size. */
export const PALU_DEFAULT_HEAD_GROUP_SIZE = 4;

const PALU_MODEL_TYPES: Record<string, { modelType: string; architecture: string }> = {
  llama: { modelType: "palullama", architecture: "PaluLlamaForCausalLM" },
  mistral: { modelType: "palumistral", architecture: "PaluMistralForCausalLM" },
  qwen2: { modelType: "paluqwen2", architecture: "PaluQwen2ForCausalLM" },
};

/** The requested heads per group, or PaLU's default 4 lowered to the largest divisor of the KV head count. */
export function headGroupSize(kvHeads: number, requested: number | undefined): number {
  if (requested === undefined) {
    let gs = Math.min(PALU_DEFAULT_HEAD_GROUP_SIZE, kvHeads);
    while (kvHeads % gs !== 0) gs--;
    return gs;
  }
  if (!Number.isSafeInteger(requested) || requested < 1 || kvHeads % requested !== 0) {
    throw new GacError("BAD_ARGS", `--head-group-size ${requested} does not divide the model's ${kvHeads} KV heads: give a divisor of ${kvHeads}`);
  }
  return requested;
}

/**
 * Per-group ranks: every group starts at 1, then each next unit goes to the group with the largest
 * next energy, until `total` units (budget) or `fraction` of the pooled energy (energy target) are
 * kept. Without energies (--sizes-only) the units are dealt round-robin. Ties go to the lower group.
 */
export function allocateGroupRanks(energies: readonly (Float64Array | null)[], fulls: readonly number[], stop: { total: number } | { fraction: number }): number[] {
  const ranks = fulls.map(() => 1);
  const pooled = energies.reduce((s, e) => s + (e === null ? 0 : e.reduce((a, b) => a + b, 0)), 0);
  let kept = energies.reduce((s, e) => s + (e === null ? 0 : e[0]), 0);
  const capacity = fulls.reduce((a, b) => a + b, 0);
  const done = () => {
    const n = ranks.reduce((a, b) => a + b, 0);
    if (n >= capacity) return true;
    return "total" in stop ? n >= stop.total : pooled <= 0 || kept / pooled >= stop.fraction;
  };
  const flat = energies.every((e) => e === null);
  let turn = 0;
  while (!done()) {
    let best = -1;
    for (let i = 0; i < ranks.length; i++) {
      // Without energies: round-robin from the group after the last one served.
      const g = flat ? (turn + i) % ranks.length : i;
      if (ranks[g] >= fulls[g]) continue;
      if (flat) {
        best = g;
        break;
      }
      if (best < 0 || (energies[g] as Float64Array)[ranks[g]] > (energies[best] as Float64Array)[ranks[best]]) best = g;
    }
    if (best < 0) break;
    kept += energies[best]?.[ranks[best]] ?? 0;
    ranks[best]++;
    turn = best + 1;
  }
  return ranks;
}

/** Total rank of a module under a parameter budget: R (in + groupDim) <= B out in. */
export function paluBudgetRank(target: SizeTarget, out: number, inFeatures: number, groupDim: number, groups: number): number {
  const full = groups * Math.min(groupDim, inFeatures);
  return Math.max(groups, Math.min(full, Math.floor((target.fraction * out * inFeatures) / (inFeatures + groupDim))));
}

function paluConfig(input: MethodInput, spec: ModelSpec, headWiseRanks: Record<string, number[]>): { config: Record<string, unknown>; note: string | null } {
  const base = String(input.config.model_type ?? "");
  const palu = PALU_MODEL_TYPES[base];
  if (palu === undefined) throw new GacError("UNSUPPORTED", `model_type '${base}': PaLU has models for llama, mistral and qwen2 only (palullama, palumistral, paluqwen2)`);
  const config: Record<string, unknown> = {
    ...input.config,
    architectures: [palu.architecture],
    model_type: palu.modelType,
    head_wise_ranks: headWiseRanks,
    original_model_name_or_path: input.source ?? input.config._name_or_path ?? null,
  };
  const attn = spec.layers[0].attn;
  // PaLU pins transformers 4.37.2, whose LlamaConfig has no head_dim: it takes hidden / heads.
  if (attn.headDim * attn.numHeads === spec.hiddenSize) {
    delete config.head_dim;
    return { config, note: null };
  }
  return { config, note: `head_dim ${attn.headDim} is not hidden / heads = ${spec.hiddenSize / attn.numHeads}: kept in config.json (PaLU's transformers 4.37.2 loader would take hidden / heads)` };
}

export function compressPalu(input: MethodInput): MethodResult {
  const { spec, weights, stats } = input;
  const replacements = new Map<string, NewTensor[]>();
  const decisions: SizeDecision[] = [];
  const headWiseRanks: Record<string, number[]> = {};
  let damped = 0;
  let gsUsed = 0;
  for (const layer of spec.layers) {
    const gs = headGroupSize(layer.attn.numKvHeads, input.headGroupSize);
    gsUsed = gs;
    const groups = layer.attn.numKvHeads / gs;
    const groupDim = gs * layer.attn.headDim;
    let transform: InputTransform | null = null;
    const inputTransform = (): InputTransform => {
      if (transform !== null) return transform;
      const gram = stats?.[layer.index].attn_in.gram;
      if (gram == null) return (transform = { kind: "plain" });
      const c = dampedCholesky(gram);
      if (c.damping > 0) damped++;
      return (transform = { kind: "whitened", l: c.l });
    };
    for (const module of ["self_attn.k_proj", "self_attn.v_proj"] as const) {
      const where = `layers.${layer.index}.${module}`;
      const lin = requireDense(module === "self_attn.k_proj" ? layer.attn.k : layer.attn.v, where);
      const base = lin.weight.tensor.replace(/\.weight$/, "");
      const w = weights === null ? null : matrix(lin.out, lin.in, requireWeight(weights, lin.weight.tensor, lin.out * lin.in));
      const prepared: (PreparedFactorisation | null)[] = [];
      for (let g = 0; g < groups; g++) {
        const key = `${lin.weight.tensor}|palu gs ${gs} group ${g}`;
        let p = input.factorisations?.get(key) ?? null;
        if (p === null && w !== null) {
          p = prepareFactorisation(sliceRows(w, g * groupDim, (g + 1) * groupDim), inputTransform());
          input.factorisations?.set(key, p);
        }
        prepared.push(p);
      }
      const full = Math.min(groupDim, lin.in);
      const fulls = prepared.map(() => full);
      const energies = prepared.map((p) => p?.energy ?? null);
      const stop = input.target.kind === "budget" ? { total: paluBudgetRank(input.target, lin.out, lin.in, groupDim, groups) } : { fraction: input.target.fraction };
      const targets = allocateGroupRanks(energies, fulls, stop);
      const ranks = targets.map((target, g) => {
        const d = decideSize(
          {
            id: `${where}.rank.g${g}`,
            full,
            energy: energies[g],
            step: 1,
            target,
            cost: input.profile === null ? undefined : lowRankCost(input.profile, groupDim, lin.in, input.servingDtype),
          },
          input.align,
        );
        decisions.push(d);
        return d.chosen;
      });
      const factors = prepared.map((p, g) => p?.factorsAt(ranks[g]) ?? null);
      const vt: Matrix | null = factors.every((f) => f !== null) ? stackRows(factors.map((f) => (f as { first: Matrix }).first)) : null;
      const bias = lin.weight.bias === undefined || weights === null ? null : requireWeight(weights, lin.weight.bias, lin.out);
      const total = ranks.reduce((a, b) => a + b, 0);
      replacements.set(lin.weight.tensor, [
        { name: `${base}.VT.weight`, shape: [total, lin.in], values: vt?.data ?? null },
        ...ranks.flatMap((r, g) => [
          { name: `${base}.U.${g}.weight`, shape: [groupDim, r], values: factors[g]?.second.data ?? null },
          ...(lin.weight.bias === undefined ? [] : [{ name: `${base}.U.${g}.bias`, shape: [groupDim], values: bias === null ? null : bias.slice(g * groupDim, (g + 1) * groupDim) }]),
        ]),
      ]);
      if (lin.weight.bias !== undefined) replacements.set(lin.weight.bias, []);
      headWiseRanks[base] = ranks;
    }
  }
  const { config, note } = paluConfig(input, spec, headWiseRanks);
  const notes = [
    `head_group_size ${gsUsed}: k_proj and v_proj as PaLU HeadwiseLowRankModules (VT + U.{g}); q, o and the MLP stay dense`,
    input.target.kind === "budget"
      ? "each module's total rank floor(B out in / (in + group_dim)) shared between its groups by singular-value energy (water-filling; PaLU's fisher rule uses gradients)"
      : "each module keeps the fewest singular values, pooled over its groups, holding the energy target",
    stats === null
      ? "no calibration: plain truncated SVD of each group's rows (PaLU's svd decomposition)"
      : `each group whitened by the Cholesky factor of the layer input's Gram matrix (PaLU's whiten decomposition)${damped > 0 ? `; ${damped} Gram matrices needed a small diagonal to factor` : ""}`,
  ];
  if (note !== null) notes.push(note);
  return { replacements, config, decisions, notes };
}
