/**
 * From models, engine configurations and a grid to worker jobs: one `e2e` job per (model, engine
 * configuration) with the grid points still missing from the run directory, and one `e2e_logits`
 * job per repaired model. Pure: the run directory's record ids come in as a set.
 *
 * Ids (docs/e2e.md): a job is `e2e/<label>/<engine>/<config>/<cache>` (the protocol's job id); its
 * rows are `<job>/<point>` ("e2e/llama3-8b/none/gac/graph/static/decode/b1/c4096"), and a job that
 * could not run at all (refused by the client or by the worker) has one row with the job's own id.
 * A rerun skips every job whose own row exists and every point that has a row.
 */
import type { BenchCase, ParamValue } from "../suites.js";
import type { BenchDtype, JsonValue } from "../protocol.js";
import { servingDtype } from "../../scan/serving-dtype.js";
import { engineRefusal, type EngineConfig } from "./engines.js";
import { gridPoints, type E2eGrid } from "./grid.js";
import { baseShapeKey, UNREPAIRED, type E2eModel } from "./models.js";
import type { E2eJobParams, E2eLogitsJobParams, Engine } from "./wire.js";

export const E2E_SUITE = "e2e";
export const E2E_LOGITS_SUITE = "e2e_logits";

/** Seconds a job takes before the first one finished (H200, Llama-8B size): build + per point. */
const ESTIMATE_S_PER_JOB = 4;
const ESTIMATE_S_PER_POINT = 1;
const ESTIMATE_S_PER_LOGITS_JOB = 8;
const SEED = 0;

export function modelDtype(model: E2eModel): BenchDtype {
  return servingDtype(model.description.spec.dtype) === "BF16" ? "bf16" : "fp16";
}

export function jobCaseId(model: E2eModel, cfg: EngineConfig): string {
  return `${E2E_SUITE}/${model.description.label}/${cfg.id}`;
}

export function logitsCaseId(model: E2eModel): string {
  return `${E2E_LOGITS_SUITE}/${model.description.label}`;
}

/** What every row of a model carries in params (tables and the report group by these). */
export function modelParams(model: E2eModel): Record<string, ParamValue> {
  return {
    model: model.description.label,
    checkpoint: model.name,
    variant: model.variant,
    role: model.role,
    family: model.description.spec.family,
    scale: model.scale,
    weights: model.description.weights,
    dtype: modelDtype(model),
    /** The base model's shapes: a dense parent and the checkpoints compressed from it share it. */
    base_model: baseShapeKey(model.description.spec),
  };
}

function configParams(cfg: EngineConfig): Record<string, ParamValue> {
  return { engine: cfg.engine, config: cfg.config, cache: cfg.cache };
}

/** A configuration the client knows cannot run a model: the row it writes and the line it prints. */
export interface ConfigRefusal {
  model: string;
  config: string;
  reason: string;
  row: string;
  params: Record<string, ParamValue>;
}

export interface E2ePlan {
  /** `e2e` jobs with their missing points, then `e2e_logits` jobs. */
  jobs: BenchCase[];
  /** Configurations that cannot run a model (no job; one row each unless already recorded). */
  refusals: ConfigRefusal[];
  /** Models not run because an earlier variant is the same model. */
  aliases: { model: string; sameAs: string }[];
  /** Rows the finished run should have (points and job-level rows), to tell what is still missing. */
  expectedRows: string[];
  /** Jobs or points skipped because the run directory has them. */
  alreadyDone: number;
}

export interface PlanOptions {
  /** Record ids already in the run directory. */
  present: ReadonlySet<string>;
  /** Skip the e2e_logits jobs. */
  noLogits?: boolean;
}

