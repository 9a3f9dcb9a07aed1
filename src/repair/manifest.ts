/**
 * `gac-repair.json`, the one owner of the repair manifest: its type, what repair writes, and every
 * reader (verify's scale handling, a second repair's prior sizes, the report's summary). What was
 * done to a checkpoint, enough to audit it, to undo it (logical dims), and for runtimes and verify/
 * to run it (scale mode, logical attention scale).
 *
 * `scaleMode` is always written: verify/ reads it first. `logical.attention_scale` is written only
 * in logical mode, where the weights carry no scale correction and a runtime must pass d^-0.5
 * itself; in fold mode the stock head_dim^-0.5 is already right.
 */
import { pathExists } from "../util/fs.js";
import { readJsonFile } from "../util/read-json-file.js";
import type { DimChange, Refusal, Strategy } from "../plan/types.js";
import type { ConfigFieldChange } from "./config-update.js";
import { HASH_CHUNK_BYTES, type HashScheme } from "./file-hash.js";
import type { FileDigest, OutputFile } from "./stream-shard.js";
import type { ScaleMode, TensorEdit } from "./tensor-edits.js";

export type { ScaleMode };
import { join } from "node:path";
import { GacError } from "../errors.js";

export const REPAIR_MANIFEST_FILE = "gac-repair.json";
export const MANIFEST_FORMAT = 1;

interface ManifestTensorEdit {
  tensor: string;
  from: number[];
  to: number[];
  /** Multiplier folded into the values (fold mode, q's output factor). */
  scale?: number;
  reasons: string[];
}

export interface RepairManifest {
  format: typeof MANIFEST_FORMAT;
  tool: "gac";
  version: string;
  createdAt: string;
  strategy: Strategy;
  scaleMode: ScaleMode;
  /** Dim changes applied. */
  changes: DimChange[];
  /** Dim changes the strategy wanted that were left as they were, with why. */
  skipped: Refusal[];
  tensors: ManifestTensorEdit[];
  config: ConfigFieldChange[];
  logical: {
    /** Original head_dim when it changed (q/k/v heads hold zeros beyond it). */
    head_dim?: number;
    /** Logical mode only: the softmax scale a runtime must pass (d^-0.5 of the ORIGINAL head_dim, through repeated repairs). */
    attention_scale?: number | number[];
    /** Every changed dim's original size, by change id. */
    dims: Record<string, number>;
  };
  overhead: { paramsBefore: number; paramsAfter: number; paramOverheadPct: number; bytesBefore: number; bytesAfter: number };
  /** Set when repair aligned every shard for tensor parallelism (--tp > 1): the runtime whose rules it followed. */
  tensorParallel?: { runtime: string; tp: number; pp: number };
  /** Every input file read, with its hash (`sha256Chunks`, or `sha256` in the whole-file scheme; computed while streaming it). */
  input: { dir: string; files: FileDigest[] };
  /**
   * Every output file but the manifest, with its size; its hash (same scheme as the input's) only
   * when repair ran with checksumOutput; `copied: true` on a safetensors file no edit touched, copied whole (its bytes
   * are the input file's).
   */
  output: { files: (OutputFile & { copied?: true })[] };
  /** What the hashes above cover and how they were computed. */
  hashes: HashesRecord;
}

/** The manifest's `hashes` record: the scheme (file-hash.ts) and, in words, what was hashed. */
export type HashesRecord = { algorithm: "sha256-chunks"; chunkBytes: number; chunks: string; input: string; output: string } | { algorithm: "sha256"; input: string; output: string };

/** The manifest's `hashes` record. */
export function hashesRecord(scheme: HashScheme, checksumOutput: boolean): HashesRecord {
  const how =
    scheme === "sha256"
      ? "one sha256 of each file whole, in one worker thread per file (the Hub's LFS oid for a file stored in LFS)"
      : "sha256Chunks of each file (header, tensors, any gap or tail): the sha256 of every chunkBytes chunk, in file order, hashed on a pool of worker threads";
  const input = `every input file whole: ${how}, while repair read it for the copy (a copied file: read by the workers beside the kernel copy); no second pass`;
  const output = checksumOutput
    ? "every output file but gac-repair.json, in the input's scheme: streamed files hashed as they were written, copied files read back once"
    : "none (sizes only); repair with checksumOutput (--checksum-output) to hash the outputs";
  if (scheme === "sha256") return { algorithm: "sha256", input, output };
  return {
    algorithm: "sha256-chunks",
    chunkBytes: HASH_CHUNK_BYTES,
    chunks: `chunk i covers bytes [i * chunkBytes, min((i + 1) * chunkBytes, size)); a file of at most chunkBytes, the empty file included, has one chunk, whose digest is the file's whole sha256`,
    input,
    output,
  };
}

