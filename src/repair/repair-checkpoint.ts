/**
 * repairCheckpoint: input directory -> a new directory holding the same model with GPU-friendly
 * dims. Headers only are read up front; every tensor then streams through in blocks (memory stays
 * bounded whatever the checkpoint size), shards keep their names and tensor assignment, config.json
 * gets the fields the new shapes change, and gac-repair.json records everything.
 *
 * Refusals: a dim the strategy would change but repair cannot change exactly (yarn RoPE, odd
 * head_dim, hidden size, vocab) is left as it is and listed in `skipped` (result and manifest); the
 * rest is repaired. `strict: true` turns any skipped dim into an UNSUPPORTED error instead.
 *
 * Safety (docs/robustness.md): the output is placed by identity, never at, in or around anything
 * it reads (util/output-path.ts), built in a temp dir and renamed into place
 * (publishDirectoryAtomically), so it appears complete or not at all; the input is only ever
 * opened for reading, and its files are checked (size, mtime, ctime, inode; sha256 too with
 * checksumOutput) at the end: a change while gac read it is INPUT_CHANGED (input-guard.ts).
 */
import { mkdir, open } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { GacError, formatCount, withFsErrors } from "../errors.js";
import { openCheckpoint, CONFIG_FILE, INDEX_FILE, MAX_CONFIG_BYTES, MAX_INDEX_BYTES } from "../checkpoint/open.js";
import { parseBoundedJson } from "../util/bounded-json.js";
import { checkOutputPath, type OutputRules } from "../util/output-path.js";
import { readRegularFile } from "../util/regular-file.js";
import { checkHashesUnchanged, checkUnchanged, copyFileHashed, listExtraFiles, stampOf } from "./input-guard.js";
import { tensorByteLength } from "../checkpoint/safetensors-header.js";
import type { Checkpoint } from "../checkpoint/types.js";
import { loadModelSpec } from "../model/load-model-spec.js";
import { refuseUnknownModelType, unknownModelTypeNote } from "../model/model-types.js";
import type { ModelSpec } from "../model/types.js";
import { planRepair } from "../plan/plan-repair.js";
import { overheadByTp, type TpOverhead } from "../plan/overhead-by-tp.js";
import { DEFAULT_RUNTIME } from "../contract/runtimes.js";
import { tensorParallelRule } from "../contract/rules/tensor-parallel.js";
import type { RuntimeId } from "../contract/types.js";
import { checkTensorParallel } from "../graph/shard-spec.js";
import type { DimChange, Refusal, RepairPlan, Strategy } from "../plan/types.js";
import { publishDirectoryAtomically } from "../util/atomic.js";
import { serializeConfig, updateConfig, type ConfigFieldChange } from "./config-update.js";
import { screenChanges } from "./exactness.js";
import { hashesRecord, logicalDims, manifestTensorEdits, REPAIR_MANIFEST_FILE, MANIFEST_FORMAT, type RepairManifest } from "./manifest.js";
import { DEFAULT_HASH_SCHEME, HASH_SCHEMES, hashBytes, isHashScheme, type HashScheme } from "./file-hash.js";
import { HashPool } from "./hash-pool.js";
import { defaultChunkBytes, repairedFileSize, type FileDigest, type OutputFile } from "./stream-shard.js";
import { repairShards } from "./repair-shards.js";
import { addStreamTimings, emptyStreamTimings, since, type StreamTimings } from "./stream-timings.js";
import { tensorEdits, type ScaleMode, type TensorEdit } from "./tensor-edits.js";
import { gacVersion } from "../scan/gac-version.js";
import { quantizedMultiple, quantizedRepairEdits } from "../quant/repair-quantized.js";
import { readPriorRepair, type PriorRepair } from "../repair/manifest.js";

