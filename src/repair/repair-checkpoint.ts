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
 * Safety: the output is built in a temp dir and renamed into place (publishDirectoryAtomically), so
 * it appears complete or not at all; the input is only ever opened for reading, and its files are
 * checked (size, mtime, inode) at the end: a change while gac read it is INPUT_CHANGED.
 */
import { createHash } from "node:crypto";
import { open, readdir, readFile, stat } from "node:fs/promises";
import { join, relative, resolve, sep } from "node:path";
import { GacError, formatCount } from "../errors.js";
import { openCheckpoint, CONFIG_FILE, INDEX_FILE } from "../checkpoint/open.js";
import { tensorByteLength } from "../checkpoint/safetensors-header.js";
import type { Checkpoint } from "../checkpoint/types.js";
import { loadModelSpec } from "../model/load-model-spec.js";
import type { ModelSpec } from "../model/types.js";
import { planRepair } from "../plan/plan-repair.js";
import { overheadByTp, type TpOverhead } from "../plan/overhead-by-tp.js";
import { DEFAULT_RUNTIME } from "../contract/runtimes.js";
import { tensorParallelRule } from "../contract/rules/tensor-parallel.js";
import type { RuntimeId } from "../contract/types.js";
import { checkTensorParallel } from "../graph/shard-spec.js";
import type { DimChange, Refusal, RepairPlan, Strategy } from "../plan/types.js";
import { publishDirectoryAtomically } from "../util/atomic.js";
import { updateConfig, type ConfigFieldChange } from "./config-update.js";
import { screenChanges } from "./exactness.js";
import { logicalDims, manifestTensorEdits, readPriorRepair, REPAIR_MANIFEST_FILE, MANIFEST_FORMAT, type PriorRepair, type RepairManifest } from "./manifest.js";
import { DEFAULT_CHUNK_BYTES, OUTPUT_POOL_BLOCKS, POOL_BLOCKS, repairedFileSize, streamShard, type FileDigest, type OutputFile } from "./stream-shard.js";
import { BlockPool, HashWorker } from "./hash-worker.js";
import { tensorEdits, type ScaleMode, type TensorEdit } from "./tensor-edits.js";
import { packageVersion } from "./version.js";

export interface RepairOptions extends ShardingOptions {
  strategy: Strategy;
  /** How the softmax scale survives a head_dim change (default "fold": stock HF loaders work unchanged). */
  scaleMode?: ScaleMode;
  /** Replace an existing output directory. */
  force?: boolean;
  /** Fail with UNSUPPORTED instead of skipping dims that cannot be repaired exactly. */
  strict?: boolean;
  /**
   * Also record the sha256 of every output file in the manifest. Off by default: it is a second
   * hash pass over every byte written (~1.4 s of CPU per 2 GB), and the manifest's promise is the
   * input's checksums; output sizes are always recorded.
   */
  checksumOutput?: boolean;
  /** Bytes per streamed block (default 16 MiB); tests use small values to cross many block edges. */
  chunkBytes?: number;
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
  /** The input's own gac-repair.json when it is a gac output (its original sizes and scale carry over). */
  prior?: PriorRepair;
  edits: TensorEdit[];
  config: { value: Record<string, unknown>; changed: ConfigFieldChange[] };
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
  const plan = planRepair(spec, opts.strategy, { runtime, tp });
  const screened = screenChanges(spec, plan.changes, scaleMode);
  const skipped = [...plan.refusals, ...screened.refusals];
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
  const edits = tensorEdits(spec, screened.accepted, scaleMode, shapeOf);
  if (screened.refusals.length === 0) crossCheck(plan, edits);
  const config = updateConfig(ckpt.config, spec, screened.accepted);
  const editMap = new Map(edits.map((e) => [e.tensor, e]));
  return {
    ckpt,
    inDir: ckpt.dir,
    spec,
    plan,
    scaleMode,
    changes: screened.accepted,
    skipped,
    ...(prior !== undefined ? { prior } : {}),
    edits,
    config: { value: config.config, changed: config.changed },
    bytesIn: ckpt.files.reduce((a, f) => a + f.size, 0),
    bytesOut: ckpt.files.reduce((a, f) => a + repairedFileSize(f, editMap), 0),
    parallel: { runtime, tp, pp, byTp: tensorParallelRule(runtime) === null ? null : overheadByTp(spec, opts.strategy, runtime) },
  };
}

interface FileStamp {
  path: string;
  size: number;
  mtimeMs: number;
  ino: number;
}

async function stampOf(path: string): Promise<FileStamp> {
  const s = await stat(path);
  return { path, size: s.size, mtimeMs: s.mtimeMs, ino: s.ino };
}

async function checkUnchanged(stamps: readonly FileStamp[]): Promise<void> {
  for (const before of stamps) {
    const now = await stampOf(before.path).catch(() => undefined);
    if (!now || now.size !== before.size || now.mtimeMs !== before.mtimeMs || now.ino !== before.ino) {
      throw new GacError(
        "INPUT_CHANGED",
        `${before.path} changed while gac repaired it (${now ? `size ${formatCount(before.size)} -> ${formatCount(now.size)}, mtime or inode changed` : "it disappeared"}); nothing was written`,
      );
    }
  }
}

function digestOf(name: string, bytes: Uint8Array): FileDigest {
  return { name, bytes: bytes.byteLength, sha256: createHash("sha256").update(bytes).digest("hex") };
}

/** Writes a new small file; its record carries a sha256 when output checksums are on. */
async function writeNew(path: string, bytes: Uint8Array, name: string, checksum: boolean): Promise<OutputFile> {
  const fh = await open(path, "wx");
  try {
    await fh.writeFile(bytes);
  } finally {
    await fh.close();
  }
  return checksum ? digestOf(name, bytes) : { name, bytes: bytes.byteLength };
}

