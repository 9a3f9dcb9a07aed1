/**
 * What verify needs from a repaired checkpoint's `gac-repair.json`: how the softmax scale was
 * handled. "fold": sqrt(D/d) is multiplied into q_proj, the forward uses head_dim^-0.5 as any HF
 * loader would. "logical": weights are only zero-padded and the manifest records the scale per
 * layer (`logical.attention_scale`), which the forward must use instead.
 */
import { pathExists } from "../util/fs.js";
import { readJsonFile } from "../util/read-json-file.js";
import { join } from "node:path";
import { GacError } from "../errors.js";
import { REPAIR_MANIFEST_FILE } from "../repair/manifest.js";
import type { ScaleMode } from "../repair/tensor-edits.js";

export type { ScaleMode };

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
export function repairScaleFromManifest(manifest: unknown, path: string): RepairScale {
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

/** The parsed manifest of `dir`, or undefined when it has none. */
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
