/**
 * How far a profile's predictions are from measurements of real models' calls (`gac bench model`
 * records, model-suite.ts): each measured call rebuilt as the KernelCall scan would predict, its
 * predicted time set against the measured median, summarised per call group (op, phase, one-row or
 * many-row GEMM), and the whole-model speedups predicted from the per-call predictions set against
 * the measured ones (model-summary.ts).
 *
 * One kernel, one time, as in model-summary.ts: a shape measured under several variants or models
 * counts once in the error statistics, at the median of its medians.
 */
import type { Dtype } from "../checkpoint/types.js";
import { jobKey, MODEL_SUITE, UNREPAIRED } from "../bench/model-suite.js";
import { summarizeModelBench, type ModelBenchRecord } from "../bench/model-summary.js";
import type { KernelCall, Phase } from "../graph/types.js";
import { predictCall } from "./predict.js";
import type { GpuProfile } from "./types.js";
import { median } from "../util/median.js";

const PHASES: readonly Phase[] = ["prefill", "decode"];

function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

function kernelDtype(v: unknown): Dtype | null {
  return v === "bf16" ? "BF16" : v === "fp16" ? "F16" : null;
}

/** The call scan would predict for a `model` suite record's params, or null when they are not one. */
function callOfParams(params: Record<string, unknown>): KernelCall | null {
  const dtype = kernelDtype(params.dtype);
  const phase: Phase = params.phase === "decode" ? "decode" : "prefill";
  if (!dtype) return null;
  const base = { id: "measured", phase, layer: 0, role: String(params.variant ?? ""), dtype };
  if (params.op === "linear") {
    const [m, n, k] = [num(params.m), num(params.n), num(params.k)];
    if (m === undefined || n === undefined || k === undefined) return null;
    return { ...base, kind: "gemm", tensor: "measured", m, n, k };
  }
  if (params.op === "sdpa") {
    const [batch, heads, kvHeads, qLen, kvLen, headDim] = ["batch", "heads", "kv_heads", "q_len", "kv_len", "head_dim"].map((k) => num(params[k]));
    if (batch === undefined || heads === undefined || kvHeads === undefined || qLen === undefined || kvLen === undefined || headDim === undefined) return null;
    return {
      ...base,
      kind: "attention",
      batch,
      numHeads: heads,
      numKvHeads: kvHeads,
      qLen,
      kvLen,
      headDimQk: headDim,
      headDimV: num(params.head_dim_v) ?? headDim,
      causal: params.causal === true,
    };
  }
  return null;
}

/** "linear prefill m>1", "linear decode m=1", "sdpa prefill": the rows of the accuracy table. */
function callGroup(call: KernelCall): string {
  if (call.kind === "attention") return `sdpa ${call.phase}`;
  return `linear ${call.phase} ${call.m === 1 ? "m=1" : "m>1"}`;
}

interface CheckedCall {
  group: string;
  call: KernelCall;
  measured_ms: number;
  /** null: the profile gives no prediction. */
  predicted_ms: number | null;
  basis: string | null;
}

interface GroupAccuracy {
  group: string;
  /** Distinct kernels measured. */
  calls: number;
  predicted: number;
  /** Over the predicted calls: median and p90 of |log2(predicted / measured)|, and the median of log2(predicted / measured). */
  median_abs_log2: number | null;
  p90_abs_log2: number | null;
  median_log2: number | null;
}

interface SpeedupCheck {
  model: string;
  strategy: string;
  /** 100 * (unrepaired / repaired - 1), whole forward pass and per phase; null where not every call is known. */
  measured: Record<"total" | Phase, number | null>;
  predicted: Record<"total" | Phase, number | null>;
  /** Calls of the strategy's forward pass with a prediction, and all of them. */
  predicted_calls: number;
  calls: number;
}

interface AccuracyReport {
  calls: CheckedCall[];
  groups: GroupAccuracy[];
  speedups: SpeedupCheck[];
}

/** Nearest-rank quantile (q in [0, 1]) of unsorted values. */
function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

function speedup(base: number | null, repaired: number | null): number | null {
  return base === null || repaired === null || repaired <= 0 ? null : 100 * (base / repaired - 1);
}

/** Compare a profile's predictions with the `model` suite records (other suites' records are skipped). */
export function checkPredictions(profile: GpuProfile, records: readonly ModelBenchRecord[]): AccuracyReport {
  const modelRecords = records.filter((r) => r.suite === MODEL_SUITE);
  const predictOf = (call: KernelCall) => predictCall(profile, call);

  // Distinct kernels: (phase, job) -> medians of every record that timed it.
  const kernels = new Map<string, { call: KernelCall; medians: number[] }>();
  for (const r of modelRecords) {
    const call = callOfParams(r.params);
    if (!call || !r.stats || !(r.stats.median_ms > 0)) continue;
    const key = `${call.phase}\u0000${jobKey(r.params)}`;
    const k = kernels.get(key) ?? { call, medians: [] };
    k.medians.push(r.stats.median_ms);
    kernels.set(key, k);
  }
  const calls: CheckedCall[] = [...kernels.values()].map(({ call, medians }) => {
    const p = predictOf(call);
    return { group: callGroup(call), call, measured_ms: median(medians), predicted_ms: p?.ms ?? null, basis: p?.basis ?? null };
  });

  const groupNames = [...new Set(calls.map((c) => c.group))].sort();
  const groups: GroupAccuracy[] = groupNames.map((group) => {
    const mine = calls.filter((c) => c.group === group);
    const logs = mine.flatMap((c) => (c.predicted_ms === null ? [] : [Math.log2(c.predicted_ms / c.measured_ms)]));
    const abs = logs.map(Math.abs);
    return {
      group,
      calls: mine.length,
      predicted: logs.length,
      median_abs_log2: logs.length ? median(abs) : null,
      p90_abs_log2: logs.length ? quantile(abs, 0.9) : null,
      median_log2: logs.length ? median(logs) : null,
    };
  });

  return { calls, groups, speedups: checkSpeedups(modelRecords, predictOf) };
}

