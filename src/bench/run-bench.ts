/**
 * Run bench cases on the GPUs of one host: one worker per GPU, the cases still missing from the
 * run directory dealt round-robin over them, each worker appending to its own results-gpu<N>.jsonl.
 *
 * A rerun on the same directory (`--resume`, or the same `--out`) skips every case that has a line
 * already; a case whose worker died gets no line, so the next rerun tries it again.
 */
import { createHash } from "node:crypto";
import { hostname } from "node:os";
import { GacError, isGacError } from "../errors.js";
import { assertNotArchived, openAppender, readRun, writeRunInfo, type ResultsAppender } from "../store/results-store.js";
import type { ResultRecord, RunInfo, TruncatedTail } from "../store/types.js";
import type { CapabilityOk } from "./protocol.js";
import { estimateSeconds, type BenchCase } from "./suites.js";
import { WorkerClient, type JobOutcome, type SpawnWorker } from "./worker-client.js";

export interface BenchProgress {
  /** Cases finished in this invocation (measured, refused or failed). */
  done: number;
  /** Cases this invocation has to run (cases already in the directory are not counted). */
  total: number;
  /** Cases skipped because the run directory already had them. */
  skipped: number;
  /** The case a worker just started, if any. */
  current?: string;
  elapsedMs: number;
  /** Remaining time: from the mean finished-case time once one finished, from suite estimates before. */
  etaMs: number;
}

export interface BenchOptions {
  cases: readonly BenchCase[];
  /** The run directory: results/<run-id>. */
  outDir: string;
  runId: string;
  gpus: number[];
  spawn: SpawnWorker;
  /** What run.json records about the invocation. */
  command: string;
  gitCommit: string | null;
  suites: string[];
  quick: boolean;
  signal?: AbortSignal;
  onProgress?: (p: BenchProgress) => void;
  /** Clock in ms (injected for tests). */
  now?: () => number;
  heartbeatTimeoutMs?: number;
  startTimeoutMs?: number;
  graceMs?: number;
  /** Worker restarts allowed per GPU after a crash or hang before the run gives up (default 3). */
  maxRestarts?: number;
  /**
   * The records one finished job writes (default: one record per case, toRecord). Whole-model jobs
   * (`gac bench e2e`) write one record per grid point; their cases' ids are job ids, not record ids.
   */
  toRecords?: (benchCase: BenchCase, outcome: JobOutcome, base: RecordBase) => ResultRecord[];
}

/** What every record of a job shares: where and when it ran. */
export interface RecordBase {
  capability: CapabilityOk;
  gpu: string;
  gpu_index: number;
  time: string;
  wall_ms: number;
}

export interface FailedCase {
  case: string;
  gpu: number;
  message: string;
}

export interface BenchSummary {
  runId: string;
  outDir: string;
  /** Cases asked for. */
  total: number;
  skipped: number;
  measured: number;
  /** Cases that finished with a worker error (backend_refused, oom, bad_job, internal): recorded. */
  refused: number;
  /** Cases whose worker crashed or hung: not recorded, retried by the next rerun. */
  failed: FailedCase[];
  cancelled: boolean;
  /** Unfinished last lines found (and cut off) in the directory's results files. */
  truncated: TruncatedTail[];
  /** Every record of the run directory after this invocation (earlier ones included). */
  records: ResultRecord[];
}