export interface RepairOptions extends ShardingOptions {
  strategy: Strategy;
  /** How the softmax scale survives a head_dim change (default "fold": stock HF loaders work unchanged). */
  scaleMode?: ScaleMode;
  /** Replace an existing output directory, when it is a gac output (holds gac-repair.json) or empty. */
  force?: boolean;
  /** With `force`: also replace an existing output that is neither a gac output nor empty. */
  replaceAny?: boolean;
  /** Fail with UNSUPPORTED instead of skipping dims that cannot be repaired exactly. */
  strict?: boolean;
  /**
   * Also record the hash of every output file in the manifest (in the input's scheme). Off by
   * default: it is a second hash pass over every byte written (~1.4 s of CPU per 2 GB), and the
   * manifest's promise is the input's checksums; output sizes are always recorded.
   */
  checksumOutput?: boolean;
  /**
   * How files are hashed (file-hash.ts): "sha256-chunks" (default) records the sha256 of every
   * 64 MiB chunk, hashed on several workers at once; "sha256" one sha256 of each whole file (the
   * Hub's LFS oid), sequential: 1.15-1.32 GB/s per file on the GPU host we measured.
   */
  inputHash?: HashScheme;
  /** Hash worker threads shared by the whole repair (default: max(1, min(4, cores - 1)), hash-pool.ts). */
  hashWorkers?: number;
  /** Bytes per streamed block (default 16 MiB, 4 MiB with one hash worker: defaultChunkBytes); tests use small values to cross many block edges. */
  chunkBytes?: number;
  /** Safetensors files repaired at once (default: a quarter of the cores, 1 to 4). */
  shardConcurrency?: number;
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
  signal?: AbortSignal;
}

/** The runtime whose rules the plan follows and the parallelism it aligns for (default: pytorch-sdpa, TP 1). */
export interface ShardingOptions {
  runtime?: RuntimeId;
  /** Pad so every one of tp GPUs holds an aligned shard (plan-repair.ts). */
  tp?: number;
  /** Pipeline stages: no shape changes; recorded. */
  pp?: number;
}

/** What a repair would do, computed from headers only (`gac plan`, `gac repair --dry-run`). */
export interface RepairProposal {
  inDir: string;
  spec: ModelSpec;
  plan: RepairPlan;
  scaleMode: ScaleMode;
  /** Dim changes that will be applied. */
  changes: DimChange[];
  /** Plan refusals plus planned changes repair cannot make exactly. */
  skipped: Refusal[];
  /** What the reader assumed (an unknown model_type read as Llama); `strict` refuses instead. */
  notes: string[];
  /** The input's own gac-repair.json when it is a gac output (its original sizes and scale carry over). */
  prior?: PriorRepair;
  edits: TensorEdit[];
  /** The output config.json: its value, the fields changed, and its text (checked to load under gac's limits). */
  config: { value: Record<string, unknown>; changed: ConfigFieldChange[]; text: string };
  /** Total bytes of the input's safetensors files and of the output's. */
  bytesIn: number;
  bytesOut: number;
  /** The runtime and parallelism planned for, and the strategy's overhead at TP 1/2/4/8 (null for a runtime without TP). */
  parallel: { runtime: RuntimeId; tp: number; pp: number; byTp: TpOverhead[] | null };
}

export interface RepairResult extends RepairProposal {
  outDir: string;
  manifest: RepairManifest;
  /** Files in the input directory not copied (other weight formats, subdirectories), with why. */
  warnings: string[];
  seconds: number;
  /** Where `seconds` went: planning, the safetensors files (their steps summed over files), and the rest. */
  timings: RepairTimings;
}

/** Seconds of a repair's phases (stream-timings.ts says what each step's figure means). */
export interface RepairTimings {
  /** Reading headers, planning, checking the output path: before the first byte is copied. */
  plan: number;
  /** repairShards: every safetensors file streamed or copied, and their syncs. */
  shards: number;
  /** Config, index, other files, manifest, the fsync of the tree and the rename. */
  finish: number;
  files: StreamTimings;
}

/** Files that hold weights in other formats: copying them unrepaired would ship two disagreeing models. */
const WEIGHT_EXTENSIONS = [".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf", ".h5", ".msgpack", ".onnx", ".npz"];

function shardName(ckpt: Checkpoint, path: string): string {
  return relative(ckpt.dir, path).split(sep).join("/");
}

/** Checks a plan's tensor shapes against the edits derived here: two derivations of one fact must agree. */
function crossCheck(plan: RepairPlan, edits: readonly TensorEdit[]): void {
  const mine = new Map(edits.map((e) => [e.tensor, e]));
  for (const t of plan.tensors) {
    const e = mine.get(t.tensor);
    if (!e || e.to.join(",") !== t.to.join(",")) {
      throw new Error(`plan and repair disagree on '${t.tensor}': plan says [${t.to.join(", ")}], repair derives ${e ? `[${e.to.join(", ")}]` : "no change"}`);
    }
  }
  const planned = new Set(plan.tensors.map((t) => t.tensor));
  for (const e of edits) {
    if (e.from.join(",") !== e.to.join(",") && !planned.has(e.tensor) && !/rotary_emb\.inv_freq$/.test(e.tensor)) {
      throw new Error(`repair pads '${e.tensor}' [${e.from.join(", ")}] -> [${e.to.join(", ")}] but the plan does not list it`);
    }
  }
}

