/**
 * The measured forward time of a model, unrepaired and after each strategy, from the `model`
 * suite's records (model-suite.ts): the sum over every call of its shape's median time, and the
 * speedup of each strategy over the unrepaired model, split by phase.
 *
 * One kernel, one time: a shape measured under several variants (the MLP GEMMs a head_dim repair
 * leaves alone, lm_head in prefill and decode) gets the median of its medians in every variant, so
 * calls a strategy does not change cost the same on both sides and their measurement noise cannot
 * pose as a speedup.
 *
 * A total exists only when every call of the variant was measured: a refused or failed case, or a
 * case not run yet (its calls are missing from `variant_calls`), leaves total_ms null and says so.
 */
import type { Phase } from "../graph/types.js";
import { MODEL_SUITE, UNREPAIRED, jobKey } from "./model-suite.js";
import { median } from "../util/median.js";

/** What the summary reads of a record: the store's ResultRecord and the report's BenchRecord both fit. */
export interface ModelBenchRecord {
  suite: string;
  case: string;
  params: Record<string, unknown>;
  stats?: { median_ms: number };
  error?: { type: string };
  gpu: string;
}

interface PhaseTotal {
  /** Sum of median x count over the phase's calls; null unless the whole variant was measured. */
  total_ms: number | null;
  calls: number;
  measured_calls: number;
}

interface VariantTotal {
  /** Sum of median x count over ALL calls of one forward pass; null unless every call was measured. */
  total_ms: number | null;
  /** Calls of one forward pass (prefill + decode). */
  calls: number;
  measured_calls: number;
  /** Cases refused or failed on the GPU (case ids, with the worker's error type). */
  missing: string[];
  /** Calls with no record at all (the run was interrupted or is still going). */
  unrun_calls: number;
  phases: Record<Phase, PhaseTotal>;
}

export interface ModelBenchSummary {
  model: string;
  gpu: string;
  /** "unrepaired" and each strategy measured. */
  variants: Record<string, VariantTotal>;
  /** 100 * (unrepaired / strategy - 1) per strategy: positive is faster; null unless both are complete. */
  speedup_pct: Record<string, number | null>;
  phase_speedup_pct: Record<string, Record<Phase, number | null>>;
}

const PHASES: readonly Phase[] = ["prefill", "decode"];

function speedup(base: number | null, repaired: number | null): number | null {
  return base === null || repaired === null || repaired <= 0 ? null : 100 * (base / repaired - 1);
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}
function count(v: unknown): number {
  return typeof v === "number" && Number.isSafeInteger(v) && v > 0 ? v : 0;
}

/** One summary per (model, GPU) found among the records of the `model` suite, sorted by model then GPU. */
export function summarizeModelBench(records: readonly ModelBenchRecord[]): ModelBenchSummary[] {
  const byModel = new Map<string, ModelBenchRecord[]>();
  for (const r of records) {
    const model = str(r.params.model);
    if (r.suite !== MODEL_SUITE || model === undefined) continue;
    const key = `${model}\u0000${r.gpu}`;
    byModel.set(key, [...(byModel.get(key) ?? []), r]);
  }
  return [...byModel.keys()].sort().map((key) => summarizeOne(byModel.get(key) ?? []));
}

function summarizeOne(records: readonly ModelBenchRecord[]): ModelBenchSummary {
  const medians = new Map<string, number[]>();
  for (const r of records) {
    if (!r.stats || !(r.stats.median_ms > 0)) continue;
    const k = jobKey(r.params);
    medians.set(k, [...(medians.get(k) ?? []), r.stats.median_ms]);
  }
  const timeOf = (r: ModelBenchRecord): number | undefined => {
    const ms = medians.get(jobKey(r.params));
    return ms ? median(ms) : undefined;
  };

  // A rerun never writes a case twice, but merged shards might: one line per case id.
  const byCase = new Map<string, ModelBenchRecord>();
  for (const r of records) if (!byCase.has(r.case) || r.stats) byCase.set(r.case, r);

  const variants: Record<string, VariantTotal> = {};
  for (const r of byCase.values()) {
    const variant = str(r.params.variant) ?? UNREPAIRED;
    const phase: Phase = r.params.phase === "decode" ? "decode" : "prefill";
    const v = (variants[variant] ??= {
      total_ms: 0,
      calls: count(r.params.variant_calls),
      measured_calls: 0,
      missing: [],
      unrun_calls: 0,
      phases: { prefill: { total_ms: 0, calls: 0, measured_calls: 0 }, decode: { total_ms: 0, calls: 0, measured_calls: 0 } },
    });
    const n = count(r.params.count);
    const ms = timeOf(r);
    v.phases[phase].calls += n;
    if (ms === undefined) {
      v.missing.push(`${r.case} (${r.error?.type ?? "no measurement"})`);
      continue;
    }
    v.measured_calls += n;
    v.phases[phase].measured_calls += n;
    v.phases[phase].total_ms = (v.phases[phase].total_ms ?? 0) + ms * n;
  }
  for (const v of Object.values(variants)) {
    const recorded = v.phases.prefill.calls + v.phases.decode.calls;
    v.calls = Math.max(v.calls, recorded);
    v.unrun_calls = v.calls - recorded;
    const complete = v.measured_calls === v.calls && v.calls > 0;
    v.total_ms = complete ? (v.phases.prefill.total_ms ?? 0) + (v.phases.decode.total_ms ?? 0) : null;
    for (const p of PHASES) if (!complete) v.phases[p].total_ms = null;
  }

  const base = variants[UNREPAIRED];
  const speedup_pct: Record<string, number | null> = {};
  const phase_speedup_pct: Record<string, Record<Phase, number | null>> = {};
  for (const [name, v] of Object.entries(variants)) {
    if (name === UNREPAIRED) continue;
    speedup_pct[name] = speedup(base?.total_ms ?? null, v.total_ms);
    phase_speedup_pct[name] = { prefill: speedup(base?.phases.prefill.total_ms ?? null, v.phases.prefill.total_ms), decode: speedup(base?.phases.decode.total_ms ?? null, v.phases.decode.total_ms) };
  }
  return { model: str(records[0]?.params.model) ?? "", gpu: records[0]?.gpu ?? "", variants, speedup_pct, phase_speedup_pct };
}
