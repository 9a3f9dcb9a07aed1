/**
 * `gac bench e2e`: whole models, unrepaired and repaired, timed in the engine configurations people
 * deploy, on this host's GPUs. Models come from models.ts, jobs from plan-e2e.ts, and runBench runs
 * them like any suite (one worker per GPU, resumable, progress), with rows.ts turning each job's
 * answer into store rows. The run directory also gets e2e-models.json (models-file.ts).
 */
import { mkdir } from "node:fs/promises";
import { GacError } from "../../errors.js";
import { openAppender, readRun, readRunInfo } from "../../store/results-store.js";
import type { ResultRecord } from "../../store/types.js";
import { runBench, type BenchOptions, type BenchSummary } from "../run-bench.js";
import type { EngineConfig } from "./engines.js";
import type { E2eGrid } from "./grid.js";
import { describeCheckpoint, UNREPAIRED, type E2eModel, type E2eVariant, type WeightsChoice } from "./models.js";
import { writeModelsFile } from "./models-file.js";
import { E2E_LOGITS_SUITE, E2E_SUITE, planE2e, type E2ePlan } from "./plan-e2e.js";
import { e2eRecords, refusalRecord } from "./rows.js";
import type { ScaleMode } from "../../repair/tensor-edits.js";

export interface E2eModelOptions {
  checkpoints: readonly { dir: string; name?: string }[];
  /** Dense parents: each is measured unrepaired, beside the checkpoints of its shapes. */
  parents: readonly string[];
  variants: readonly E2eVariant[];
  scale: ScaleMode;
  weights: WeightsChoice;
}

/** Every model of the run: parents first, then each checkpoint's variants. */
export async function describeE2eModels(opts: E2eModelOptions): Promise<E2eModel[]> {
  if (opts.checkpoints.length === 0) throw new GacError("BAD_ARGS", "gac bench e2e needs at least one --checkpoint <dir>");
  const models: E2eModel[] = [];
  for (const dir of opts.parents) models.push(...(await describeCheckpoint(dir, { variants: [UNREPAIRED], scale: opts.scale, weights: opts.weights, role: "parent" })));
  for (const c of opts.checkpoints) {
    models.push(...(await describeCheckpoint(c.dir, { ...(c.name !== undefined ? { name: c.name } : {}), variants: opts.variants, scale: opts.scale, weights: opts.weights, role: "checkpoint" })));
  }
  const labels = new Set<string>();
  for (const m of models) {
    if (labels.has(m.description.label)) throw new GacError("BAD_ARGS", `two models are named '${m.description.label}': give checkpoints distinct directory names (or --name)`);
    labels.add(m.description.label);
  }
  return models;
}

export interface E2eRunOptions extends Omit<BenchOptions, "cases" | "suites" | "quick" | "toRecords"> {
  models: readonly E2eModel[];
  configs: readonly EngineConfig[];
  grid: E2eGrid;
  noLogits?: boolean;
}

export interface E2eRunResult {
  plan: E2ePlan;
  run: BenchSummary;
  /** Every e2e and e2e_logits row of the directory after this run. */
  records: ResultRecord[];
  /** Rows the plan expects that the directory still lacks (a crashed worker, a point left out): rerun to retry. */
  missingRows: string[];
}

export async function runE2e(opts: E2eRunOptions): Promise<E2eRunResult> {
  const before = await readRun(opts.outDir);
  const present = new Set(before.records.map((r) => r.case));
  const plan = planE2e(opts.models, opts.configs, opts.grid, { present, ...(opts.noLogits ? { noLogits: true } : {}) });
  await mkdir(opts.outDir, { recursive: true });
  await writeModelsFile(opts.outDir, opts.models);
  const models = new Map(opts.models.map((m) => [m.description.label, m]));
  const ctx = { models, gitCommit: opts.gitCommit, grid: opts.grid };
  const run = await runBench({ ...opts, cases: plan.jobs, suites: [E2E_SUITE], quick: opts.grid.name === "quick", toRecords: (c, outcome, base) => e2eRecords(c, outcome, base, ctx) });
  const records = [...run.records];
  // Refusals the client decided are rows too, once there is a run (its GPU and versions) to file them under.
  const info = await readRunInfo(opts.outDir);
  const newRefusals = plan.refusals.filter((r) => !present.has(r.row));
  if (info && newRefusals.length > 0) {
    const appender = await openAppender(opts.outDir, info.gpus[0] ?? 0);
    const time = new Date((opts.now ?? Date.now)()).toISOString();
    for (const r of newRefusals) {
      const record = refusalRecord(r, info.capability, opts.gitCommit, time);
      await appender.append(record);
      records.push(record);
    }
  }
  const have = new Set(records.map((r) => r.case));
  return {
    plan,
    run,
    records: records.filter((r) => r.suite === E2E_SUITE || r.suite === E2E_LOGITS_SUITE),
    missingRows: plan.expectedRows.filter((id) => !have.has(id) && !(info === null && plan.refusals.some((r) => r.row === id))),
  };
}