const utf8 = (text: string) => Buffer.from(text, "utf8");

function refuseOverlap(inDir: string, outDir: string): void {
  const inside = (a: string, b: string) => a === b || a.startsWith(b + sep);
  if (inside(outDir, inDir) || inside(inDir, outDir)) {
    throw new GacError("OUTPUT_EXISTS", `output ${outDir} ${outDir === inDir ? "is" : "overlaps"} the input ${inDir}; repair never writes into its input, choose another directory`);
  }
}

export async function repairCheckpoint(inDir: string, outDir: string, opts: RepairOptions): Promise<RepairResult> {
  const t0 = performance.now();
  const absIn = resolve(inDir);
  const absOut = resolve(outDir);
  refuseOverlap(absIn, absOut);
  if (
    !opts.force &&
    (await stat(absOut).then(
      () => true,
      () => false,
    ))
  ) {
    throw new GacError("OUTPUT_EXISTS", `${absOut} already exists; choose another output or pass --force to replace it`);
  }
  const proposal = await proposeRepair(absIn, opts);
  const { ckpt, edits, scaleMode, plan } = proposal;
  const editMap = new Map(edits.map((e) => [e.tensor, e]));
  const chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes <= 0) throw new RangeError(`chunkBytes must be a positive integer, got ${chunkBytes}`);

  // Everything read from the input, stamped now and checked again before publishing.
  const shardPaths = new Set(ckpt.files.map((f) => f.path));
  const others: string[] = [];
  const warnings: string[] = [];
  for (const entry of await readdir(ckpt.dir, { withFileTypes: true })) {
    const path = join(ckpt.dir, entry.name);
    if (shardPaths.has(path) || entry.name === CONFIG_FILE || entry.name === INDEX_FILE || entry.name === REPAIR_MANIFEST_FILE || entry.name.startsWith(".")) continue;
    if (!entry.isFile()) warnings.push(`${entry.name}: not a regular file, not copied`);
    else if (WEIGHT_EXTENSIONS.some((ext) => entry.name.endsWith(ext)))
      warnings.push(`${entry.name}: weights outside the checkpoint's safetensors, not copied (they would not match the repaired shapes)`);
    else others.push(entry.name);
  }
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
  const hasher = new HashWorker();
  const pool = new BlockPool(chunkBytes, POOL_BLOCKS);
  const outputPool = new BlockPool(chunkBytes, OUTPUT_POOL_BLOCKS);
  try {
    await publishDirectoryAtomically(
      absOut,
      async (tmp) => {
        const inputFiles: FileDigest[] = [];
        const outputFiles: OutputFile[] = [];
        const checksumOutput = opts.checksumOutput ?? false;
        for (const info of ckpt.files) {
          const name = shardName(ckpt, info.path);
          const d = await streamShard(info, { input: name, output: name }, join(tmp, ...name.split("/")), editMap, {
            chunkBytes,
            onBytes,
            signal: opts.signal,
            hasher,
            pool,
            outputPool,
            checksumOutput,
          });
          inputFiles.push(d.input);
          outputFiles.push(d.output);
        }
        const configBytes = await readFile(configPath);
        inputFiles.push(digestOf(CONFIG_FILE, configBytes));
        outputFiles.push(await writeNew(join(tmp, CONFIG_FILE), utf8(JSON.stringify(proposal.config.value, null, 2) + "\n"), CONFIG_FILE, checksumOutput));
        if (indexPath && ckpt.index) {
          const indexBytes = await readFile(indexPath);
          inputFiles.push(digestOf(INDEX_FILE, indexBytes));
          const raw = JSON.parse(indexBytes.toString("utf8")) as Record<string, unknown>;
          const metadata = typeof raw.metadata === "object" && raw.metadata !== null ? { ...raw.metadata } : {};
          // total_size counts tensor data only (transformers' convention), from the new shapes.
          const dataBytes = [...ckpt.tensors.values()].reduce((a, t) => a + tensorByteLength(t.dtype, editMap.get(t.name)?.to ?? t.shape), 0);
          outputFiles.push(await writeNew(join(tmp, INDEX_FILE), utf8(JSON.stringify({ ...raw, metadata: { ...metadata, total_size: dataBytes } }, null, 2) + "\n"), INDEX_FILE, checksumOutput));
        }
        for (const name of others) {
          // Copied byte for byte: the output's checksum is the input's.
          const bytes = await readFile(join(ckpt.dir, name));
          inputFiles.push(digestOf(name, bytes));
          outputFiles.push(await writeNew(join(tmp, name), bytes, name, checksumOutput));
        }
        if (opts.signal?.aborted) throw new GacError("ABORTED", `repair of ${absIn} was interrupted`);
        await checkUnchanged(stamps);
        manifest = {
          format: MANIFEST_FORMAT,
          tool: "gac",
          version: packageVersion(),
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
        };
        manifest.overhead.paramOverheadPct = plan.paramsBefore > 0 ? (100 * (manifest.overhead.paramsAfter - plan.paramsBefore)) / plan.paramsBefore : 0;
        await writeNew(join(tmp, REPAIR_MANIFEST_FILE), utf8(JSON.stringify(manifest, null, 2) + "\n"), REPAIR_MANIFEST_FILE, false);
      },
      { force: opts.force },
    );
  } finally {
    await hasher.close();
  }
  const { ckpt: _ckpt, ...rest } = proposal;
  void _ckpt;
  return { ...rest, outDir: absOut, manifest: manifest!, warnings, seconds: (performance.now() - t0) / 1000 };
}

function elements(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
