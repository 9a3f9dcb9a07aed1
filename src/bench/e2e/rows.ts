/**
 * Store rows of suites `e2e` and `e2e_logits` (docs/results-format.md, docs/e2e.md): one row per
 * measured or skipped grid point, one row for a job that could not run at all, one row per logits
 * comparison job. Every row carries where it ran: the gac commit, the GPU, and the torch, CUDA,
 * cuDNN and transformers versions of the worker's capability line.
 */
import type { CapabilityOk } from "../protocol.js";
import type { RecordBase } from "../run-bench.js";
import type { BenchCase, ParamValue } from "../suites.js";
import type { JobOutcome } from "../worker-client.js";
import type { ResultRecord } from "../../store/types.js";
import { gridPoints, meanDecodeKvLen, pointKey, type E2eGrid } from "./grid.js";
import type { E2eModel } from "./models.js";
import { E2E_LOGITS_SUITE, E2E_SUITE, type ConfigRefusal } from "./plan-e2e.js";
import { decodeStepBytes, roofline, tokensPerSecond, weightBytesReadPerStep } from "./roofline.js";
import { BadBody, parseE2eBody, parseLogitsBody, type E2eBody, type E2ePoint } from "./wire.js";

/** The software a row was measured with. */
export function environmentOf(capability: CapabilityOk, gitCommit: string | null): Record<string, string | null> {
  const text = (v: unknown) => (typeof v === "string" || typeof v === "number" ? String(v) : null);
  return {
    git_commit: gitCommit,
    torch: text(capability.torch),
    cuda: text(capability.cuda),
    cudnn: text(capability.cudnn),
    transformers: text(capability.transformers),
    driver: text(capability.driver),
    compute_capability: text(capability.gpu.compute_capability),
  };
}

export interface RowContext {
  /** Models by label. */
  models: ReadonlyMap<string, E2eModel>;
  gitCommit: string | null;
  grid: E2eGrid;
}

function where(base: RecordBase) {
  return { gpu: base.gpu, gpu_index: base.gpu_index, time: base.time, wall_ms: base.wall_ms };
}

function jobLevelRow(benchCase: BenchCase, base: RecordBase, ctx: RowContext, error: { type: string; message: string }): ResultRecord {
  return { suite: benchCase.suite, case: benchCase.case, params: benchCase.params, error, ...where(base), extra: { env: environmentOf(base.capability, ctx.gitCommit) } };
}

/** The records one finished e2e or e2e_logits job writes. */
export function e2eRecords(benchCase: BenchCase, outcome: JobOutcome, base: RecordBase, ctx: RowContext): ResultRecord[] {
  if (outcome.type === "error") return [jobLevelRow(benchCase, base, ctx, { type: outcome.error.type, message: outcome.error.message })];
  if (!("body" in outcome))
    return [jobLevelRow(benchCase, base, ctx, { type: "bad_result", message: `the worker answered ${benchCase.suite} job with a plain timing result, not an '${benchCase.suite}' body` })];
  try {
    if (benchCase.suite === E2E_LOGITS_SUITE) {
      const body = parseLogitsBody(outcome.body);
      return [
        {
          suite: benchCase.suite,
          case: benchCase.case,
          params: benchCase.params,
          ...where(base),
          extra: { e2e_logits: body, env: environmentOf(base.capability, ctx.gitCommit), ...(outcome.wall_s !== undefined ? { wall_s: outcome.wall_s } : {}) },
        },
      ];
    }
    return pointRecords(benchCase, parseE2eBody(outcome.body), base, ctx);
  } catch (e) {
    if (!(e instanceof BadBody)) throw e;
    return [jobLevelRow(benchCase, base, ctx, { type: "bad_result", message: `the worker's result broke docs/e2e-protocol.md: ${e.message}` })];
  }
}

function pointParams(benchCase: BenchCase, phase: "prefill" | "decode", batch: number, length: number): Record<string, ParamValue> {
  const { points: _p, phase: _ph, ...params } = benchCase.params;
  return { ...params, phase, batch, ...(phase === "prefill" ? { seq: length } : { context: length }) };
}