export async function proposeRepair(inDir: string, opts: { strategy: Strategy; scaleMode?: ScaleMode; strict?: boolean } & ShardingOptions): Promise<RepairProposal & { ckpt: Checkpoint }> {
  const runtime = opts.runtime ?? DEFAULT_RUNTIME;
  const tp = opts.tp ?? 1;
  const pp = opts.pp ?? 1;
  checkTensorParallel(tp, pp);
  const ckpt = await openCheckpoint(inDir);
  const spec = loadModelSpec(ckpt);
  if (opts.strict) refuseUnknownModelType(spec.modelType, ckpt.dir);
  const notes = [unknownModelTypeNote(spec.modelType)].filter((n): n is string => n !== undefined);
  const scaleMode = opts.scaleMode ?? "fold";
  const prior = await readPriorRepair(ckpt.dir);
  if (prior?.attentionScale !== undefined && scaleMode === "fold") {
    // Its runtime passes d^-0.5 of the original head_dim; a stock loader of the output would use
    // the padded head_dim's, and no fold of this pass can make up for the first pass's missing one.
    throw new GacError(
      "UNSUPPORTED",
      `${ckpt.dir} is a logical-scale gac repair (its runtime must pass attention_scale ${JSON.stringify(prior.attentionScale)}); repair it again with --scale logical, or repair the original checkpoint in fold mode`,
    );
  }
  const plan = planRepair(spec, opts.strategy, { runtime, tp, ...(spec.quantization ? { multiple: quantizedMultiple(spec.quantization.scheme) } : {}) });
  const screened = screenChanges(spec, plan.changes, scaleMode);
  // A quantized checkpoint is padded in the quantized domain: targets raised to the format's blocks, edits of its stored tensors.
  const quantized = spec.quantization ? await quantizedRepairEdits(ckpt, spec, screened.accepted, scaleMode) : undefined;
  const accepted: DimChange[] = quantized?.changes ?? screened.accepted;
  const skipped = [...plan.refusals, ...screened.refusals, ...(quantized?.refusals ?? [])];
  if (opts.strict && skipped.length > 0) {
    throw new GacError(
      "UNSUPPORTED",
      `${skipped.length} dims cannot be repaired exactly (first: ${skipped[0].id} = ${skipped[0].value}: ${skipped[0].reason}); rerun without --strict to repair the rest`,
    );
  }
  const shapeOf = (name: string) => {
    const t = ckpt.tensors.get(name);
    if (!t) throw new GacError("UNSUPPORTED", `the model spec names tensor '${name}', which the checkpoint does not have`);
    return t;
  };
  // The plan's targets are the 16-bit ones; a quantized repair raises them, so only the 16-bit edits are checked against it.
  const edits = quantized?.edits ?? tensorEdits(spec, accepted, scaleMode, shapeOf);
  if (screened.refusals.length === 0 && !quantized) crossCheck(plan, edits);
  const config = updateConfig(ckpt.config, spec, accepted);
  const editMap = new Map(edits.map((e) => [e.tensor, e]));
  return {
    ckpt,
    inDir: ckpt.dir,
    spec,
    plan,
    scaleMode,
    changes: accepted,
    skipped,
    notes,
    ...(prior !== undefined ? { prior } : {}),
    edits,
    config: { value: config.config, changed: config.changed, text: serializeConfig(config.config, ckpt.dir) },
    bytesIn: ckpt.files.reduce((a, f) => a + f.size, 0),
    bytesOut: ckpt.files.reduce((a, f) => a + repairedFileSize(f, editMap), 0),
    parallel: { runtime, tp, pp, byTp: tensorParallelRule(runtime) === null ? null : overheadByTp(spec, opts.strategy, runtime) },
  };
}

function digestOf(name: string, bytes: Uint8Array, scheme: HashScheme): FileDigest {
  return { name, bytes: bytes.byteLength, ...hashBytes(bytes, scheme) };
}

/** Writes a new small file; its record carries its hash when output checksums are on (`checksum`: their scheme). */
async function writeNew(path: string, bytes: Uint8Array, name: string, checksum: HashScheme | undefined): Promise<OutputFile> {
  const fh = await open(path, "wx");
  try {
    await fh.writeFile(bytes);
  } finally {
    await fh.close();
  }
  return checksum !== undefined ? digestOf(name, bytes, checksum) : { name, bytes: bytes.byteLength };
}

const utf8 = (text: string) => Buffer.from(text, "utf8");

