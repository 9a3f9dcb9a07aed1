/**
 * A published GPU profile (`profiles/a100-published.json`, schema gac-profile/1, `source:
 * "published"`) as a bench run, so the seeds' A100 numbers stand beside a measured GPU in the
 * S1, S2, C21, P1 and G3 figures. Each published series comes from one table of the seeds (its
 * key ends in `table=<name>`); the table says which suite its points belong to. A measured profile
 * is not read: it is built from a run directory, which the report reads directly.
 */
import { shortPath } from "./figures/scan-dims.js";
import type { BenchParams, BenchRecord, BenchRun } from "./types.js";

type Json = Record<string, unknown>;

/** Seed table -> the suite whose figure its points join. Tables not listed (C4) have no figure. */
const TABLE_SUITE: Record<string, string> = { S1: "S1", S2: "S2", C21: "C21", P1: "P1", GEMM: "G3" };

/** Marks every series and caption that shows published, not measured, numbers. */
export const PUBLISHED_SUFFIX = " (published)";

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}
function str(v: unknown): string | undefined {
  return typeof v === "string" && v.length > 0 ? v : undefined;
}

export function isProfileDoc(doc: unknown): doc is Json {
  return isObject(doc) && typeof doc.schema === "string" && doc.schema.startsWith("gac-profile/") && Array.isArray(doc.series);
}

/** The suite-specific params of one profile point (the op's swept dim named as the suite names it). */
function pointParams(op: string, base: BenchParams, point: Json): BenchParams | undefined {
  const dim = num(point.dim);
  if (dim === undefined) return undefined;
  if (op === "gemm_k") return { ...base, op: "gemm", k: dim };
  if (op === "gemm_n") return { ...base, op: "gemm", n: dim };
  const padded = num(point.padded_dim);
  return { ...base, op: "sdpa", head_dim: dim, ...(padded !== undefined && padded !== dim ? { pad_to: padded, strategy: str(point.label) ?? `pad to ${padded}` } : {}) };
}

/** A published profile -> a run whose records carry the seeds' medians; notes say what was left out. */
export function profileToRun(doc: Json, file: string, notes: string[]): BenchRun | undefined {
  if (doc.source !== "published") {
    notes.push(`${shortPath(file)}: a measured profile is not plotted; give the run directory it was built from instead`);
    return undefined;
  }
  const gpuInfo = isObject(doc.gpu) ? doc.gpu : {};
  const envInfo = isObject(doc.env) ? doc.env : {};
  const gpu = `${str(gpuInfo.name) ?? "unknown GPU"}${PUBLISHED_SUFFIX}`;
  const records: BenchRecord[] = [];
  const skipped = new Set<string>();
  for (const series of (doc.series as unknown[]).filter(isObject)) {
    const key = str(series.key) ?? "";
    const table = /\/table=([^/]+)$/.exec(key)?.[1] ?? "";
    const suite = TABLE_SUITE[table];
    const op = str(series.op) ?? "";
    if (!suite) {
      skipped.add(table || key);
      continue;
    }
    const shape = isObject(series.shape) ? series.shape : {};
    const base: BenchParams = { dtype: str(series.dtype), ...Object.fromEntries(Object.entries(shape).filter(([, v]) => typeof v === "number")) };
    if (typeof series.causal === "boolean") base.causal = series.causal;
    if (str(series.backend)) base.backend = str(series.backend);
    const points = Array.isArray(series.points) ? series.points.filter(isObject) : [];
    for (const p of points) {
      const params = pointParams(op, base, p);
      const median = num(p.median_ms);
      if (!params || median === undefined) continue;
      records.push({ suite, case: `${suite}/published/${JSON.stringify(params)}`, params, stats: { median_ms: median, p10_ms: num(p.p10_ms), p90_ms: num(p.p90_ms), n: num(p.n) }, gpu });
    }
    const refused = Array.isArray(series.refused) ? series.refused.filter(isObject) : [];
    for (const r of refused) {
      const params = pointParams(op, base, r);
      if (!params) continue;
      const reason = str(r.reason) ?? "refused";
      const colon = reason.indexOf(": ");
      const error = colon > 0 ? { type: reason.slice(0, colon), message: reason.slice(colon + 2) } : { type: "backend_refused", message: reason };
      records.push({ suite, case: `${suite}/published/${JSON.stringify(params)}`, params, error, gpu });
    }
  }
  if (skipped.size > 0) notes.push(`${shortPath(file)}: published table(s) ${[...skipped].join(", ")} have no figure and were not plotted`);
  return {
    runId: str(gpuInfo.slug) ?? file,
    dir: file,
    env: {
      gpu,
      driver: str(envInfo.driver),
      torch: str(envInfo.torch),
      cuda: str(envInfo.cuda),
      cudnn: str(envInfo.cudnn),
      date: str(doc.created),
      computeCapability: str(gpuInfo.compute_capability),
      command: str(doc.citation),
    },
    records,
  };
}
