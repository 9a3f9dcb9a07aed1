/**
 * The `model` suite: the kernel calls of one checkpoint, unrepaired and after each repair strategy,
 * as bench cases, so a GPU measures the speedup that `gac scan` predicts.
 *
 * Every variant's calls come from the same functions scan uses: the unrepaired spec through
 * buildKernelGraph, each strategy through planRepair + applyPlanToSpec + buildKernelGraph. Within a
 * variant, calls are deduplicated by (phase, kind, shape): the 32 identical layers of a Llama-3-8B
 * become one case per distinct shape, with `count` saying how many calls of the forward pass it
 * stands for. Phase is part of the key (and of the id) so the prefill/decode split needs no
 * bookkeeping; it costs one extra case per variant where prefill's lm_head (m = prefill batch)
 * has the decode shape.
 *
 * GEMMs run as the worker's `linear` (F.linear(x[m,k], w[n,k]), the layout nn.Linear serves), at the
 * serving dtype (serving-dtype.ts: fp16 for F32/F16 checkpoints, bf16 for BF16). Attention runs as
 * `sdpa` with PyTorch's own backend choice (AUTO), causal in prefill, GQA native (enable_gqa).
 *
 * A strategy whose calls are exactly an earlier variant's is not measured again (`sameAs`).
 *
 * With tp > 1 every variant is one GPU's share after tensor-parallel sharding (graph/shard-spec.ts):
 * the shard of GPU `rank` (the rank `gac scan --tp` reports), planned so every shard is aligned
 * (planRepair with tp), and the cases carry `tp` and `tp_rank`. One GPU measures one shard's
 * calls; the all-reduces between them are not in the suite.
 *
 * Case ids are caseId("model", params), params sorted by key, so a rerun into the same directory
 * skips what was measured, and adding a strategy later measures only its cases.
 */
import { DEFAULT_RUNTIME } from "../contract/runtimes.js";
import type { RuntimeId } from "../contract/types.js";
import { GacError } from "../errors.js";
import { requireTensorParallelRule } from "../contract/rules/tensor-parallel.js";
import { buildKernelGraph } from "../graph/build-kernel-graph.js";
import { checkTensorParallel, shardModelSpec } from "../graph/shard-spec.js";
import { DEFAULT_WORKLOAD, type KernelCall, type Phase, type Workload } from "../graph/types.js";
import type { ModelSpec } from "../model/types.js";
import { applyPlanToSpec } from "../plan/apply-plan.js";
import { planRepair } from "../plan/plan-repair.js";
import { STRATEGIES, type Strategy } from "../plan/types.js";
import { servingDtype } from "../scan/serving-dtype.js";
import type { BenchDtype, JsonValue } from "./protocol.js";
import { caseId, type BenchCase, type ParamValue } from "./suites.js";

export const MODEL_SUITE = "model";
export const UNREPAIRED = "unrepaired";
export type Variant = typeof UNREPAIRED | Strategy;

/**
 * Seconds per timed case before any ran (suites.ts uses the same 0.5 s): the stopping rule's
 * minimum GPU time plus warm-up and input set-up; decode calls are faster but not cheaper to time.
 */
const ESTIMATE_S_PER_CASE = 0.5;

export interface ModelBenchOptions {
  /** Short model name carried in every case (`params.model`); matches the scan in reports. */
  name: string;
  /** Repair strategies besides the unrepaired model (default: all four). */
  strategies?: readonly Strategy[];
  workload?: Workload;
  runtime?: RuntimeId;
  /** Tensor-parallel GPUs (default 1): measure one GPU's shard. */
  tp?: number;
  /** Which GPU's shard (default 0). */
  rank?: number;
}

/** One variant's forward pass as planned: its calls and how many distinct cases they make. */
export interface ModelVariantPlan {
  variant: Variant;
  /** Kernel calls of one forward pass (prefill + decode). */
  calls: number;
  /** Distinct (phase, kind, shape) cases. */
  cases: number;
  /** Parameter memory overhead of the repair (0 for unrepaired). */
  paramOverheadPct: number;
  /**
   * An earlier variant with exactly the same calls (a strategy that changes nothing, e.g. every
   * strategy on an odd head_dim that RoPE refuses; OPTIMAL and PREDEFINED padding to the same
   * sizes): this variant gets no cases of its own, since its time is that variant's.
   */
  sameAs?: Variant;
}

export interface ModelBench {
  name: string;
  dtype: BenchDtype;
  variants: ModelVariantPlan[];
  cases: BenchCase[];
}

/** "MINIMAL,optimal" -> strategies, each known; "all" -> every strategy. */
export function parseStrategies(text: string): Strategy[] {
  const parts = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (parts.length === 1 && parts[0].toLowerCase() === "all") return [...STRATEGIES];
  const out: Strategy[] = [];
  for (const p of parts) {
    const s = STRATEGIES.find((x) => x === p.toUpperCase());
    if (!s) throw new GacError("BAD_ARGS", `--strategies: '${p}' is not a strategy; known: ${STRATEGIES.join(", ")}, all`);
    if (!out.includes(s)) out.push(s);
  }
  if (out.length === 0) throw new GacError("BAD_ARGS", `--strategies is empty; known: ${STRATEGIES.join(", ")}, all`);
  return out;
}

