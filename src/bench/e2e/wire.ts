/**
 * The client's side of the worker ops `e2e` and `e2e_logits` (docs/e2e-protocol.md): the job
 * parameters it sends and the result bodies it reads. This file owns the wire format on the
 * TypeScript side; every field of a body is distrusted, and a body that lacks what the protocol
 * promises is reported with the job id and the field (never guessed around).
 */
import type { BenchDtype } from "../protocol.js";
import type { ModelSpec } from "../../model/types.js";
import type { TensorEdit } from "../../repair/tensor-edits.js";

export type Engine = "transformers" | "gac";
export type TransformersConfig = "sdpa" | "sdpa-nocudnn" | "sdpa-avoid-recompile" | "eager";
export type GacConfig = "eager" | "eager-nocudnn" | "graph" | "graph-splitkv";
export type CacheKind = "dynamic" | "static";
export type WeightsSource = "checkpoint" | "random";

/** What the worker builds one model from (docs/e2e-protocol.md "Model description"). */
export interface ModelDescription {
  label: string;
  spec: ModelSpec;
  hf_config: Record<string, unknown>;
  checkpoint: string | null;
  weights: WeightsSource;
  attention_scale: number | null;
  /** Repaired models: the original's spec and the edits that turn its weights into this model's. */
  base: { spec: ModelSpec; edits: TensorEdit[] } | null;
}

export interface PrefillPoint {
  batch: number;
  seq: number;
}

export interface DecodePoint {
  batch: number;
  context: number;
}

export interface E2eJobParams {
  model: ModelDescription;
  engine: Engine;
  config: TransformersConfig | GacConfig;
  cache: CacheKind;
  dtype: BenchDtype;
  seed: number;
  prefill: PrefillPoint[];
  decode: DecodePoint[];
  prefill_repeats: number;
  decode_steps: number;
  warmup: number;
}

export interface E2eLogitsJobParams {
  original: ModelDescription;
  repaired: ModelDescription;
  engines: Engine[];
  batch: number;
  seq: number;
  dtype: BenchDtype;
  seed: number;
}

export interface PointStats {
  median_ms: number;
  p10_ms: number;
  p90_ms: number;
  n: number;
  min_ms?: number;
  max_ms?: number;
  mean_ms?: number;
  rel_stdev?: number;
}

export type E2ePhase = "prefill" | "decode";

export interface E2ePoint {
  phase: E2ePhase;
  batch: number;
  /** prefill: tokens per sequence; decode: the context the cache holds before the first step. */
  length: number;
  stats: PointStats;
  samples_ms: number[];
  peak_mem_bytes?: number;
  tokens_per_s?: number;
  sm_clock_mhz?: Record<string, unknown>;
  /** Decode: how the cache was filled ("random" keys/values, or "prefill (...)" where the engine's cache could not be filled directly). */
  cache_fill?: string;
  /** Decode: the host's speed read after each timed step (docs/e2e-protocol.md), per probe kind. */
  host_probe_us?: HostProbeReadings;
  /** Decode in a gac CUDA graph: every layer's attention replayed alone at the step's position (ms). */
  attention_part_ms?: number;
}

export const HOST_PROBE_KINDS = ["launch", "module", "python"] as const;
export type HostProbeKind = (typeof HOST_PROBE_KINDS)[number];
export type HostProbeReadings = Partial<Record<HostProbeKind, { median: number; min: number; max: number; samples: number[] }>>;