function pointRecords(benchCase: BenchCase, body: E2eBody, base: RecordBase, ctx: RowContext): ResultRecord[] {
  const model = ctx.models.get(String(benchCase.params.model));
  const env = environmentOf(base.capability, ctx.gitCommit);
  const shared = {
    weights: body.weights,
    load_s: body.load_s ?? null,
    copy_bandwidth_gbps: body.copy_bandwidth_gbps,
    model_params: body.model.params,
    weight_bytes: body.model.weight_bytes,
    kv_bytes_per_token: body.model.kv_bytes_per_token,
    attn_impl: body.model.attn_impl ?? null,
    env,
  };
  const rows: ResultRecord[] = [];
  const asked = new Set(gridPoints(ctx.grid).map((p) => p.key));
  for (const p of body.points) {
    const key = pointKey(p.phase, p.batch, p.length);
    if (!asked.has(key)) continue;
    rows.push({
      suite: E2E_SUITE,
      case: `${benchCase.case}/${key}`,
      params: pointParams(benchCase, p.phase, p.batch, p.length),
      stats: { median_ms: p.stats.median_ms, p10_ms: p.stats.p10_ms, p90_ms: p.stats.p90_ms, n: p.stats.n, ...(p.stats.mean_ms !== undefined ? { mean_ms: p.stats.mean_ms } : {}) },
      samples_ms: p.samples_ms,
      ...(p.sm_clock_mhz ? { sm_clock_mhz: p.sm_clock_mhz } : {}),
      ...(p.phase === "decode" && body.kernels.decode_attention ? { kernels: body.kernels.decode_attention } : {}),
      ...(body.warnings.length > 0 ? { warnings: body.warnings } : {}),
      ...where(base),
      extra: { ...shared, ...pointExtra(p, body, model, ctx.grid) },
    });
  }
  for (const s of body.skipped) {
    rows.push({
      suite: E2E_SUITE,
      case: `${benchCase.case}/${pointKey(s.phase, s.batch, s.length)}`,
      params: pointParams(benchCase, s.phase, s.batch, s.length),
      error: { type: /^oom\b/i.test(s.reason) ? "oom" : "skipped", message: s.reason },
      ...where(base),
      extra: shared,
    });
  }
  return rows;
}

function pointExtra(p: E2ePoint, body: E2eBody, model: E2eModel | undefined, grid: E2eGrid): Record<string, unknown> {
  const tps = p.tokens_per_s ?? tokensPerSecond(p.phase, p.batch, p.length, p.stats.median_ms);
  const out: Record<string, unknown> = {
    tokens_per_s: tps,
    peak_mem_bytes: p.peak_mem_bytes ?? null,
    stats_full: p.stats,
    ...(p.cache_fill !== undefined ? { cache_fill: p.cache_fill } : {}),
    ...(p.host_probe_us ? { host_probe_us: p.host_probe_us } : {}),
    ...(p.attention_part_ms !== undefined ? { attention_part_ms: p.attention_part_ms } : {}),
  };
  if (p.phase === "decode" && model) {
    const kvLen = meanDecodeKvLen(p.length, grid.warmup, grid.decodeSteps);
    const bytes = decodeStepBytes(weightBytesReadPerStep(body.model.weight_bytes, model.description.spec), p.batch, kvLen, body.model.kv_bytes_per_token);
    out.roofline = { ...roofline(bytes, body.copy_bandwidth_gbps, p.stats.median_ms), kv_len: kvLen };
  }
  return out;
}

/** The row of a configuration the client refused (written once; a rerun finds it). */
export function refusalRecord(r: ConfigRefusal, capability: CapabilityOk, gitCommit: string | null, time: string): ResultRecord {
  return {
    suite: E2E_SUITE,
    case: r.row,
    params: r.params,
    error: { type: "unsupported", message: r.reason },
    gpu: capability.gpu.name,
    gpu_index: capability.gpu.index,
    time,
    wall_ms: 0,
    extra: { env: environmentOf(capability, gitCommit), refused_by: "client" },
  };
}
