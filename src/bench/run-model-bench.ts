/**
 * `gac bench model`: a checkpoint's kernel calls, unrepaired and after each strategy, measured on
 * this host's GPUs (model-suite.ts builds the cases, runBench runs them like any suite) and summed
 * into measured forward times (model-summary.ts).
 *
 * The run directory also gets `scan-<name>.json`: the model's `gac scan --json` report, with the
 * predicted times of the profile that matches the GPU measured (none: predicted fields are null)
 * and `model.name` set, so `gac report <run dir>` plots predicted and measured speedups of the same
 * model side by side. Only headers are read: a header-only (sparse) checkpoint works.
 */
import { join } from "node:path";
import { openCheckpoint } from "../checkpoint/open.js";
import { GPU_IDS } from "../contract/gpus.js";
import type { GpuId, RuntimeId } from "../contract/types.js";
import type { Workload } from "../graph/types.js";
import { loadModelSpec } from "../model/load-model-spec.js";
import type { ModelSpec } from "../model/types.js";
import type { Strategy } from "../plan/types.js";
import { buildScanReport } from "../scan/build-scan-report.js";
import { findGpuProfile } from "../scan/scan-profile.js";
import { readRunInfo } from "../store/results-store.js";
import { writeFileAtomic } from "../util/atomic.js";
import type { CapabilityOk } from "./protocol.js";
import { buildModelBench, MODEL_SUITE, type ModelBench } from "./model-suite.js";
import { summarizeModelBench, type ModelBenchSummary } from "./model-summary.js";
import { runBench, type BenchOptions, type BenchSummary } from "./run-bench.js";

interface ModelBenchPlanOptions {
  checkpoint: string;
  name: string;
  strategies?: readonly Strategy[];
  workload?: Workload;
  runtime?: RuntimeId;
  /** Tensor-parallel GPUs: measure the shard of the GPU `gac scan --tp` reports (model-suite.ts). */
  tp?: number;
}

/** The spec (headers only) and the cases of a checkpoint. */
export async function planModelBench(opts: ModelBenchPlanOptions): Promise<{ spec: ModelSpec; bench: ModelBench }> {
  const spec = loadModelSpec(await openCheckpoint(opts.checkpoint));
  const tp = opts.tp ?? 1;
  // The shard the scan shows: ranks differ only where PaLU groups do, and the scan picks the worst.
  const rank = tp > 1 ? (buildScanReport(spec, { ...(opts.runtime ? { runtime: opts.runtime } : {}), tp }).tensor_parallel?.rank ?? 0) : 0;
  const bench = buildModelBench(spec, {
    ...(tp > 1 ? { tp, rank } : {}),
    name: opts.name,
    ...(opts.strategies ? { strategies: opts.strategies } : {}),
    ...(opts.workload ? { workload: opts.workload } : {}),
    ...(opts.runtime ? { runtime: opts.runtime } : {}),
  });
  return { spec, bench };
}

interface ModelBenchRunOptions extends ModelBenchPlanOptions, Omit<BenchOptions, "cases" | "suites" | "quick"> {
  /** Where predicted times may come from: ./profiles and the packaged profiles/. */
  profileDirs: readonly string[];
}

interface ModelBenchRunResult {
  bench: ModelBench;
  run: BenchSummary;
  /** This model's measured totals (one per GPU model measured on). */
  summaries: ModelBenchSummary[];
  /** The scan written beside the results. */
  scanPath: string;
}

function modelScanFileName(name: string): string {
  return `scan-${name}.json`;
}

export async function runModelBench(opts: ModelBenchRunOptions): Promise<ModelBenchRunResult> {
  const { spec, bench } = await planModelBench(opts);
  const run = await runBench({ ...opts, cases: bench.cases, suites: [MODEL_SUITE], quick: false });
  const scanPath = join(opts.outDir, modelScanFileName(bench.name));
  await writeModelScan(scanPath, spec, bench.name, (await readRunInfo(opts.outDir))?.capability, opts);
  const mine = new Set(bench.cases.map((c) => c.case));
  return { bench, run, summaries: summarizeModelBench(run.records.filter((r) => mine.has(r.case))), scanPath };
}

/** Compute capability "9.0" -> sm90 when gac knows that generation. */
function gpuIdOf(capability: Pick<CapabilityOk, "gpu"> | undefined): GpuId | undefined {
  const cc = capability?.gpu.compute_capability;
  const id = typeof cc === "string" ? `sm${cc.replace(".", "")}` : undefined;
  return GPU_IDS.find((g) => g === id);
}

/** The scan of the measured GPU: its generation's contract and the profile of its name, when there is one. */
async function writeModelScan(path: string, spec: ModelSpec, name: string, capability: CapabilityOk | undefined, opts: ModelBenchRunOptions): Promise<void> {
  const profile = capability ? await findGpuProfile(capability.gpu.name, opts.profileDirs) : null;
  const gpu = gpuIdOf(capability);
  const report = buildScanReport(spec, {
    ...(gpu ? { gpu } : {}),
    ...(opts.runtime ? { runtime: opts.runtime } : {}),
    ...(opts.workload ? { workload: opts.workload } : {}),
    ...(profile ? { profile } : {}),
    ...(opts.tp !== undefined ? { tp: opts.tp } : {}),
  });
  // model.name is an added field (docs/results-format.md): the report matches measured results to it.
  await writeFileAtomic(path, JSON.stringify({ ...report, model: { ...report.model, name } }, null, 2) + "\n");
}
