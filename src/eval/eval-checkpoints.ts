/**
 * `gac eval`: perplexity of one or more checkpoints on one text, side by side. Every checkpoint sees
 * the same windows (windows.ts) of the same bytes (text-source.ts); token id = byte value
 * (byte-tokenizer.ts). loss = mean NLL in nats over the scored targets; perplexity = exp(loss).
 *
 * cpu: the float64 reference forward (src/verify/), one model in memory at a time.
 * gpu: the accuracy worker (python/gac_worker/accuracy.py) in float64, float32 (TF32 off) and
 *      bfloat16, from the same job description (src/accuracy/job.ts).
 * A logical-mode gac repair runs with the attention scale its gac-repair.json records, as verify does.
 */
import { GacError, formatCount } from "../errors.js";
import { LAYERWISE_PARAM_THRESHOLD } from "../verify/layerwise.js";
import type { Dtype } from "../checkpoint/types.js";
import type { Family } from "../model/types.js";
import type { Strategy } from "../plan/types.js";
import type { ScaleMode } from "../repair/tensor-edits.js";
import { gacVersion } from "../scan/gac-version.js";
import { loadModel, openModel, type ModelHandle } from "../verify/load-model.js";
import { readRepairScale } from "../repair/manifest.js";
import { modelTensorNames } from "../verify/tensor-store.js";
import { jobModel, windowRows, ACCURACY_JOB_SCHEMA, PRECISIONS, type JobModel, type Precision } from "../accuracy/job.js";
import { pairFromPlan } from "../accuracy/repair-pair.js";
import { runAccuracyJob } from "../accuracy/run-job.js";
import { BYTE_VOCAB_SIZE, readTokenizerKind, type TokenizerKind } from "./byte-tokenizer.js";
import { cpuWindowsNll } from "./cpu-perplexity.js";
import { readEvalText, type EvalText } from "./text-source.js";
import { planWindows, type WindowPlan } from "./windows.js";

export const EVAL_SCHEMA = "gac-eval/1";
export const DEFAULT_CONTEXT = 256;
/** Windows per GPU forward: 16 x 256 tokens; at a 128k vocabulary the fp32 logits are 2 GB. */
export const GPU_BATCH_WINDOWS = 16;
/** The CPU path holds a model in float64: 200M parameters are 1.6 GB and about an hour per 16k targets. */
export const CPU_MAX_PARAMS = LAYERWISE_PARAM_THRESHOLD;

export interface EvalOptions {
  textFile?: string;
  cwd: string;
  context?: number;
  stride?: number;
  maxTokens?: number;
  device?: "cpu" | "gpu";
  /** GPU precisions (default all three). */
  precisions?: Precision[];
  /** GPU only: random weights for a (header-only) original, and the repair `strategy` would make derived from them. */
  randomWeights?: { seed: number; strategy: Strategy; scaleMode: ScaleMode };
  onProgress?: (message: string) => void;
}

export interface EvalResult {
  dir: string;
  model_type: string;
  family: Family;
  dtype: Dtype;
  params: number;
  tokenizer: TokenizerKind | "random-weights";
  /** How the checkpoint keeps the softmax scale (its gac-repair.json), null for a plain checkpoint. */
  scale_mode: ScaleMode | null;
  precision: Precision;
  loss: number;
  perplexity: number;
  targets: number;
  seconds: number;
}

export interface EvalReport {
  schema: typeof EVAL_SCHEMA;
  gac_version: string;
  device: "cpu" | "gpu";
  text: { kind: EvalText["kind"]; path: string; byte_offset: number; bytes: number; sha256: string };
  tokenization: "bytes";
  context: number;
  stride: number;
  max_tokens: number | null;
  windows: number;
  targets: number;
  /** GPU runs: the device name and torch version the worker reported. */
  gpu?: string;
  torch?: string;
  results: EvalResult[];
}

async function describe(dir: string): Promise<{ handle: ModelHandle; tokenizer: TokenizerKind; scaleMode: ScaleMode | null; attentionScale?: number | number[] }> {
  const handle = await openModel(dir);
  if (handle.spec.vocabSize < BYTE_VOCAB_SIZE) {
    throw new GacError("UNSUPPORTED", `${handle.dir} has a vocabulary of ${handle.spec.vocabSize}; gac eval feeds bytes as token ids and needs at least ${BYTE_VOCAB_SIZE}`);
  }
  const tokenizer = await readTokenizerKind(handle.dir);
  const scale = await readRepairScale(handle.dir);
  return { handle, tokenizer, scaleMode: scale.mode, ...(scale.attentionScale !== undefined ? { attentionScale: scale.attentionScale } : {}) };
}

function resultOf(h: ModelHandle, tokenizer: EvalResult["tokenizer"], scaleMode: ScaleMode | null, precision: Precision, nll: number, targets: number, seconds: number): EvalResult {
  const s = h.spec;
  const loss = nll / targets;
  return { dir: h.dir, model_type: s.modelType, family: s.family, dtype: s.dtype, params: h.params, tokenizer, scale_mode: scaleMode, precision, loss, perplexity: Math.exp(loss), targets, seconds };
}

