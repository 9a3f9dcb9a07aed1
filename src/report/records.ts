/**
 * Bench records flattened across runs, each carrying the environment it was measured in and a GPU
 * label that stays unique when two runs measured the same suite on the same GPU model (a run of
 * `gac bench model` beside a full-suite run on that GPU shares no series with it, so neither needs
 * its run id).
 */
import type { BenchRecord, BenchRun, Environment } from "./types.js";

export interface FlatRecord extends BenchRecord {
  runId: string;
  env: Environment;
  /** Series / facet label: the GPU name, plus the run id when two runs measured this suite on that GPU. */
  gpuLabel: string;
}

export function flattenRuns(runs: BenchRun[]): FlatRecord[] {
  const runsPerSeries = new Map<string, Set<string>>();
  const series = (gpu: string, suite: string) => `${gpu}\u0000${suite}`;
  for (const run of runs) {
    for (const r of run.records) {
      const key = series(r.gpu || run.env.gpu, r.suite);
      if (!runsPerSeries.has(key)) runsPerSeries.set(key, new Set());
      runsPerSeries.get(key)?.add(run.runId);
    }
  }
  const out: FlatRecord[] = [];
  for (const run of runs) {
    // A case measured twice in one run (concatenated shards, a rerun) counts once: the last line wins.
    const byCase = new Map<string, FlatRecord>();
    for (const r of run.records) {
      const gpu = r.gpu || run.env.gpu;
      const shared = (runsPerSeries.get(series(gpu, r.suite))?.size ?? 1) > 1;
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

/** The keys among `candidates` whose value differs between records: what tells series apart. */
export function varyingKeys(records: readonly BenchRecord[], candidates: readonly string[]): string[] {
  return candidates.filter((key) => new Set(records.map((r) => JSON.stringify(r.params[key] ?? null))).size > 1);
}

/** "batch=4, heads=32" for the keys that hold one value across all records (a figure's fixed shape). */
export function fixedShape(records: readonly BenchRecord[], keys: readonly string[]): string {
  const parts: string[] = [];
  for (const key of keys) {
    const vals = uniq(records.map((r) => r.params[key]).filter((v) => v !== undefined));
    if (vals.length === 1) parts.push(`${key}=${String(vals[0])}`);
  }
  return parts.join(", ");
}

/** Kernel launches that are bookkeeping, not the attention or GEMM kernel itself. */
const HELPER_KERNEL = /^(Memset|Memcpy)|elementwise_kernel|FillFunctor|direct_copy/;
/** Longest kernel name shown; cuDNN's generated names run past 100 characters. */
const MAX_KERNEL_CHARS = 64;

/**
 * A profiler kernel name as a reader wants it: no `void`, template arguments or parameter list
 * ("void pytorch_flash::flash_fwd_kernel<Flash_fwd_kernel_traits<...>>(...)" -> "pytorch_flash::flash_fwd_kernel").
 */
function shortKernelName(name: string): string {
  let s = name.replace(/^void\s+/, "");
  let depth = 0;
  let out = "";
  for (const ch of s) {
    if (ch === "<" || ch === "(") depth++;
    else if (ch === ">" || ch === ")") depth = Math.max(0, depth - 1);
    else if (depth === 0) out += ch;
  }
  s = out.trim() || s;
  return s.length > MAX_KERNEL_CHARS ? `${s.slice(0, MAX_KERNEL_CHARS - 1)}…` : s;
}

/**
 * The kernels of a record in short form: the main kernels first, then how many helper launches
 * (fills, copies: the padding a backend does inside the call) came with them.
 */
export function describeKernels(kernels: readonly string[] | undefined): string {
  if (!kernels || kernels.length === 0) return "";
  const main = uniq(kernels.filter((k) => !HELPER_KERNEL.test(k)).map(shortKernelName));
  const helpers = kernels.filter((k) => HELPER_KERNEL.test(k)).length;
  return [...main, ...(helpers > 0 ? [`+${helpers} fill/copy`] : [])].join(" ");
}