export function manifestTensorEdits(edits: readonly TensorEdit[]): ManifestTensorEdit[] {
  return edits.map((e) => ({ tensor: e.tensor, from: e.from, to: e.to, ...(e.scale !== undefined ? { scale: e.scale } : {}), reasons: e.reasons }));
}

/**
 * The manifest's `logical` record. `prior` is the input's own manifest when the input is a gac
 * output: the original head_dim, scale and sizes come from it, because a second pass only sees the
 * first pass's padded sizes (padding 12 -> 16, then 16 -> 32 in logical mode must still record
 * 12^-0.5, not 16^-0.5).
 */
export function logicalDims(changes: readonly DimChange[], scaleMode: ScaleMode, prior?: PriorRepair): RepairManifest["logical"] {
  const headDim = changes.find((c) => c.site.kind === "head_dim");
  const originalHeadDim = prior?.headDim ?? headDim?.from;
  // A logical-mode input's scale holds for any zero padding after it; a fold-mode input's model is
  // right under its own head_dim^-0.5, which is what a new logical head_dim change must record.
  const attentionScale = prior?.attentionScale ?? (headDim && scaleMode === "logical" ? headDim.from ** -0.5 : undefined);
  return {
    ...(originalHeadDim !== undefined ? { head_dim: originalHeadDim } : {}),
    ...(attentionScale !== undefined ? { attention_scale: attentionScale } : {}),
    dims: { ...Object.fromEntries(changes.map((c) => [c.id, c.from])), ...prior?.dims },
  };
}

// Readers. How verify handles the softmax scale: "fold": sqrt(D/d) is multiplied into q_proj, the
// forward uses head_dim^-0.5 as any HF loader would. "logical": weights are only zero-padded and
// the manifest records the scale per layer (`logical.attention_scale`), which the forward must use.