/** Predicted forward time per variant and phase from per-call predictions: null unless every call has one. */
function predictedTotals(records: readonly ModelBenchRecord[], predict: (call: KernelCall) => { ms: number } | null) {
  const byVariant = new Map<string, { phases: Record<Phase, number | null>; predicted: number; calls: number }>();
  const seen = new Set<string>();
  for (const r of records) {
    if (seen.has(r.case)) continue;
    seen.add(r.case);
    const variant = typeof r.params.variant === "string" ? r.params.variant : UNREPAIRED;
    const count = num(r.params.count) ?? 0;
    const call = callOfParams(r.params);
    const v = byVariant.get(variant) ?? { phases: { prefill: 0, decode: 0 }, predicted: 0, calls: 0 };
    byVariant.set(variant, v);
    v.calls += count;
    const p = call ? predict(call) : null;
    const phase = call?.phase ?? "prefill";
    if (p === null) {
      v.phases[phase] = null;
      continue;
    }
    v.predicted += count;
    if (v.phases[phase] !== null) v.phases[phase] = (v.phases[phase] ?? 0) + p.ms * count;
  }
  return byVariant;
}

function checkSpeedups(records: readonly ModelBenchRecord[], predict: (call: KernelCall) => { ms: number } | null): SpeedupCheck[] {
  const out: SpeedupCheck[] = [];
  for (const summary of summarizeModelBench(records)) {
    const mine = records.filter((r) => r.params.model === summary.model && r.gpu === summary.gpu);
    const totals = predictedTotals(mine, predict);
    const base = totals.get(UNREPAIRED);
    const total = (t: { phases: Record<Phase, number | null> } | undefined) => (t && t.phases.prefill !== null && t.phases.decode !== null ? t.phases.prefill + t.phases.decode : null);
    for (const [strategy, measuredTotal] of Object.entries(summary.speedup_pct)) {
      const t = totals.get(strategy);
      const predicted = { total: speedup(total(base), total(t)), prefill: null as number | null, decode: null as number | null };
      for (const p of PHASES) predicted[p] = speedup(base?.phases[p] ?? null, t?.phases[p] ?? null);
      out.push({
        model: summary.model,
        strategy,
        measured: { total: measuredTotal, ...summary.phase_speedup_pct[strategy] },
        predicted,
        predicted_calls: t?.predicted ?? 0,
        calls: t?.calls ?? 0,
      });
    }
  }
  return out;
}

function ratioText(log2: number | null): string {
  return log2 === null ? "—" : `${Math.pow(2, log2).toFixed(2)}x`;
}

function pctText(v: number | null): string {
  return v === null ? "—" : `${v >= 0 ? "+" : ""}${v.toFixed(1)}%`;
}

/** The report as text: per-group accuracy, then per-model speedups. */
export function renderAccuracy(report: AccuracyReport, profileLabel: string): string {
  const lines: string[] = [`profile: ${profileLabel}`, "", "Per-call accuracy (distinct kernels; error = predicted / measured):"];
  const head = ["group", "calls", "predicted", "median |err|", "p90 |err|", "median err"];
  const rows = report.groups.map((g) => [g.group, String(g.calls), String(g.predicted), ratioText(g.median_abs_log2), ratioText(g.p90_abs_log2), ratioText(g.median_log2)]);
  const all = report.calls.flatMap((c) => (c.predicted_ms === null ? [] : [Math.log2(c.predicted_ms / c.measured_ms)]));
  rows.push([
    "all",
    String(report.calls.length),
    String(all.length),
    ratioText(all.length ? median(all.map(Math.abs)) : null),
    ratioText(all.length ? quantile(all.map(Math.abs), 0.9) : null),
    ratioText(all.length ? median(all) : null),
  ]);
  lines.push(...table([head, ...rows], 1));
  lines.push("", "Whole-model speedup of each strategy over unrepaired (measured / predicted; — where a call has no prediction or measurement):");
  const sHead = ["model", "strategy", "total meas", "total pred", "prefill meas", "prefill pred", "decode meas", "decode pred", "calls predicted"];
  const sRows = report.speedups.map((s) => [
    s.model,
    s.strategy,
    pctText(s.measured.total),
    pctText(s.predicted.total),
    pctText(s.measured.prefill),
    pctText(s.predicted.prefill),
    pctText(s.measured.decode),
    pctText(s.predicted.decode),
    `${s.predicted_calls}/${s.calls}`,
  ]);
  lines.push(...table([sHead, ...sRows], 2));
  return lines.join("\n") + "\n";
}

/** Columns before `textColumns` are names (left-aligned), the rest numbers (right-aligned). */
function table(rows: readonly string[][], textColumns: number): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) =>
    r
      .map((c, i) => (i < textColumns ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join("  ")
      .trimEnd(),
  );
}