/** The bench cases of a model: every variant's calls, deduplicated per variant by (phase, kind, shape). */
export function buildModelBench(spec: ModelSpec, opts: ModelBenchOptions): ModelBench {
  if (!/^[A-Za-z0-9._-]{1,80}$/.test(opts.name)) {
    throw new GacError("BAD_ARGS", `model name '${opts.name}' must be 1-80 letters, digits, '.', '_' or '-': it goes into case ids and file names`);
  }
  const workload = opts.workload ?? DEFAULT_WORKLOAD;
  const runtime = opts.runtime ?? DEFAULT_RUNTIME;
  const tp = opts.tp ?? 1;
  const rank = opts.rank ?? 0;
  checkTensorParallel(tp);
  const rule = tp > 1 ? requireTensorParallelRule(runtime).rule : null;
  const perGpu = (s: ModelSpec) => (rule ? shardModelSpec(s, tp, rank, rule).spec : s);
  const shardParams: Record<string, ParamValue> = tp > 1 ? { tp, tp_rank: rank } : {};
  const dtype: BenchDtype = servingDtype(spec.dtype) === "BF16" ? "bf16" : "fp16";
  const variants: ModelVariantPlan[] = [];
  const cases: BenchCase[] = [];
  const seen = new Map<string, Variant>();
  const add = (variant: Variant, calls: KernelCall[], paramOverheadPct: number) => {
    const grouped = dedupeCalls(calls, dtype);
    const key = JSON.stringify(grouped);
    const sameAs = seen.get(key);
    if (sameAs !== undefined) {
      variants.push({ variant, calls: calls.length, cases: 0, paramOverheadPct, sameAs });
      return;
    }
    seen.set(key, variant);
    variants.push({ variant, calls: calls.length, cases: grouped.length, paramOverheadPct });
    for (const g of grouped) cases.push(toCase(opts.name, variant, calls.length, g, shardParams));
  };
  add(UNREPAIRED, buildKernelGraph(perGpu(spec), workload), 0);
  for (const strategy of opts.strategies ?? STRATEGIES) {
    const plan = planRepair(spec, strategy, { runtime, tp });
    add(strategy, buildKernelGraph(perGpu(applyPlanToSpec(spec, plan)), workload), plan.paramOverheadPct);
  }
  return { name: opts.name, dtype, variants, cases };
}

/** A distinct call shape of one variant and how many calls of the forward pass have it. */
export interface CallGroup {
  phase: Phase;
  /** The worker job's params (op aside): shape, dtype and how to run it. */
  shape: Record<string, string | number | boolean>;
  op: "linear" | "sdpa";
  count: number;
}

/** Calls grouped by (phase, op, shape) in first-seen order, each with its count. */
export function dedupeCalls(calls: readonly KernelCall[], dtype: BenchDtype): CallGroup[] {
  const groups = new Map<string, CallGroup>();
  for (const call of calls) {
    const { op, shape } = jobOf(call, dtype);
    const key = `${call.phase}\u0000${op}\u0000${JSON.stringify(shape)}`;
    const g = groups.get(key);
    if (g) g.count++;
    else groups.set(key, { phase: call.phase, op, shape, count: 1 });
  }
  return [...groups.values()];
}

function jobOf(call: KernelCall, dtype: BenchDtype): { op: "linear" | "sdpa"; shape: Record<string, string | number | boolean> } {
  if (call.kind === "gemm") return { op: "linear", shape: { m: call.m, n: call.n, k: call.k, dtype } };
  return {
    op: "sdpa",
    shape: {
      batch: call.batch,
      heads: call.numHeads,
      kv_heads: call.numKvHeads,
      q_len: call.qLen,
      kv_len: call.kvLen,
      head_dim: call.headDimQk,
      // Only when it differs, so ids stay those of an ordinary sdpa case otherwise.
      ...(call.headDimV !== call.headDimQk ? { head_dim_v: call.headDimV } : {}),
      dtype,
      causal: call.causal,
      backend: "AUTO",
      ...(call.numKvHeads < call.numHeads ? { gqa: "native" } : {}),
    },
  };
}

/**
 * `count`: calls of the forward pass with this shape; `variant_calls`: calls of the whole variant, so
 * a summary of the records alone can tell a variant whose cases were not all run yet.
 */
function toCase(model: string, variant: Variant, variantCalls: number, g: CallGroup, shard: Record<string, ParamValue>): BenchCase {
  const params: Record<string, ParamValue> = { op: g.op, ...g.shape, model, variant, phase: g.phase, count: g.count, variant_calls: variantCalls, ...shard };
  const jobParams: Record<string, JsonValue> = { ...g.shape };
  return { suite: MODEL_SUITE, case: caseId(MODEL_SUITE, params), params, job: { op: g.op, params: jobParams }, estimateS: ESTIMATE_S_PER_CASE };
}

/** The job a case runs, as a key: cases of different variants with the same key time the same kernel. */
export function jobKey(params: Record<string, unknown>): string {
  const { model: _m, variant: _v, phase: _p, count: _c, variant_calls: _n, tp: _t, tp_rank: _r, ...job } = params;
  return JSON.stringify(
    Object.keys(job)
      .sort()
      .map((k) => [k, job[k]]),
  );
}