export interface RepairScale {
  /** Path of the manifest, or null when the directory has none (not a gac repair output). */
  manifest: string | null;
  /** null without a manifest: the forward uses each layer's head_dim^-0.5. */
  mode: ScaleMode | null;
  attentionScale?: number | number[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isScale(v: unknown): v is number | number[] {
  const ok = (x: unknown) => typeof x === "number" && Number.isFinite(x) && x > 0;
  return ok(v) || (Array.isArray(v) && v.length > 0 && v.every(ok));
}

/** Reads the scale handling from a parsed manifest (pure; exported for tests). */
function repairScaleFromManifest(manifest: unknown, path: string): RepairScale {
  if (!isRecord(manifest)) throw new GacError("BAD_MANIFEST", `${path} is not a JSON object`);
  const mode = manifest.scaleMode;
  if (mode !== "fold" && mode !== "logical") {
    throw new GacError("BAD_MANIFEST", `${path} has scaleMode ${JSON.stringify(mode ?? null)}; expected "fold" or "logical"`);
  }
  if (mode === "fold") return { manifest: path, mode };
  const scale = isRecord(manifest.logical) ? manifest.logical.attention_scale : undefined;
  if (scale === undefined) return { manifest: path, mode }; // no head_dim change: head_dim^-0.5 is still right
  if (!isScale(scale)) {
    throw new GacError("BAD_MANIFEST", `${path} logical.attention_scale is ${JSON.stringify(scale)}; expected a positive number or a list of them`);
  }
  return { manifest: path, mode, attentionScale: scale };
}

/**
 * What a gac output hands on when it is repaired again: the scale handling (a logical-mode input's
 * runtime must keep passing the ORIGINAL d^-0.5, whatever later passes pad) and the original sizes.
 */
export interface PriorRepair extends RepairScale {
  /** The original head_dim (`logical.head_dim`), when an earlier pass changed it. */
  headDim?: number;
  /** Every dim an earlier pass changed, with its original size (`logical.dims`). */
  dims: Record<string, number>;
}

/** Reads a prior repair from a parsed manifest (pure; exported for tests). */
export function priorRepairFromManifest(manifest: unknown, path: string): PriorRepair {
  const scale = repairScaleFromManifest(manifest, path);
  const logical = isRecord(manifest) && isRecord(manifest.logical) ? manifest.logical : {};
  const headDim = logical.head_dim;
  if (headDim !== undefined && !(typeof headDim === "number" && Number.isSafeInteger(headDim) && headDim > 0)) {
    throw new GacError("BAD_MANIFEST", `${path} logical.head_dim is ${JSON.stringify(headDim)}; expected a positive integer`);
  }
  const dims: Record<string, number> = {};
  if (isRecord(logical.dims)) for (const [id, v] of Object.entries(logical.dims)) if (typeof v === "number") dims[id] = v;
  return { ...scale, ...(headDim !== undefined ? { headDim } : {}), dims };
}

/** A manifest lists each edited tensor (~200 bytes each): 256 MB is over a million tensors. */
export const MAX_MANIFEST_BYTES = 256_000_000;

/** The parsed manifest of `dir` (bounded JSON, a regular file), or undefined when it has none. */
async function readManifestJson(dir: string): Promise<{ path: string; parsed: unknown } | undefined> {
  const path = join(dir, REPAIR_MANIFEST_FILE);
  if (!(await pathExists(path))) return undefined;
  return { path, parsed: await readJsonFile(path, { code: "BAD_MANIFEST", what: REPAIR_MANIFEST_FILE, maxBytes: MAX_MANIFEST_BYTES }) };
}

export async function readRepairScale(dir: string): Promise<RepairScale> {
  const m = await readManifestJson(dir);
  return m === undefined ? { manifest: null, mode: null } : repairScaleFromManifest(m.parsed, m.path);
}

/** The prior repair of a checkpoint directory that is itself a gac output, or undefined. */
export async function readPriorRepair(dir: string): Promise<PriorRepair | undefined> {
  const m = await readManifestJson(dir);
  return m === undefined ? undefined : priorRepairFromManifest(m.parsed, m.path);
}

/** The distinct factors a fold-mode repair multiplied into q_proj (`tensors[].scale`); empty when nothing was folded or without a manifest. */
export async function readFoldedScales(dir: string): Promise<number[]> {
  const m = await readManifestJson(dir);
  if (m === undefined || !isRecord(m.parsed) || !Array.isArray(m.parsed.tensors)) return [];
  const scales = m.parsed.tensors.filter(isRecord).flatMap((t) => (typeof t.scale === "number" && Number.isFinite(t.scale) ? [t.scale] : []));
  return [...new Set(scales)];
}

/** The parts of a manifest a report plots: what changed, the overhead, the speedups when recorded. */
export interface RepairSummary {
  file: string;
  strategy: string;
  changes: { id: string; from: number; to: number }[];
  paramOverheadPct?: number;
  predictedSpeedupPct?: number | null;
  measuredSpeedupPct?: number | null;
}

function finiteNumber(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

function numberOrNull(v: unknown): number | null | undefined {
  return v === null ? null : finiteNumber(v);
}

/**
 * A report's view of a manifest: gac-repair.json as repair writes it (`overhead.paramOverheadPct`),
 * `gac repair --json` (snake_case), and older flat spellings (`edits`, `param_overhead_pct`).
 */
export function repairSummaryFromJson(doc: Record<string, unknown>, file: string): RepairSummary {
  const list = Array.isArray(doc.changes) ? doc.changes : Array.isArray(doc.edits) ? doc.edits : [];
  const changes = list.filter(isRecord).flatMap((c) => {
    const from = finiteNumber(c.from);
    const to = finiteNumber(c.to);
    return from !== undefined && to !== undefined ? [{ id: typeof c.id === "string" ? c.id : typeof c.id === "number" ? String(c.id) : "", from, to }] : [];
  });
  const speed = isRecord(doc.speedup) ? doc.speedup : {};
  const overhead = isRecord(doc.overhead) ? doc.overhead : {};
  return {
    file,
    strategy: String(doc.strategy),
    changes,
    paramOverheadPct: finiteNumber(overhead.paramOverheadPct) ?? finiteNumber(overhead.param_overhead_pct) ?? finiteNumber(doc.param_overhead_pct) ?? finiteNumber(doc.paramOverheadPct),
    predictedSpeedupPct: numberOrNull(doc.predicted_speedup_pct) ?? numberOrNull(speed.predicted_pct),
    measuredSpeedupPct: numberOrNull(doc.measured_speedup_pct) ?? numberOrNull(speed.measured_pct),
  };
}
