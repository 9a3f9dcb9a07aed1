/**
 * The e2e rows of a run directory read back as measurements: one per (model, configuration, grid
 * point, GPU), with the refusals beside them. Tables, the report figure and bench/e2e-check.ts
 * all read rows through here, so they agree on what a row means.
 */
import { pointKey } from "./grid.js";
import { BadBody, parseHostProbe, parseLogitsBody, type HostProbeKind, type LogitsComparison } from "./wire.js";

/** The part of a results row these readers need (a ResultRecord or a report BenchRecord). */
export interface E2eRow {
  suite: string;
  case: string;
  params: Record<string, unknown>;
  stats?: { median_ms: number; p10_ms?: number; p90_ms?: number; n?: number };
  kernels?: string[];
  /** The SM clock sampled before each timed repeat (median, least), where the worker read it. */
  sm_clock_mhz?: Record<string, unknown>;
  error?: { type: string; message: string };
  extra?: Record<string, unknown>;
  gpu: string;
}

export interface E2eMeasurement {
  model: string;
  checkpoint: string;
  variant: string;
  role: string;
  family: string;
  /** "transformers/sdpa/dynamic" */
  config: string;
  phase: "prefill" | "decode";
  batch: number;
  /** prefill seq or decode context */
  length: number;
  point: string;
  gpu: string;
  median_ms: number;
  p10_ms: number;
  p90_ms: number;
  tokens_per_s: number | null;
  roofline: { bytes: number; ms: number; fraction: number } | null;
  kernels: string[];
  copy_bandwidth_gbps: number | null;
  weight_bytes: number | null;
  kv_bytes_per_token: number | null;
  /** Median SM clock over the point's repeats (MHz), where recorded. */
  sm_clock_mhz?: number | null;
  /** Decode: the median of each host probe over the point's steps (µs; docs/e2e-protocol.md), where recorded. */
  host_probe_us?: Partial<Record<HostProbeKind, number>>;
  /** Decode in a gac CUDA graph: the step's attention measured alone (ms), where recorded. */
  attention_part_ms?: number;
}

export interface E2eFailure {
  model: string;
  config: string;
  /** A point key, or "all" for a whole configuration. */
  point: string;
  gpu: string;
  type: string;
  message: string;
}

export interface E2eLogitsResult {
  model: string;
  checkpoint: string;
  variant: string;
  scale: string;
  gpu: string;
  repair_fp32: Record<string, LogitsComparison>;
  repair_serving: Record<string, LogitsComparison>;
  noise_floor: Record<string, LogitsComparison>;
  engines_fp32: LogitsComparison | null;
  /** The gac engine's decode paths against its prefill (dtype -> path -> comparison), when measured. */
  decode_paths?: Record<string, Record<string, LogitsComparison>>;
  unsupported: Record<string, string>;
}

const s = (v: unknown) => (typeof v === "string" ? v : String(v ?? ""));
const n = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : null);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function configOf(p: Record<string, unknown>): string {
  return `${s(p.engine)}/${s(p.config)}/${s(p.cache)}`;
}

export interface E2eData {
  measurements: E2eMeasurement[];
  failures: E2eFailure[];
  logits: E2eLogitsResult[];
}

export function readE2eRows(rows: readonly E2eRow[]): E2eData {
  const out: E2eData = { measurements: [], failures: [], logits: [] };
  for (const r of rows) {
    const p = r.params;
    if (r.suite === "e2e_logits") {
      const parsed = logitsOf(r);
      if (typeof parsed === "string") {
        out.failures.push({ model: s(p.model), config: "logits", point: "all", gpu: r.gpu, type: r.error?.type ?? "bad_result", message: r.error?.message ?? parsed });
        continue;
      }
      out.logits.push({ model: s(p.model), checkpoint: s(p.checkpoint), variant: s(p.variant), scale: s(p.scale), gpu: r.gpu, ...parsed, engines_fp32: parsed.engines_fp32 ?? null });
      continue;
    }
    if (r.suite !== "e2e") continue;
    const phase = p.phase === "prefill" || p.phase === "decode" ? p.phase : null;
    const batch = n(p.batch);
    const length = phase === "prefill" ? n(p.seq) : n(p.context);
    const point = phase && batch !== null && length !== null ? pointKey(phase, batch, length) : "all";
    if (!r.stats || !phase || batch === null || length === null) {
      out.failures.push({ model: s(p.model), config: configOf(p), point, gpu: r.gpu, type: r.error?.type ?? "unknown", message: r.error?.message ?? "no measurement" });
      continue;
    }
    const x = isRecord(r.extra) ? r.extra : {};
    const roof = isRecord(x.roofline) && n(x.roofline.ms) !== null ? { bytes: Number(x.roofline.bytes), ms: Number(x.roofline.ms), fraction: Number(x.roofline.fraction) } : null;
    out.measurements.push({
      model: s(p.model),
      checkpoint: s(p.checkpoint),
      variant: s(p.variant),
      role: s(p.role),
      family: s(p.family),
      config: configOf(p),
      phase,
      batch,
      length,
      point,
      gpu: r.gpu,
      median_ms: r.stats.median_ms,
      p10_ms: r.stats.p10_ms ?? r.stats.median_ms,
      p90_ms: r.stats.p90_ms ?? r.stats.median_ms,
      tokens_per_s: n(x.tokens_per_s),
      roofline: roof,
      kernels: r.kernels ?? [],
      copy_bandwidth_gbps: n(x.copy_bandwidth_gbps),
      weight_bytes: n(x.weight_bytes),
      kv_bytes_per_token: n(x.kv_bytes_per_token),
      sm_clock_mhz: n(r.sm_clock_mhz?.median),
      ...probeMedians(x.host_probe_us),
      ...(n(x.attention_part_ms) !== null && Number(x.attention_part_ms) > 0 ? { attention_part_ms: Number(x.attention_part_ms) } : {}),
    });
  }
  return out;
}

function probeMedians(v: unknown): Pick<E2eMeasurement, "host_probe_us"> {
  const probe = parseHostProbe(v);
  if (!probe) return {};
  return { host_probe_us: Object.fromEntries(Object.entries(probe).map(([k, r]) => [k, r.median])) };
}

/** A logits row's body, checked; a string says why there is none. */
function logitsOf(r: E2eRow): ReturnType<typeof parseLogitsBody> | string {
  const body = isRecord(r.extra) ? r.extra.e2e_logits : undefined;
  if (r.error || !isRecord(body)) return "no e2e_logits body";
  try {
    return parseLogitsBody(body);
  } catch (e) {
    if (e instanceof BadBody) return e.message;
    throw e;
  }
}

/** Speedup of `after` over `before` (before / after) with the spread the p10-p90 ranges allow. */
export function speedup(before: Pick<E2eMeasurement, "median_ms" | "p10_ms" | "p90_ms">, after: Pick<E2eMeasurement, "median_ms" | "p10_ms" | "p90_ms">): { x: number; lo: number; hi: number } {
  return { x: before.median_ms / after.median_ms, lo: before.p10_ms / after.p90_ms, hi: before.p90_ms / after.p10_ms };
}
