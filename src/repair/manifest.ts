/**
 * `gac-repair.json`: what was done to a checkpoint, enough to audit it, to undo it (logical dims),
 * and for runtimes and verify/ to run it (scale mode, logical attention scale).
 *
 * `scaleMode` is always written: verify/ reads it first. `logical.attention_scale` is written only
 * in logical mode, where the weights carry no scale correction and a runtime must pass d^-0.5
 * itself; in fold mode the stock head_dim^-0.5 is already right.
 */
import type { DimChange, Refusal, Strategy } from "../plan/types.js";
import type { ConfigFieldChange } from "./config-update.js";
import type { FileDigest, OutputFile } from "./stream-shard.js";
import type { ScaleMode, TensorEdit } from "./tensor-edits.js";
import type { PriorRepair } from "../verify/repair-manifest.js";

export const REPAIR_MANIFEST_FILE = "gac-repair.json";
export const MANIFEST_FORMAT = 1;

export interface ManifestTensorEdit {
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
  /** Every input file read, with its sha256 (computed while streaming it). */
  input: { dir: string; files: FileDigest[] };
  /**
   * Every output file but the manifest, with its size; sha256 only when repair ran with
   * checksumOutput; `copied: true` on a safetensors file no edit touched, copied whole (its bytes
   * are the input file's).
   */
  output: { files: (OutputFile & { copied?: true })[] };
  /** What the sha256 values above cover and how they were computed. */
  hashes: { algorithm: "sha256"; input: string; output: string };
}

/** The manifest's `hashes` record. */
export function hashesRecord(checksumOutput: boolean): RepairManifest["hashes"] {
  return {
    algorithm: "sha256",
    input:
      "every input file whole (header, tensors, any gap or tail), hashed in a worker thread per safetensors file while repair read it for the copy (a copied file: read by its worker beside the kernel copy); no second pass",
    output: checksumOutput
      ? "every output file but gac-repair.json: streamed files hashed as they were written, copied files read back once"
      : "none (sizes only); repair with checksumOutput (--checksum-output) to hash the outputs",
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
