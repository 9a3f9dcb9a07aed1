/**
 * The models of a `gac bench e2e` run as the worker gets them (docs/e2e-protocol.md "Model
 * description"): each checkpoint unrepaired, and after each strategy exactly as `gac repair` would
 * leave it (proposeRepair: planRepair, the exactness screen, tensorEdits, updateConfig), without
 * writing a repaired checkpoint: the worker applies `base.edits` to the original's weights.
 *
 * Only headers are read, so a header-only (sparse) checkpoint works; `weights: auto` draws random
 * weights for it (speed does not depend on the values) and reads real ones otherwise.
 */
import { stat } from "node:fs/promises";
import { basename } from "node:path";
import { openCheckpoint, tensorShapes } from "../../checkpoint/open.js";
import type { Checkpoint } from "../../checkpoint/types.js";
import { GacError } from "../../errors.js";
import { loadModelSpec } from "../../model/load-model-spec.js";
import type { ModelSpec } from "../../model/types.js";
import { applyPlanToSpec } from "../../plan/apply-plan.js";
import type { Refusal, Strategy } from "../../plan/types.js";
import { logicalDims } from "../../repair/manifest.js";
import { proposeRepair } from "../../repair/repair-checkpoint.js";
import { withRepairedDisagreements } from "../../repair/repaired-shapes.js";
import type { ScaleMode } from "../../repair/tensor-edits.js";
import { SPARSE_FILE_METADATA } from "../../fixtures/sparse-checkpoint.js";
import { readPriorRepair } from "../../repair/manifest.js";
import type { ModelDescription, WeightsSource } from "./wire.js";

/** The unrepaired model's name among the strategies. */
export const UNREPAIRED = "none";
export type E2eVariant = typeof UNREPAIRED | Strategy;
export type WeightsChoice = "auto" | WeightsSource;

export interface E2eModel {
  description: ModelDescription;
  /** The checkpoint's short name (directory name unless given). */
  name: string;
  variant: E2eVariant;
  /** A dense parent given with --parent (measured unrepaired only) or a checkpoint under test. */
  role: "checkpoint" | "parent";
  scale: ScaleMode;
  /** Accepted dim changes of the repair (0 unrepaired). */
  changes: number;
  /** Dims the strategy wanted but repair leaves (planner refusals and the exactness screen). */
  skipped: Refusal[];
  paramOverheadPct: number;
  /** An earlier variant of the same checkpoint that is this very model (same edits): not run again. */
  sameAs?: E2eVariant;
  /** Why weights are random or read, in one line. */
  weightsNote: string;
}

/** A file whose allocated blocks are under this share of its size is a hole (sparse fixtures: ~0.01%). */
const SPARSE_ALLOCATED_SHARE = 0.05;

/**
 * True when the checkpoint's tensor data is a hole: every file carries the sparse-fixture marker or
 * has allocated far fewer bytes than its size (st_blocks x 512, what `du` counts).
 */
export async function isHeaderOnly(ckpt: Checkpoint): Promise<boolean> {
  if (ckpt.files.length === 0) return false;
  for (const f of ckpt.files) {
    if (f.metadata.gac_fixture === SPARSE_FILE_METADATA.gac_fixture) continue;
    const s = await stat(f.path);
    if (!(s.size > 0 && s.blocks * 512 < s.size * SPARSE_ALLOCATED_SHARE)) return false;
  }
  return true;
}

/** What `weights` the worker uses, and the line saying why. */
export async function chooseWeights(ckpt: Checkpoint, choice: WeightsChoice): Promise<{ weights: WeightsSource; note: string }> {
  const headerOnly = await isHeaderOnly(ckpt);
  if (choice === "checkpoint" && headerOnly) {
    throw new GacError("BAD_ARGS", `--weights checkpoint: ${ckpt.dir} is header-only (sparse: its tensor data is a hole of zeros); use --weights random or auto`);
  }
  if (choice === "random") return { weights: "random", note: "random weights (--weights random; speed does not depend on the values)" };
  if (choice === "checkpoint") return { weights: "checkpoint", note: "weights read from the checkpoint" };
  return headerOnly
    ? { weights: "random", note: "random weights: the checkpoint is header-only (sparse), and speed does not depend on the values" }
    : { weights: "checkpoint", note: "weights read from the checkpoint" };
}

