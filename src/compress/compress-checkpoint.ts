/**
 * `gac compress`: a dense checkpoint in, a compressed checkpoint out in one of the layouts gac
 * already reads (so scan, repair, verify and eval work on it unchanged), plus gac-compress.json
 * recording every size decision and why. Float64 linear algebra on the CPU, for small models;
 * --sizes-only reads headers only and writes a sparse checkpoint with the policy's sizes, for speed
 * runs at real size where random weights make the values irrelevant.
 *
 * The output is built in a temp dir and moved into place (util/atomic.ts); tensors the method does
 * not touch are copied byte for byte.
 */
import { join, resolve } from "node:path";
import { encodeFromFloat64 } from "../checkpoint/dtype-codec.js";
import { openCheckpoint } from "../checkpoint/open.js";
import { readTensorBytes } from "../checkpoint/safetensors-read.js";
import { writeCheckpoint, type TensorLayout, type WritableTensor } from "../checkpoint/safetensors-write.js";
import type { Checkpoint, Dtype } from "../checkpoint/types.js";
import { GacError } from "../errors.js";
import { writeSparseCheckpoint } from "../fixtures/sparse-checkpoint.js";
import { loadModelSpec } from "../model/load-model-spec.js";
import type { ModelSpec } from "../model/types.js";
import type { GpuProfile } from "../profile/types.js";
import { publishDirectoryAtomically, writeFileAtomic } from "../util/atomic.js";
import type { LoadedModel } from "../verify/forward.js";
import { checkpointReader } from "../verify/load-model.js";
import { TensorStore, modelTensorNames } from "../verify/tensor-store.js";
import type { ActivationSite } from "../verify/forward.js";
import { ACTIVATION_SITES, byteSequences, calibrationSummary, collectActivationStats, readCalibrationText, type CalibrationOptions, type LayerStats } from "./calibration.js";
import { compressLowRank } from "./low-rank-method.js";
import { compressPalu } from "./palu-method.js";
import { compressMlpWidths } from "./prune-mlp-method.js";
import { costDtype } from "./size-cost.js";
import type { AlignPolicy, SizeDecision, SizeTarget } from "./size-policy.js";
import { compressHeadDim } from "./svd-heads-method.js";
import type { CompressCache, CompressMethod, MethodInput, MethodResult, NewTensor, RopeWindow } from "./types.js";

export const COMPRESS_MANIFEST_FILE = "gac-compress.json";
export const COMPRESS_SCHEMA = "gac-compress/1";
/** Real-size sparse outputs shard like HF uploads (huggingface_hub's 5 GB). */
const SPARSE_SHARD_BYTES = 5_000_000_000;

/** The inputs whose Gram matrix each method uses (SVD-LLM whitens every projection; svd-heads scores q/k and whitens v). */
const GRAM_SITES: Record<CompressMethod, readonly ActivationSite[]> = {
  "svd-pairs": ACTIVATION_SITES,
  "svd-heads": ["attn_in"],
  asvd: [],
  palu: ["attn_in"],
  "prune-mlp": [],
};

export interface CompressOptions {
  method: CompressMethod;
  target: SizeTarget;
  align: AlignPolicy;
  /** Calibration text (bytes are tokens); absent: weight-only variants (see each method). */
  calibrationPath?: string;
  calibration?: CalibrationOptions;
  /** Required by align profile. */
  profile?: { profile: GpuProfile; path: string };
  /** Headers only: no weights read, a sparse checkpoint written. */
  sizesOnly?: boolean;
  uniform?: boolean;
  /** svd-heads: default "prefix". */
  ropeWindow?: RopeWindow;
  /** palu: KV heads per group. */
  headGroupSize?: number;
  force?: boolean;
  /** Shared by runs on the same model (bench/compress-study.ts): calibration and SVDs computed once. */
  cache?: CompressCache;
}

export interface CompressReport {
  schema: typeof COMPRESS_SCHEMA;
  source: string;
  out: string;
  method: CompressMethod;
  target: { kind: SizeTarget["kind"]; fraction: number };
  align: string;
  profile: string | null;
  calibration: string | null;
  sizes_only: boolean;
  params_before: number;
  params_after: number;
  /** Parameters of the matrices the method compresses, before and after. */
  compressed_params_before: number;
  compressed_params_after: number;
  notes: string[];
  decisions: SizeDecision[];
}

export function alignText(a: AlignPolicy): string {
  if (a.kind === "none") return "none";
  if (a.kind === "multiple") return `${a.of} (round ${a.round})`;
  return `profile (tolerance ${a.tolerance})`;
}

async function loadWeights(ckpt: Checkpoint, spec: ModelSpec): Promise<LoadedModel> {
  const store = new TensorStore(checkpointReader(ckpt));
  await store.load(modelTensorNames(spec));
  return { spec, weights: store.weights };
}

function runMethod(method: CompressMethod, input: MethodInput): MethodResult {
  switch (method) {
    case "svd-pairs":
      return compressLowRank(input, "svdllm");
    case "asvd":
      return compressLowRank(input, "asvd");
    case "svd-heads":
      return compressHeadDim(input);
    case "palu":
      return compressPalu(input);
    case "prune-mlp":
      return compressMlpWidths(input);
  }
}

