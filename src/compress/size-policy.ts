/**
 * How big each compressed matrix is: the rank of a factor pair, the head_dim of svd-heads, the MLP
 * width of a pruned layer. A method turns its budget or energy target into a target size per
 * matrix; the alignment policy then moves it:
 *   none     the target as the method picks it (usually irregular);
 *   8, 16    rounded to a multiple (down, up or nearest; clamped to [multiple, full]);
 *   profile  among the sizes within PROFILE_WINDOW of the target, the one the GPU profile predicts
 *            cheapest, provided its estimated relative reconstruction error, sqrt(dropped energy),
 *            is at most (1 + tolerance) times the target's. Ties within 1% go to the larger size.
 * "Energy" is what the method ranks by: squared singular values for factorisations, per-pair
 * importance for head_dim, per-channel importance for MLP widths; kept and dropped energy are the
 * accuracy estimate every choice prints.
 */
import type { Prediction } from "../profile/predict.js";

export type SizeTarget = { kind: "budget"; fraction: number } | { kind: "energy"; fraction: number };

export type RoundMode = "down" | "up" | "nearest";

export type AlignPolicy = { kind: "none" } | { kind: "multiple"; of: number; round: RoundMode } | { kind: "profile"; tolerance: number };

/** Sizes tried on either side of the target by `--align profile`. */
export const PROFILE_WINDOW = 16;
/** Default extra relative error `--align profile` may spend for speed (2%). */
export const DEFAULT_PROFILE_TOLERANCE = 0.02;
/** Predicted times within this fraction of the cheapest count as a tie (profile noise is larger). */
const TIE_FRACTION = 0.01;

export interface SizeProblem {
  /** DimChange-style id: "layers.0.self_attn.q_proj.rank", "self_attn.head_dim", "layers.1.mlp.intermediate". */
  id: string;
  /** The largest size (full rank, full width): the original function. */
  full: number;
  /** Per-unit energy in decreasing order (length full), or null when no weights are read (--sizes-only: flat). */
  energy: Float64Array | null;
  /** Sizes must be multiples of this (2 for head_dim: rotate-half pairs). */
  step: number;
  /** The method's size before alignment. */
  target: number;
  /** Predicted ms of the calls the size changes (prefill + decode), or null; needed by `profile`. */
  cost?: (size: number) => Prediction | null;
}

export interface SizeDecision {
  id: string;
  full: number;
  target: number;
  chosen: number;
  kept_energy_target: number;
  kept_energy_chosen: number;
  /** Estimated relative reconstruction error sqrt(dropped energy fraction). */
  error_target: number;
  error_chosen: number;
  predicted_ms_target: number | null;
  predicted_ms_chosen: number | null;
  why: string;
}

/** Fraction of the energy in the first `size` units (a flat spectrum when energy is null). */
export function keptFraction(energy: Float64Array | null, full: number, size: number): number {
  if (energy === null) return Math.min(size, full) / full;
  let total = 0;
  let kept = 0;
  for (let i = 0; i < energy.length; i++) {
    total += energy[i];
    if (i < size) kept += energy[i];
  }
  return total > 0 ? kept / total : 1;
}

export function relativeError(energy: Float64Array | null, full: number, size: number): number {
  return Math.sqrt(Math.max(0, 1 - keptFraction(energy, full, size)));
}

/** Smallest size (a multiple of step) keeping at least `fraction` of the energy; 1 (or more) means full. */
export function energySize(energy: Float64Array | null, full: number, fraction: number, step: number): number {
  if (fraction >= 1) return full;
  for (let size = step; size < full; size += step) if (keptFraction(energy, full, size) >= fraction) return size;
  return full;
}

function roundTo(target: number, of: number, mode: RoundMode): number {
  const down = Math.floor(target / of) * of;
  const up = Math.ceil(target / of) * of;
  if (mode === "down") return down;
  if (mode === "up") return up;
  return target - down < up - target ? down : up;
}

function ms(p: Prediction | null | undefined): number | null {
  return p === null || p === undefined ? null : p.ms;
}

function fmtMs(v: number): string {
  return v >= 1 ? v.toFixed(3) : v.toPrecision(3);
}

function pct(x: number): string {
  return `${(100 * x).toFixed(2)}%`;
}

export function decideSize(problem: SizeProblem, policy: AlignPolicy): SizeDecision {
  const { full, energy, target } = problem;
  const decision = (chosen: number, why: string): SizeDecision => ({
    id: problem.id,
    full,
    target,
    chosen,
    kept_energy_target: keptFraction(energy, full, target),
    kept_energy_chosen: keptFraction(energy, full, chosen),
    error_target: relativeError(energy, full, target),
    error_chosen: relativeError(energy, full, chosen),
    predicted_ms_target: ms(problem.cost?.(target)),
    predicted_ms_chosen: ms(problem.cost?.(chosen)),
    why,
  });
  switch (policy.kind) {
    case "none":
      return decision(target, "as the method picks it");
    case "multiple": {
      const rounded = roundTo(target, policy.of, policy.round);
      if (rounded === target) return decision(target, `already a multiple of ${policy.of}`);
      if (rounded > full) return decision(full, `rounding ${policy.round} to ${rounded} passes the full size ${full}; full size kept`);
      if (rounded < policy.of) return decision(Math.min(policy.of, full), `rounding down reaches 0; the smallest multiple ${Math.min(policy.of, full)} kept`);
      return decision(rounded, `rounded ${policy.round} to a multiple of ${policy.of}`);
    }
    case "profile":
      return profileDecision(problem, policy.tolerance, decision);
  }
}

function profileDecision(problem: SizeProblem, tolerance: number, decision: (chosen: number, why: string) => SizeDecision): SizeDecision {
  const { full, energy, target, step } = problem;
  if (problem.cost === undefined) throw new Error(`unreachable: ${problem.id} has no cost model for --align profile`);
  const limit = relativeError(energy, full, target) * (1 + tolerance) + 1e-12;
  const candidates: { size: number; ms: number }[] = [];
  const lo = Math.max(step, Math.ceil((target - PROFILE_WINDOW) / step) * step);
  const hi = Math.min(full, target + PROFILE_WINDOW);
  for (let size = lo; size <= hi; size += step) {
    if (relativeError(energy, full, size) > limit) continue;
    const p = problem.cost(size);
    if (p !== null) candidates.push({ size, ms: p.ms });
  }
  if (candidates.length === 0) {
    const fallback = Math.min(full, Math.max(16, Math.round(target / 16) * 16));
    return decision(fallback, `the profile predicts no size near ${target} (shapes outside its tables); rounded to the nearest multiple of 16 instead`);
  }
  const cheapest = Math.min(...candidates.map((c) => c.ms));
  const best = candidates.filter((c) => c.ms <= cheapest * (1 + TIE_FRACTION)).sort((a, b) => b.size - a.size)[0];
  const targetMs = ms(problem.cost(target));
  const vs = targetMs === null ? "the target has no prediction" : `target ${fmtMs(targetMs)} ms`;
  return decision(best.size, `cheapest predicted of ${candidates.length} sizes in ${lo}..${hi} within ${pct(tolerance)} more error: ${fmtMs(best.ms)} ms (${vs})`);
}