export async function runBench(options: BenchOptions): Promise<BenchSummary> {
  const now = options.now ?? Date.now;
  const startedAt = now();
  if (options.gpus.length === 0) throw new GacError("BAD_ARGS", "no GPU given: --gpus needs at least one index");
  const before = await readRun(options.outDir);
  const present = new Set(before.records.map((r) => r.case));
  const pending = options.cases.filter((c) => !present.has(c.case));
  const skipped = options.cases.length - pending.length;
  const records = [...before.records];
  const summary: BenchSummary = {
    runId: options.runId,
    outDir: options.outDir,
    total: options.cases.length,
    skipped,
    measured: 0,
    refused: 0,
    failed: [],
    cancelled: false,
    truncated: [...before.truncated],
    records,
  };
  if (pending.length === 0) return summary;
  // Before any worker starts or run.json gains a resume: an archived run is read-only.
  await assertNotArchived(options.outDir);

  // Round-robin over the GPUs, skipping GPUs that would get nothing.
  const shards = options.gpus.map((gpu, i) => ({ gpu, cases: pending.filter((_, j) => j % options.gpus.length === i) })).filter((s) => s.cases.length > 0);
  const workerOptions = (gpu: number) => ({
    spawn: options.spawn,
    device: gpu,
    ...(options.heartbeatTimeoutMs !== undefined ? { heartbeatTimeoutMs: options.heartbeatTimeoutMs } : {}),
    ...(options.startTimeoutMs !== undefined ? { startTimeoutMs: options.startTimeoutMs } : {}),
    ...(options.graceMs !== undefined ? { graceMs: options.graceMs } : {}),
  });

  const started = await Promise.allSettled(shards.map((s) => WorkerClient.start(workerOptions(s.gpu))));
  const clients = started.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const firstFailure = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (firstFailure) {
    await Promise.all(clients.map((c) => c.close()));
    throw firstFailure.reason;
  }

  // From here on the workers run: whatever fails (run.json, an appender, a shard), they are closed.
  try {
    await recordRunInfo(options, before.info, clients[0].capability, now);
    const appenders = await Promise.all(shards.map((s) => openAppender(options.outDir, s.gpu)));
    for (const a of appenders) if (a.repaired && !summary.truncated.some((t) => t.file === a.file)) summary.truncated.push(a.repaired);

    let done = 0;
    const estimateMs = (estimateSeconds(pending) * 1000) / shards.length;
    const progress = (current?: string) => {
      const elapsedMs = now() - startedAt;
      const etaMs = done === 0 ? Math.max(0, estimateMs - elapsedMs) : (elapsedMs / done) * (pending.length - done);
      options.onProgress?.({ done, total: pending.length, skipped, ...(current ? { current } : {}), elapsedMs, etaMs });
    };
    progress();

    const runShard = async (index: number) => {
      const shard = shards[index];
      const appender: ResultsAppender = appenders[index];
      let client = clients[index];
      let restarts = 0;
      for (const benchCase of shard.cases) {
        if (options.signal?.aborted) break;
        progress(benchCase.case);
        const caseStart = now();
        let outcome: JobOutcome;
        try {
          outcome = await client.run(benchCase.job, { id: jobId(benchCase.case), ...(options.signal ? { signal: options.signal } : {}) });
        } catch (e) {
          if (!isGacError(e) || e.code !== "WORKER_FAILED") throw e;
          summary.failed.push({ case: benchCase.case, gpu: shard.gpu, message: e.message });
          done++;
          progress();
          if (++restarts > (options.maxRestarts ?? 3)) throw new GacError("WORKER_FAILED", `GPU ${shard.gpu}: worker failed ${restarts} times, giving up; last: ${e.message}`);
          client.kill();
          client = await WorkerClient.start(workerOptions(shard.gpu));
          clients[index] = client;
          continue;
        }
        if (outcome.type === "error" && outcome.error.type === "cancelled") {
          summary.cancelled = true;
          break;
        }
        const capability = client.capability;
        const base: RecordBase = { capability, gpu: capability.gpu.name, gpu_index: capability.gpu.index, time: new Date(now()).toISOString(), wall_ms: Math.round(now() - caseStart) };
        for (const record of options.toRecords ? options.toRecords(benchCase, outcome, base) : [toRecord(benchCase, outcome, base)]) {
          await appender.append(record);
          records.push(record);
          if (record.stats) summary.measured++;
          else summary.refused++;
        }
        done++;
        progress();
      }
    };

    await Promise.all(shards.map((_, i) => runShard(i)));
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
  if (options.signal?.aborted) summary.cancelled = true;
  return summary;
}

/**
 * The worker takes job ids of 1-200 characters (docs/worker-protocol.md); model-suite case ids run
 * longer. A long id keeps its readable start and gets a hash of the whole for uniqueness.
 */
export function jobId(caseId: string): string {
  if (caseId.length <= MAX_JOB_ID) return caseId;
  return `${caseId.slice(0, MAX_JOB_ID - 13)}#${createHash("sha1").update(caseId).digest("hex").slice(0, 12)}`;
}

const MAX_JOB_ID = 200;

function toRecord(benchCase: BenchCase, outcome: JobOutcome, where: RecordBase): ResultRecord {
  const base = {
    suite: benchCase.suite,
    case: benchCase.case,
    params: benchCase.params,
    gpu: where.gpu,
    gpu_index: where.gpu_index,
    time: where.time,
    wall_ms: where.wall_ms,
  };
  if (outcome.type === "error") return { ...base, error: outcome.error };
  // A whole-model body without its own toRecords: kept whole, so nothing the worker said is lost.
  if ("body" in outcome) return { ...base, extra: { [outcome.op]: outcome.body } };
  return {
    ...base,
    stats: outcome.stats,
    ...(outcome.kernels ? { kernels: outcome.kernels } : {}),
    ...(outcome.extra ? { extra: outcome.extra } : {}),
    ...(outcome.stop_reason ? { stop_reason: outcome.stop_reason } : {}),
    ...(outcome.method ? { method: outcome.method } : {}),
    ...(outcome.warnings ? { warnings: outcome.warnings } : {}),
    ...(outcome.sm_clock_mhz ? { sm_clock_mhz: outcome.sm_clock_mhz } : {}),
    ...(outcome.dropped_throttled !== undefined ? { dropped_throttled: outcome.dropped_throttled } : {}),
    ...(outcome.samples_ms ? { samples_ms: outcome.samples_ms } : {}),
  };
}

/** First invocation writes run.json; a rerun adds itself to `resumes`. */
async function recordRunInfo(options: BenchOptions, existing: RunInfo | null, capability: CapabilityOk, now: () => number): Promise<void> {
  const time = new Date(now()).toISOString();
  if (existing) {
    const resumes = [...(existing.resumes ?? []), { time, command: options.command, git_commit: options.gitCommit, gpus: options.gpus }];
    await writeRunInfo(options.outDir, { ...existing, suites: [...new Set([...existing.suites, ...options.suites])], resumes });
    return;
  }
  await writeRunInfo(options.outDir, {
    run_id: options.runId,
    created: time,
    command: options.command,
    git_commit: options.gitCommit,
    host: hostname(),
    capability,
    suites: options.suites,
    gpus: options.gpus,
    quick: options.quick,
  });
}

/** A run id that sorts by time: 20260131-142500-S1-S2 (suites joined, cut at 40 characters). */
export function makeRunId(date: Date, suites: string[]): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  const stamp = `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}-${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}`;
  const names = suites.join("-").slice(0, 40);
  return names ? `${stamp}-${names}` : stamp;
}
