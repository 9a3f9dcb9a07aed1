/**
 * Bench records flattened across runs, each carrying the environment it was measured in and a GPU
 * label that stays unique when two runs used the same GPU model.
 */
import type { BenchRecord, BenchRun, Environment } from "./types.js";

export interface FlatRecord extends BenchRecord {
  runId: string;
  env: Environment;
  /** Series / facet label: the GPU name, plus the run id when two runs share that name. */
  gpuLabel: string;
}

export function flattenRuns(runs: BenchRun[]): FlatRecord[] {
  const runsPerGpu = new Map<string, Set<string>>();
  for (const run of runs) {
    for (const r of run.records) {
      const gpu = r.gpu || run.env.gpu;
      if (!runsPerGpu.has(gpu)) runsPerGpu.set(gpu, new Set());
      runsPerGpu.get(gpu)?.add(run.runId);
    }
  }
  const out: FlatRecord[] = [];
  for (const run of runs) {
    // A case measured twice in one run (concatenated shards, a rerun) counts once: the last line wins.
    const byCase = new Map<string, FlatRecord>();
    for (const r of run.records) {
      const gpu = r.gpu || run.env.gpu;
      const shared = (runsPerGpu.get(gpu)?.size ?? 1) > 1;
      const gpuLabel = shared ? `${gpu} (${run.runId})` : gpu;
      byCase.set(`${r.gpu_index ?? ""}\u0000${gpu}\u0000${r.case}`, { ...r, runId: run.runId, env: { ...run.env, gpu }, gpuLabel });
    }
    out.push(...byCase.values());
  }
  return out;
}

/** Distinct environments of some records, in first-seen order. */
export function environmentsOf(records: FlatRecord[]): Environment[] {
  const seen = new Map<string, Environment>();
  for (const r of records) seen.set(`${r.runId}\u0000${r.env.gpu}`, r.env);
  return [...seen.values()];
}

/** "fp16 causal" from params; keys absent from a record are left out. */
export function variantLabel(r: BenchRecord, keys: readonly string[]): string {
  const parts: string[] = [];
  for (const key of keys) {
    const v = r.params[key];
    if (v === undefined || v === null) continue;
    if (key === "causal") parts.push(v === true ? "causal" : "non-causal");
    else if (key === "dtype" || key === "backend") parts.push(String(v));
    else parts.push(`${key}=${String(v)}`);
  }
  return parts.length > 0 ? parts.join(" ") : "default";
}

export function uniq<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}