export function planE2e(models: readonly E2eModel[], configs: readonly EngineConfig[], grid: E2eGrid, opts: PlanOptions): E2ePlan {
  const plan: E2ePlan = { jobs: [], refusals: [], aliases: [], expectedRows: [], alreadyDone: 0 };
  const byLabel = new Map(models.map((m) => [`${m.name}/${m.variant}`, m]));
  const points = gridPoints(grid);
  for (const model of models) {
    if (model.sameAs !== undefined) {
      plan.aliases.push({ model: model.description.label, sameAs: byLabel.get(`${model.name}/${model.sameAs}`)?.description.label ?? model.sameAs });
      continue;
    }
    for (const cfg of configs) {
      const id = jobCaseId(model, cfg);
      const params = { op: E2E_SUITE, ...modelParams(model), ...configParams(cfg) };
      const reason = engineRefusal(cfg, model.description.spec, model.description.hf_config);
      if (reason !== null) {
        plan.expectedRows.push(id);
        if (opts.present.has(id)) plan.alreadyDone++;
        plan.refusals.push({ model: model.description.label, config: cfg.id, reason, row: id, params: { ...params, phase: "all" } });
        continue;
      }
      if (opts.present.has(id)) {
        plan.alreadyDone++;
        continue;
      }
      const missing = points.filter((p) => !opts.present.has(`${id}/${p.key}`));
      plan.expectedRows.push(...points.map((p) => `${id}/${p.key}`));
      plan.alreadyDone += points.length - missing.length;
      if (missing.length === 0) continue;
      const job: E2eJobParams = {
        model: model.description,
        engine: cfg.engine,
        config: cfg.config,
        cache: cfg.cache,
        dtype: modelDtype(model),
        seed: SEED,
        prefill: missing.filter((p) => p.phase === "prefill").map((p) => ({ batch: p.batch, seq: p.length })),
        decode: missing.filter((p) => p.phase === "decode").map((p) => ({ batch: p.batch, context: p.length })),
        prefill_repeats: grid.prefillRepeats,
        decode_steps: grid.decodeSteps,
        warmup: grid.warmup,
      };
      plan.jobs.push({
        suite: E2E_SUITE,
        case: id,
        params: { ...params, phase: "all", points: missing.length },
        job: { op: "e2e", params: toJson(job) },
        estimateS: ESTIMATE_S_PER_JOB + ESTIMATE_S_PER_POINT * missing.length,
      });
    }
  }
  if (!opts.noLogits) for (const model of models) addLogitsJob(plan, model, models, grid, opts.present);
  return plan;
}

/** The engines that can load both the original and the repaired model. */
function logitsEngines(original: E2eModel, repaired: E2eModel): { engines: Engine[]; refused: string[] } {
  const engines: Engine[] = ["gac"];
  const refused: string[] = [];
  const probe: EngineConfig = { engine: "transformers", config: "sdpa", cache: "dynamic", id: "transformers/sdpa/dynamic" };
  const why = engineRefusal(probe, original.description.spec, original.description.hf_config) ?? engineRefusal(probe, repaired.description.spec, repaired.description.hf_config);
  if (why === null) engines.push("transformers");
  else refused.push(`transformers: ${why}`);
  return { engines, refused };
}

function addLogitsJob(plan: E2ePlan, model: E2eModel, models: readonly E2eModel[], grid: E2eGrid, present: ReadonlySet<string>): void {
  if (model.variant === UNREPAIRED || model.sameAs !== undefined || model.role === "parent") return;
  const original = models.find((m) => m.name === model.name && m.variant === UNREPAIRED);
  if (!original) return;
  const id = logitsCaseId(model);
  plan.expectedRows.push(id);
  if (present.has(id)) {
    plan.alreadyDone++;
    return;
  }
  const { engines, refused } = logitsEngines(original, model);
  const job: E2eLogitsJobParams = {
    original: original.description,
    repaired: model.description,
    engines,
    batch: grid.logits.batch,
    seq: grid.logits.seq,
    dtype: modelDtype(model),
    seed: SEED,
  };
  plan.jobs.push({
    suite: E2E_LOGITS_SUITE,
    case: id,
    params: {
      op: E2E_LOGITS_SUITE,
      ...modelParams(model),
      engines: engines.join(","),
      batch: grid.logits.batch,
      seq: grid.logits.seq,
      ...(refused.length > 0 ? { engines_refused: refused.join("; ") } : {}),
    },
    job: { op: "e2e_logits", params: toJson(job) },
    estimateS: ESTIMATE_S_PER_LOGITS_JOB,
  });
}

/** The job params as the JSON they are sent as (ModelSpec and TensorEdit are plain data). */
function toJson(value: E2eJobParams | E2eLogitsJobParams): Record<string, JsonValue> {
  const json: Record<string, JsonValue> = JSON.parse(JSON.stringify(value));
  return json;
}

/**
 * Refusals grouped for printing: one line per checkpoint and reason, naming the models and the
 * configurations ("palu-llama3-8b/{none,MINIMAL,OPTIMAL} in 5 configurations (transformers/...): ...").
 */
export function groupRefusals(refusals: readonly ConfigRefusal[]): string[] {
  const groups = new Map<string, { models: string[]; configs: string[]; reason: string }>();
  for (const r of refusals) {
    const name = r.model.split("/")[0];
    const key = `${name}\u0000${r.reason.replace(/\(layer 0: .*\)$/, "")}`;
    const g = groups.get(key) ?? { models: [], configs: [], reason: r.reason };
    if (!g.models.includes(r.model)) g.models.push(r.model);
    if (!g.configs.includes(r.config)) g.configs.push(r.config);
    groups.set(key, g);
  }
  return [...groups.values()].map((g) => {
    const variants = g.models.map((m) => m.slice(m.indexOf("/") + 1));
    const who = g.models.length === 1 ? g.models[0] : `${g.models[0].split("/")[0]}/{${variants.join(",")}}`;
    const where = g.configs.length === 1 ? g.configs[0] : `${g.configs.length} configurations (${g.configs.join(", ")})`;
    return `cannot run ${who} in ${where}: ${g.reason}`;
  });
}
