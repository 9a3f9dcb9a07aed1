/**
 * An original checkpoint and its repair as the GPU accuracy job needs them: both ModelSpecs, the
 * softmax scale each runs with, and the tensor edits that turn the original's tensors into the
 * repaired ones. Two ways in:
 *   pairFromDirs      a repaired directory written by gac repair: its manifest's dim changes are
 *                     turned into edits again on the original (tensorEdits is pure), so the GPU side
 *                     can check the repaired tensors against the edited original ones
 *   pairFromPlan      no repaired directory: the repair a strategy would make, from headers only
 *                     (proposeRepair), with the repaired spec built from the edited shapes and the
 *                     updated config. For real-size header-only fixtures, whose 16 GB of zeros a
 *                     repair would otherwise have to write out.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { GacError } from "../errors.js";
import { openCheckpoint } from "../checkpoint/open.js";
import type { Checkpoint, Dtype } from "../checkpoint/types.js";
import { buildModelSpec } from "../model/build-model-spec.js";
import { loadModelSpec } from "../model/load-model-spec.js";
import type { ModelSpec } from "../model/types.js";
import type { DimChange, Strategy } from "../plan/types.js";
import { logicalDims, REPAIR_MANIFEST_FILE } from "../repair/manifest.js";
import { proposeRepair } from "../repair/repair-checkpoint.js";
import { tensorEdits, type ScaleMode, type TensorEdit } from "../repair/tensor-edits.js";
import type { ForwardOptions } from "../verify/forward.js";
import { readRepairScale, type RepairScale } from "../repair/manifest.js";

export interface RepairPair {
  original: { dir: string; spec: ModelSpec; forward: ForwardOptions; scale: RepairScale };
  repaired: { dir: string; spec: ModelSpec; forward: ForwardOptions; scale: RepairScale };
  scaleMode: ScaleMode | null;
  edits: TensorEdit[];
}

const forwardOf = (s: RepairScale): ForwardOptions => (s.attentionScale === undefined ? {} : { attentionScale: s.attentionScale });

function lookupIn(ckpt: Checkpoint) {
  return (name: string) => {
    const t = ckpt.tensors.get(name);
    if (!t) throw new GacError("UNKNOWN_LAYOUT", `the repair edits tensor '${name}', which ${ckpt.dir} does not have: the repaired directory was not made from this original`);
    return t;
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The dim changes recorded in a repaired directory's manifest ([] without one). */
async function manifestChanges(dir: string): Promise<DimChange[]> {
  let text: string;
  try {
    text = await readFile(join(dir, REPAIR_MANIFEST_FILE), "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
  const parsed: unknown = JSON.parse(text);
  if (!isRecord(parsed) || !Array.isArray(parsed.changes)) throw new GacError("BAD_MANIFEST", `${join(dir, REPAIR_MANIFEST_FILE)} has no changes list`);
  return parsed.changes as DimChange[];
}

export async function pairFromDirs(originalDir: string, repairedDir: string): Promise<RepairPair> {
  const o = await openCheckpoint(originalDir);
  const r = await openCheckpoint(repairedDir);
  const oScale = await readRepairScale(o.dir);
  const rScale = await readRepairScale(r.dir);
  const spec = loadModelSpec(o);
  const changes = await manifestChanges(r.dir);
  const edits = rScale.mode === null ? [] : tensorEdits(spec, changes, rScale.mode, lookupIn(o));
  return {
    original: { dir: o.dir, spec, forward: forwardOf(oScale), scale: oScale },
    repaired: { dir: r.dir, spec: loadModelSpec(r), forward: forwardOf(rScale), scale: rScale },
    scaleMode: rScale.mode,
    edits,
  };
}

export async function pairFromPlan(originalDir: string, strategy: Strategy, scaleMode: ScaleMode): Promise<RepairPair> {
  const p = await proposeRepair(originalDir, { strategy, scaleMode });
  const editMap = new Map(p.edits.map((e) => [e.tensor, e]));
  const shapes = new Map<string, { dtype: Dtype; shape: readonly number[] }>();
  for (const [name, t] of p.ckpt.tensors) shapes.set(name, { dtype: t.dtype, shape: editMap.get(name)?.to ?? t.shape });
  const repairedSpec = buildModelSpec(p.config.value, shapes);
  const logical = logicalDims(p.changes, scaleMode, p.prior);
  const oScale = await readRepairScale(p.ckpt.dir);
  const rScale: RepairScale = { manifest: null, mode: scaleMode, ...(scaleMode === "logical" && logical.attention_scale !== undefined ? { attentionScale: logical.attention_scale } : {}) };
  return {
    original: { dir: p.ckpt.dir, spec: p.spec, forward: forwardOf(oScale), scale: oScale },
    repaired: { dir: `${p.ckpt.dir} (${strategy}, ${scaleMode}, derived)`, spec: repairedSpec, forward: forwardOf(rScale), scale: rScale },
    scaleMode,
    edits: p.edits,
  };
}