/** The output rules of a repair (util/output-path.ts): never at, in or around anything it reads. */
function outputRules(inputs: readonly string[], opts: RepairOptions): OutputRules {
  return { inputs, force: opts.force === true, marker: REPAIR_MANIFEST_FILE, replaceAny: opts.replaceAny === true, replaceAnyFlag: "--replace-any" };
}

export async function repairCheckpoint(inDir: string, outDir: string, opts: RepairOptions): Promise<RepairResult> {
  return withFsErrors(() => repairInto(inDir, outDir, opts), `repairing ${resolve(inDir)}`);
}

async function repairInto(inDir: string, outDir: string, opts: RepairOptions): Promise<RepairResult> {
  const t0 = performance.now();
  const absIn = resolve(inDir);
  // Checked before anything is read, again with every input file once they are known, and once
  // more just before the output is moved into place.
  await checkOutputPath(outDir, outputRules([absIn], opts));
  const proposal = await proposeRepair(absIn, opts);
  const { ckpt, edits, scaleMode, plan } = proposal;
  const rules = outputRules([ckpt.dir, join(ckpt.dir, CONFIG_FILE), ...(ckpt.index ? [join(ckpt.dir, INDEX_FILE)] : []), ...ckpt.files.map((f) => f.path)], opts);
  const absOut = (await checkOutputPath(outDir, rules)).path;
  const editMap = new Map(edits.map((e) => [e.tensor, e]));
  if (opts.chunkBytes !== undefined && (!Number.isSafeInteger(opts.chunkBytes) || opts.chunkBytes <= 0)) {
    throw new RangeError(`chunkBytes must be a positive integer, got ${opts.chunkBytes}`);
  }
  const hashScheme = opts.inputHash ?? DEFAULT_HASH_SCHEME;
  if (!isHashScheme(hashScheme)) throw new GacError("BAD_ARGS", `unknown hash scheme '${String(hashScheme)}'; use one of ${HASH_SCHEMES.join(", ")}`);

  // Everything read from the input, stamped now and checked again before publishing.
  const shardPaths = new Set(ckpt.files.map((f) => f.path));
  const shardNames = ckpt.files.map((f) => shardName(ckpt, f.path));
  const shardDirs = new Set(shardNames.filter((n) => n.includes("/")).map((n) => n.split("/")[0]));
  const extra = await listExtraFiles(ckpt.dir, new Set([...shardNames, CONFIG_FILE, INDEX_FILE, REPAIR_MANIFEST_FILE]), shardDirs, WEIGHT_EXTENSIONS);
  const others = extra.copy;
  const warnings = extra.warnings;
  const configPath = join(ckpt.dir, CONFIG_FILE);
  const indexPath = ckpt.index ? join(ckpt.dir, INDEX_FILE) : undefined;
  const stamps = await Promise.all([configPath, ...(indexPath ? [indexPath] : []), ...shardPaths, ...others.map((n) => join(ckpt.dir, n))].map(stampOf));
  for (const f of ckpt.files) {
    const s = stamps.find((x) => x.path === f.path);
    if (s && s.size !== f.size) throw new GacError("INPUT_CHANGED", `${f.path} has ${formatCount(s.size)} bytes now but ${formatCount(f.size)} when its header was read`);
  }

  const bytesTotal = proposal.bytesOut;
  let bytesDone = 0;
  const onBytes = (n: number) => {
    bytesDone += n;
    opts.onProgress?.(bytesDone, bytesTotal);
  };

  let manifest: RepairManifest | undefined;
  const tShards = performance.now();
  let shardSeconds = 0;
  const files = emptyStreamTimings();
  // One pool of hash workers for the whole repair: every file's chunks, copied files' reads, the final re-hash.
  const hashes = new HashPool({ workers: opts.hashWorkers });
  const chunkBytes = opts.chunkBytes ?? defaultChunkBytes(hashes.size);
  try {
    await publishDirectoryAtomically(
      absOut,
      async (tmp) => {
        const checksumOutput = opts.checksumOutput ?? false;
        const outputScheme = checksumOutput ? hashScheme : undefined;
        const jobs = ckpt.files.map((info) => ({ info, name: shardName(ckpt, info.path), outputPath: join(tmp, ...shardName(ckpt, info.path).split("/")) }));
        // Shards the index places in subdirectories ("sub/model-00001.safetensors") keep them.
        for (const j of jobs) if (j.name.includes("/")) await mkdir(dirname(j.outputPath), { recursive: true });
        const shards = await repairShards(jobs, editMap, { chunkBytes, onBytes, signal: opts.signal, checksumOutput, hashes, hashScheme, concurrency: opts.shardConcurrency });
        shardSeconds = since(tShards);
        for (const d of shards) addStreamTimings(files, d.timings);
        const inputFiles: FileDigest[] = shards.map((d) => d.input);
        const outputFiles: OutputFile[] = shards.map((d) => (d.method === "copied" ? { ...d.output, copied: true } : d.output));
        const configBytes = await readRegularFile(configPath, CONFIG_FILE, MAX_CONFIG_BYTES, () => new GacError("INPUT_CHANGED", `${configPath} grew past the config limit while gac repaired it`));
        inputFiles.push(digestOf(CONFIG_FILE, configBytes, hashScheme));
        outputFiles.push(await writeNew(join(tmp, CONFIG_FILE), utf8(proposal.config.text), CONFIG_FILE, outputScheme));
        if (indexPath && ckpt.index) {
          const indexBytes = await readRegularFile(indexPath, INDEX_FILE, MAX_INDEX_BYTES, () => new GacError("INPUT_CHANGED", `${indexPath} grew past the index limit while gac repaired it`));
          inputFiles.push(digestOf(INDEX_FILE, indexBytes, hashScheme));
          const raw = parseBoundedJson(indexBytes.toString("utf8"), indexPath, "BAD_INDEX") as Record<string, unknown>;
          const metadata = typeof raw.metadata === "object" && raw.metadata !== null ? { ...raw.metadata } : {};
          // total_size counts tensor data only (transformers' convention), from the new shapes.
          const dataBytes = [...ckpt.tensors.values()].reduce((a, t) => a + tensorByteLength(t.dtype, editMap.get(t.name)?.to ?? t.shape), 0);
          outputFiles.push(await writeNew(join(tmp, INDEX_FILE), utf8(JSON.stringify({ ...raw, metadata: { ...metadata, total_size: dataBytes } }, null, 2) + "\n"), INDEX_FILE, outputScheme));
        }
        for (const name of others) {
          // Copied byte for byte: the output's checksum is the input's.
          const digest = await copyFileHashed(join(ckpt.dir, name), join(tmp, name), name, hashScheme);
          inputFiles.push(digest);
          outputFiles.push(checksumOutput ? digest : { name, bytes: digest.bytes });
        }
        if (opts.signal?.aborted) throw new GacError("ABORTED", `repair of ${absIn} was interrupted`);
        await checkUnchanged(stamps);
        if (checksumOutput) await checkHashesUnchanged(ckpt.dir, inputFiles, hashes);
        manifest = {
          format: MANIFEST_FORMAT,
          tool: "gac",
          version: gacVersion(),
          createdAt: new Date().toISOString(),
          strategy: opts.strategy,
          scaleMode,
          changes: proposal.changes,
          skipped: proposal.skipped,
          tensors: manifestTensorEdits(edits),
          config: proposal.config.changed,
          logical: logicalDims(proposal.changes, scaleMode, proposal.prior),
          overhead: {
            paramsBefore: plan.paramsBefore,
            paramsAfter: plan.paramsBefore + edits.reduce((a, e) => a + elements(e.to) - elements(e.from), 0),
            paramOverheadPct: 0,
            bytesBefore: proposal.bytesIn,
            bytesAfter: proposal.bytesOut,
          },
          ...(proposal.parallel.tp > 1 ? { tensorParallel: { runtime: proposal.parallel.runtime, tp: proposal.parallel.tp, pp: proposal.parallel.pp } } : {}),
          input: { dir: absIn, files: inputFiles },
          output: { files: outputFiles },
          hashes: hashesRecord(hashScheme, checksumOutput),
        };
        manifest.overhead.paramOverheadPct = plan.paramsBefore > 0 ? (100 * (manifest.overhead.paramsAfter - plan.paramsBefore)) / plan.paramsBefore : 0;
        await writeNew(join(tmp, REPAIR_MANIFEST_FILE), utf8(JSON.stringify(manifest, null, 2) + "\n"), REPAIR_MANIFEST_FILE, undefined);
      },
      { force: opts.force, check: async () => void (await checkOutputPath(outDir, rules)) },
    );
  } finally {
    await hashes.close();
  }
  const { ckpt: _ckpt, ...rest } = proposal;
  void _ckpt;
  const seconds = since(t0);
  const planSeconds = (tShards - t0) / 1000;
  const timings = { plan: planSeconds, shards: shardSeconds, finish: seconds - planSeconds - shardSeconds, files };
  return { ...rest, outDir: absOut, manifest: manifest!, warnings, seconds, timings };
}

function elements(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