const elements = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export async function compressCheckpoint(dir: string, outDir: string, opts: CompressOptions): Promise<CompressReport> {
  const source = resolve(dir);
  const out = resolve(outDir);
  if (out === source) throw new GacError("BAD_ARGS", `--out ${outDir} is the input checkpoint: gac compress never writes over its input`);
  const ckpt = await openCheckpoint(source);
  const spec = loadModelSpec(ckpt);
  if (spec.family !== "dense") {
    throw new GacError("UNSUPPORTED", `${source} is a ${spec.family} checkpoint: gac compress starts from a dense model (give it the uncompressed one)`);
  }
  if (opts.align.kind === "profile" && opts.profile === undefined) throw new GacError("NO_PROFILE", "--align profile needs a GPU profile (--gpu or --profile)");
  if (opts.sizesOnly && opts.calibrationPath !== undefined) throw new GacError("BAD_ARGS", "--sizes-only reads no weights, so --calibration cannot be used with it");
  if (opts.sizesOnly && opts.target.kind === "energy") throw new GacError("BAD_ARGS", "--sizes-only has no singular values to measure energy on: give --budget instead of --energy");

  const model = opts.sizesOnly ? null : await loadWeights(ckpt, spec);
  let stats: LayerStats[] | null = null;
  let calibration: string | null = null;
  const calibrationKey = `${source}|${opts.calibrationPath ?? ""}|${opts.calibration?.seqLen ?? ""}|${opts.calibration?.maxTokens ?? ""}`;
  if (model !== null && opts.calibrationPath !== undefined) {
    const sequences = byteSequences(await readCalibrationText(opts.calibrationPath), spec.vocabSize, opts.calibration);
    const statsKey = `${calibrationKey}|${GRAM_SITES[opts.method].join(",")}`;
    stats = opts.cache?.stats.get(statsKey) ?? collectActivationStats(model, sequences, GRAM_SITES[opts.method]);
    opts.cache?.stats.set(statsKey, stats);
    calibration = calibrationSummary(sequences, opts.calibrationPath);
  }
  // Plain SVDs (no calibration) are the same for svd-pairs and asvd; whitened and scaled ones are the method's own.
  const transform = stats === null ? "plain" : opts.method;
  const factorKey = `${calibrationKey}|${transform}`;
  if (opts.cache !== undefined && !opts.cache.factorisations.has(factorKey)) opts.cache.factorisations.set(factorKey, new Map());
  const result = runMethod(opts.method, {
    spec,
    config: ckpt.config,
    weights: model?.weights ?? null,
    stats,
    target: opts.target,
    align: opts.align,
    profile: opts.profile?.profile ?? null,
    servingDtype: costDtype(spec.dtype),
    uniform: opts.uniform ?? false,
    ropeWindow: opts.ropeWindow ?? "prefix",
    headGroupSize: opts.headGroupSize,
    source,
    factorisations: opts.sizesOnly ? undefined : opts.cache?.factorisations.get(factorKey),
  });

  const params = { before: 0, after: 0, compressedBefore: 0, compressedAfter: 0 };
  const outTensors: { layout: TensorLayout; data: () => Promise<Uint8Array> }[] = [];
  for (const entry of ckpt.tensors.values()) {
    params.before += elements(entry.shape);
    const replaced = result.replacements.get(entry.name);
    if (replaced === undefined) {
      params.after += elements(entry.shape);
      outTensors.push({ layout: { name: entry.name, dtype: entry.dtype, shape: entry.shape }, data: () => readTensorBytes(entry) });
      continue;
    }
    params.compressedBefore += elements(entry.shape);
    for (const t of replaced) {
      params.after += elements(t.shape);
      params.compressedAfter += elements(t.shape);
      outTensors.push({ layout: { name: t.name, dtype: spec.dtype, shape: t.shape }, data: async () => encodeNew(t, spec.dtype) });
    }
  }

  const report: CompressReport = {
    schema: COMPRESS_SCHEMA,
    source,
    out,
    method: opts.method,
    target: { kind: opts.target.kind, fraction: opts.target.fraction },
    align: alignText(opts.align),
    profile: opts.profile?.path ?? null,
    calibration,
    sizes_only: opts.sizesOnly ?? false,
    params_before: params.before,
    params_after: params.after,
    compressed_params_before: params.compressedBefore,
    compressed_params_after: params.compressedAfter,
    notes: result.notes,
    decisions: result.decisions,
  };
  const config = { ...result.config };
  await publishDirectoryAtomically(
    out,
    async (tmp) => {
      if (opts.sizesOnly) {
        await writeSparseCheckpoint(tmp, { config, tensors: outTensors.map((t) => t.layout), maxShardBytes: SPARSE_SHARD_BYTES });
      } else {
        const tensors: WritableTensor[] = outTensors.map((t) => ({
          ...t.layout,
          data: async function* () {
            yield await t.data();
          },
        }));
        await writeCheckpoint(tmp, { config, tensors });
      }
      await writeFileAtomic(join(tmp, COMPRESS_MANIFEST_FILE), JSON.stringify(report, null, 2) + "\n");
    },
    { force: opts.force },
  );
  return report;
}

function encodeNew(t: NewTensor, dtype: Dtype): Uint8Array {
  if (t.values === null) throw new Error(`unreachable: '${t.name}' has no values outside --sizes-only`);
  if (t.values.length !== elements(t.shape)) throw new Error(`'${t.name}' has ${t.values.length} values for shape [${t.shape.join(", ")}]`);
  return encodeFromFloat64(t.values, dtype);
}