/** The probe readings of a point, the kinds that are well formed (a malformed kind is dropped, not guessed). */
export function parseHostProbe(v: unknown): HostProbeReadings | undefined {
  if (!isRecord(v)) return undefined;
  const out: HostProbeReadings = {};
  for (const kind of HOST_PROBE_KINDS) {
    const r = v[kind];
    if (!isRecord(r)) continue;
    const [median, min, max] = [r.median, r.min, r.max];
    if (![median, min, max].every((x) => isFiniteNumber(x) && x > 0)) continue;
    out[kind] = { median: median as number, min: min as number, max: max as number, samples: Array.isArray(r.samples) ? r.samples.filter(isFiniteNumber) : [] };
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

export interface E2eSkippedPoint {
  phase: E2ePhase;
  batch: number;
  length: number;
  reason: string;
}

export interface E2eBody {
  engine: string;
  config: string;
  cache: string;
  dtype: string;
  weights: string;
  model: { label: string; params: number; weight_bytes: number; kv_bytes_per_token: number; attn_impl?: string };
  load_s?: number;
  copy_bandwidth_gbps: number;
  points: E2ePoint[];
  skipped: E2eSkippedPoint[];
  kernels: Record<string, string[]>;
  warnings: string[];
}

export interface LogitsComparison {
  max_abs_diff: number;
  max_abs_logit: number;
  rel_to_max: number;
  mean_abs_diff: number;
  argmax_agree: number;
}

export interface E2eLogitsBody {
  repair_fp32: Record<string, LogitsComparison>;
  repair_serving: Record<string, LogitsComparison>;
  noise_floor: Record<string, LogitsComparison>;
  engines_fp32?: LogitsComparison;
  /**
   * The gac engine's decode paths against its prefill on the original (when the job asked):
   * per dtype ("fp32", "serving"), per path ("eager", "masked_sdpa", "masked_splitkv").
   */
  decode_paths?: Record<string, Record<string, LogitsComparison>>;
  /** Engine -> why it could not load the family. */
  unsupported: Record<string, string>;
}

/** A body that breaks the protocol: the message names the job and the field. */
export class BadBody extends Error {}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isFiniteNumber(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v);
}

function num(o: Record<string, unknown>, key: string, where: string): number {
  const v = o[key];
  if (!isFiniteNumber(v)) throw new BadBody(`${where}.${key} is ${JSON.stringify(v) ?? "missing"}, not a number`);
  return v;
}

function optNum(o: Record<string, unknown>, key: string): number | undefined {
  return isFiniteNumber(o[key]) ? o[key] : undefined;
}

function str(o: Record<string, unknown>, key: string, where: string): string {
  const v = o[key];
  if (typeof v !== "string") throw new BadBody(`${where}.${key} is ${JSON.stringify(v) ?? "missing"}, not a string`);
  return v;
}

function phaseOf(o: Record<string, unknown>, where: string): { phase: E2ePhase; batch: number; length: number } {
  const phase = o.phase;
  if (phase !== "prefill" && phase !== "decode") throw new BadBody(`${where}.phase is ${JSON.stringify(phase)}, not prefill or decode`);
  return { phase, batch: num(o, "batch", where), length: num(o, phase === "prefill" ? "seq" : "context", where) };
}

function parseStats(v: unknown, where: string): PointStats {
  if (!isRecord(v)) throw new BadBody(`${where}.stats is missing`);
  const stats: PointStats = {
    median_ms: num(v, "median_ms", `${where}.stats`),
    p10_ms: num(v, "p10_ms", `${where}.stats`),
    p90_ms: num(v, "p90_ms", `${where}.stats`),
    n: num(v, "n", `${where}.stats`),
  };
  for (const key of ["min_ms", "max_ms", "mean_ms", "rel_stdev"] as const) {
    const x = optNum(v, key);
    if (x !== undefined) stats[key] = x;
  }
  return stats;
}

/** The `e2e` result body, checked. Throws BadBody naming the first field that breaks the protocol. */
export function parseE2eBody(body: Record<string, unknown>): E2eBody {
  const model = body.model;
  if (!isRecord(model)) throw new BadBody("e2e.model is missing");
  if (!Array.isArray(body.points)) throw new BadBody("e2e.points is not a list");
  const points = body.points.map((p, i): E2ePoint => {
    const where = `e2e.points[${i}]`;
    if (!isRecord(p)) throw new BadBody(`${where} is not an object`);
    const point: E2ePoint = { ...phaseOf(p, where), stats: parseStats(p.stats, where), samples_ms: Array.isArray(p.samples_ms) ? p.samples_ms.filter(isFiniteNumber) : [] };
    const peak = optNum(p, "peak_mem_bytes");
    const tps = optNum(p, "tokens_per_s");
    if (peak !== undefined) point.peak_mem_bytes = peak;
    if (tps !== undefined) point.tokens_per_s = tps;
    if (isRecord(p.sm_clock_mhz)) point.sm_clock_mhz = p.sm_clock_mhz;
    if (typeof p.cache_fill === "string") point.cache_fill = p.cache_fill;
    const probe = parseHostProbe(p.host_probe_us);
    if (probe) point.host_probe_us = probe;
    const part = optNum(p, "attention_part_ms");
    if (part !== undefined && part > 0) point.attention_part_ms = part;
    return point;
  });
  const skipped = (Array.isArray(body.skipped) ? body.skipped : []).map((s, i): E2eSkippedPoint => {
    const where = `e2e.skipped[${i}]`;
    if (!isRecord(s)) throw new BadBody(`${where} is not an object`);
    return { ...phaseOf(s, where), reason: typeof s.reason === "string" ? s.reason : "no reason given" };
  });
  const kernels: Record<string, string[]> = {};
  if (isRecord(body.kernels)) for (const [k, v] of Object.entries(body.kernels)) if (Array.isArray(v)) kernels[k] = v.map(String);
  return {
    engine: str(body, "engine", "e2e"),
    config: str(body, "config", "e2e"),
    cache: str(body, "cache", "e2e"),
    dtype: str(body, "dtype", "e2e"),
    weights: str(body, "weights", "e2e"),
    model: {
      label: str(model, "label", "e2e.model"),
      params: num(model, "params", "e2e.model"),
      weight_bytes: num(model, "weight_bytes", "e2e.model"),
      kv_bytes_per_token: num(model, "kv_bytes_per_token", "e2e.model"),
      ...(typeof model.attn_impl === "string" ? { attn_impl: model.attn_impl } : {}),
    },
    ...(optNum(body, "load_s") !== undefined ? { load_s: optNum(body, "load_s") } : {}),
    copy_bandwidth_gbps: num(body, "copy_bandwidth_gbps", "e2e"),
    points,
    skipped,
    kernels,
    warnings: Array.isArray(body.warnings) ? body.warnings.map(String) : [],
  };
}

function parseComparison(v: unknown, where: string): LogitsComparison {
  if (!isRecord(v)) throw new BadBody(`${where} is not an object`);
  return {
    max_abs_diff: num(v, "max_abs_diff", where),
    max_abs_logit: num(v, "max_abs_logit", where),
    rel_to_max: num(v, "rel_to_max", where),
    mean_abs_diff: num(v, "mean_abs_diff", where),
    argmax_agree: num(v, "argmax_agree", where),
  };
}

function comparisons(body: Record<string, unknown>, key: string): Record<string, LogitsComparison> {
  const v = body[key];
  if (v === undefined) return {};
  if (!isRecord(v)) throw new BadBody(`e2e_logits.${key} is not an object of engine -> comparison`);
  return Object.fromEntries(Object.entries(v).map(([engine, c]) => [engine, parseComparison(c, `e2e_logits.${key}.${engine}`)]));
}

/** The `e2e_logits` result body, checked. */
export function parseLogitsBody(body: Record<string, unknown>): E2eLogitsBody {
  const unsupported: Record<string, string> = {};
  if (isRecord(body.unsupported)) for (const [k, v] of Object.entries(body.unsupported)) unsupported[k] = String(v);
  const out: E2eLogitsBody = {
    repair_fp32: comparisons(body, "repair_fp32"),
    repair_serving: comparisons(body, "repair_serving"),
    noise_floor: comparisons(body, "noise_floor"),
    unsupported,
  };
  if (body.engines_fp32 !== undefined && body.engines_fp32 !== null) out.engines_fp32 = parseComparison(body.engines_fp32, "e2e_logits.engines_fp32");
  if (body.decode_paths !== undefined && body.decode_paths !== null) {
    const d = body.decode_paths;
    if (!isRecord(d)) throw new BadBody("e2e_logits.decode_paths is not an object of dtype -> path -> comparison");
    out.decode_paths = {};
    for (const [kind, paths] of Object.entries(d)) {
      if (!isRecord(paths)) throw new BadBody(`e2e_logits.decode_paths.${kind} is not an object of path -> comparison`);
      out.decode_paths[kind] = Object.fromEntries(Object.entries(paths).map(([path, c]) => [path, parseComparison(c, `e2e_logits.decode_paths.${kind}.${path}`)]));
    }
  }
  return out;
}