export async function evalCheckpoints(dirs: readonly string[], opts: EvalOptions): Promise<EvalReport> {
  if (dirs.length === 0) throw new GacError("BAD_ARGS", "gac eval needs at least one checkpoint directory");
  const device = opts.device ?? "cpu";
  if (opts.randomWeights && device !== "gpu") throw new GacError("BAD_ARGS", "--random-weights runs on the GPU only (--device gpu): a real-size model in float64 on the CPU takes hours");
  const text = await readEvalText(opts.textFile, opts.cwd);
  const context = opts.context ?? DEFAULT_CONTEXT;
  const plan = planWindows(text.bytes.length, context, opts.stride ?? context, opts.maxTokens);
  const { results, gpu, torch } = device === "cpu" ? { results: await evalCpu(dirs, text, plan, opts), gpu: undefined, torch: undefined } : await evalGpu(dirs, text, plan, opts);
  return {
    schema: EVAL_SCHEMA,
    gac_version: gacVersion(),
    device,
    text: { kind: text.kind, path: text.path, byte_offset: text.byteOffset, bytes: text.bytes.length, sha256: text.sha256 },
    tokenization: "bytes",
    context,
    stride: opts.stride ?? context,
    max_tokens: opts.maxTokens ?? null,
    windows: plan.windows.length,
    targets: plan.targets,
    ...(gpu !== undefined ? { gpu } : {}),
    ...(torch !== undefined ? { torch } : {}),
    results,
  };
}

async function evalCpu(dirs: readonly string[], text: EvalText, plan: WindowPlan, opts: EvalOptions): Promise<EvalResult[]> {
  const results: EvalResult[] = [];
  for (const dir of dirs) {
    const d = await describe(dir);
    if (d.handle.params > CPU_MAX_PARAMS) {
      throw new GacError(
        "UNSUPPORTED",
        `${d.handle.dir} has ${formatCount(d.handle.params)} parameters; the CPU evaluation holds them in float64 (${((d.handle.params * 8) / 1e9).toFixed(1)} GB) and runs for hours: use --device gpu`,
      );
    }
    const t0 = performance.now();
    const model = await loadModel(d.handle);
    try {
      const total = cpuWindowsNll(model, text.bytes, plan.windows, {
        forward: d.attentionScale === undefined ? {} : { attentionScale: d.attentionScale },
        // A line per tenth of the windows: 435 held-out windows would otherwise be 55 lines per model.
        onBatch: (done, of) => {
          if (Math.floor((10 * done) / of) > Math.floor((10 * (done - 1)) / of) || done === of) opts.onProgress?.(`${d.handle.dir}: window ${done}/${of}`);
        },
      });
      results.push(resultOf(d.handle, d.tokenizer, d.scaleMode, "float64", total.nll, total.targets, (performance.now() - t0) / 1000));
    } finally {
      d.handle.store.release(modelTensorNames(d.handle.spec));
    }
  }
  return results;
}

async function evalGpu(dirs: readonly string[], text: EvalText, plan: WindowPlan, opts: EvalOptions): Promise<{ results: EvalResult[]; gpu?: string; torch?: string }> {
  const handles: { handle: ModelHandle; tokenizer: EvalResult["tokenizer"]; scaleMode: ScaleMode | null }[] = [];
  const models: JobModel[] = [];
  if (opts.randomWeights) {
    const { seed, strategy, scaleMode } = opts.randomWeights;
    if (dirs.length !== 1) throw new GacError("BAD_ARGS", "--random-weights takes one original directory; the repaired model is derived from it by --strategy and --scale");
    const pair = await pairFromPlan(dirs[0], strategy, scaleMode);
    const handle = await openModel(dirs[0]);
    models.push(jobModel(pair.original.dir, pair.original.dir, pair.original.spec, pair.original.forward, { source: "random", seed, dtype: pair.original.spec.dtype }));
    models.push(jobModel(pair.repaired.dir, pair.repaired.dir, pair.repaired.spec, pair.repaired.forward, { source: "derived", from: 0, edits: pair.edits }));
    handles.push({ handle, tokenizer: "random-weights", scaleMode: pair.original.scale.mode });
    const added = pair.edits.reduce((a, e) => a + e.to.reduce((x, y) => x * y, 1) - e.from.reduce((x, y) => x * y, 1), 0);
    handles.push({ handle: { ...handle, dir: pair.repaired.dir, spec: pair.repaired.spec, params: handle.params + added }, tokenizer: "random-weights", scaleMode });
  } else {
    for (const dir of dirs) {
      const d = await describe(dir);
      handles.push(d);
      models.push(jobModel(d.handle.dir, d.handle.dir, d.handle.spec, d.attentionScale === undefined ? {} : { attentionScale: d.attentionScale }, { source: "checkpoint" }));
    }
  }
  const precisions = opts.precisions ?? [...PRECISIONS];
  const lines = await runAccuracyJob(
    {
      schema: ACCURACY_JOB_SCHEMA,
      op: "eval",
      models,
      precisions,
      text: { path: text.path, byte_offset: text.byteOffset, byte_length: text.bytes.length },
      windows: windowRows(plan.windows),
      batch_windows: GPU_BATCH_WINDOWS,
    },
    { onProgress: opts.onProgress },
  );
  const results: EvalResult[] = [];
  for (const line of lines) {
    const index = Number(line.model);
    const h = handles[index];
    const precision = PRECISIONS.find((p) => p === line.precision);
    if (h === undefined || precision === undefined || typeof line.nll !== "number" || line.targets !== plan.targets) {
      throw new GacError("WORKER_FAILED", `the accuracy worker answered ${JSON.stringify(line).slice(0, 200)}, which is not a result of this job (${plan.targets} targets)`);
    }
    results.push(resultOf(h.handle, h.tokenizer, h.scaleMode, precision, line.nll, plan.targets, Number(line.seconds)));
  }
  if (results.length !== handles.length * precisions.length) {
    throw new GacError("WORKER_FAILED", `the accuracy worker returned ${results.length} results for ${handles.length} models x ${precisions.length} precisions`);
  }
  return { results, gpu: String(lines[0]?.gpu ?? "unknown GPU"), torch: String(lines[0]?.torch ?? "unknown") };
}