export interface DescribeOptions {
  name?: string;
  /** Variants to build; "none" is always built first (the others are compared with it). */
  variants: readonly E2eVariant[];
  scale: ScaleMode;
  weights: WeightsChoice;
  role: E2eModel["role"];
}

const NAME = /^[A-Za-z0-9._-]{1,80}$/;

function scaleOf(value: number | number[] | undefined, where: string): number | null {
  if (value === undefined) return null;
  if (typeof value === "number") return value;
  throw new GacError("UNSUPPORTED", `${where} records one attention scale per layer; the e2e worker takes one scale per model`);
}

function labelOf(name: string, variant: E2eVariant, scale: ScaleMode): string {
  return variant === UNREPAIRED || scale === "fold" ? `${name}/${variant}` : `${name}/${variant}@logical`;
}

/** The unrepaired model and each strategy's repaired model of one checkpoint, deduplicated. */
export async function describeCheckpoint(dir: string, opts: DescribeOptions): Promise<E2eModel[]> {
  const ckpt = await openCheckpoint(dir);
  const name = opts.name ?? basename(ckpt.dir);
  if (!NAME.test(name)) throw new GacError("BAD_ARGS", `model name '${name}' must be 1-80 letters, digits, '.', '_' or '-': it goes into job ids and tables`);
  const spec = loadModelSpec(ckpt);
  const { weights, note } = await chooseWeights(ckpt, opts.weights);
  const prior = await readPriorRepair(ckpt.dir);
  const original: ModelDescription = {
    label: labelOf(name, UNREPAIRED, opts.scale),
    spec,
    hf_config: ckpt.config,
    checkpoint: ckpt.dir,
    weights,
    attention_scale: scaleOf(prior?.attentionScale, `${ckpt.dir}/gac-repair.json`),
    base: null,
  };
  const common = { name, role: opts.role, scale: opts.scale, weightsNote: note };
  const models: E2eModel[] = [{ ...common, description: original, variant: UNREPAIRED, changes: 0, skipped: [], paramOverheadPct: 0 }];
  const seen = new Map<string, E2eVariant>([["[]", UNREPAIRED]]);
  for (const variant of opts.variants) {
    if (variant === UNREPAIRED) continue;
    const p = await proposeRepair(ckpt.dir, { strategy: variant, scaleMode: opts.scale });
    const repairedSpec: ModelSpec = withRepairedDisagreements(applyPlanToSpec(spec, { ...p.plan, changes: p.changes }), p.config.value, tensorShapes(ckpt), p.edits);
    const key = JSON.stringify(p.edits);
    const description: ModelDescription = {
      label: labelOf(name, variant, opts.scale),
      spec: repairedSpec,
      hf_config: p.config.value,
      checkpoint: ckpt.dir,
      weights,
      attention_scale: scaleOf(logicalDims(p.changes, p.scaleMode, p.prior).attention_scale, `the ${variant} repair of ${ckpt.dir}`),
      base: { spec, edits: p.edits },
    };
    const sameAs = seen.get(key);
    if (sameAs === undefined) seen.set(key, variant);
    models.push({
      ...common,
      description,
      variant,
      changes: p.changes.length,
      skipped: p.skipped,
      paramOverheadPct: p.plan.paramOverheadPct,
      ...(sameAs !== undefined ? { sameAs } : {}),
    });
  }
  return models;
}

/** Shapes that make two checkpoints the same base model: a dense parent is matched to checkpoints by these. */
export function baseShapeKey(spec: ModelSpec): string {
  return `hidden ${spec.hiddenSize}, vocab ${spec.vocabSize}, ${spec.numLayers} layers, ${spec.numHeads} heads`;
}
