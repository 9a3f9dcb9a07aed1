/**
 * `e2e-models.json` in a run directory: every model a `gac bench e2e` run measured, with its
 * ModelSpec, so that tables, predictions (src/profile/predict-e2e.ts) and bench/e2e-check.ts can be
 * rebuilt from the directory alone. This module owns the file; a rerun merges into it by label.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { GacError } from "../../errors.js";
import type { ModelSpec } from "../../model/types.js";
import type { Refusal } from "../../plan/types.js";
import { writeFileAtomic } from "../../util/atomic.js";
import type { E2eModel } from "./models.js";

export const MODELS_FILE = "e2e-models.json";
export const MODELS_SCHEMA = "gac-e2e-models/1";

export interface SavedModel {
  label: string;
  name: string;
  variant: string;
  role: "checkpoint" | "parent";
  scale: string;
  family: string;
  same_as: string | null;
  changes: number;
  skipped: Refusal[];
  param_overhead_pct: number;
  weights: string;
  weights_note: string;
  attention_scale: number | null;
  spec: ModelSpec;
}

export interface ModelsFile {
  schema: typeof MODELS_SCHEMA;
  models: SavedModel[];
}

export function savedModel(m: E2eModel): SavedModel {
  return {
    label: m.description.label,
    name: m.name,
    variant: m.variant,
    role: m.role,
    scale: m.scale,
    family: m.description.spec.family,
    same_as: m.sameAs ?? null,
    changes: m.changes,
    skipped: m.skipped,
    param_overhead_pct: m.paramOverheadPct,
    weights: m.description.weights,
    weights_note: m.weightsNote,
    attention_scale: m.description.attention_scale,
    spec: m.description.spec,
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The models of a run directory (none when it has no file). */
export async function readModelsFile(dir: string): Promise<SavedModel[]> {
  const path = join(dir, MODELS_FILE);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new GacError("BAD_RESULTS", `${path} is not valid JSON (${(e as Error).message}); fix or remove it (gac bench e2e rewrites it from the models it is given)`);
  }
  if (!isRecord(parsed) || parsed.schema !== MODELS_SCHEMA || !Array.isArray(parsed.models)) {
    throw new GacError("BAD_RESULTS", `${path} is not a ${MODELS_SCHEMA} file (schema ${JSON.stringify(isRecord(parsed) ? parsed.schema : undefined)})`);
  }
  return parsed.models.filter((m): m is SavedModel => isRecord(m) && typeof m.label === "string" && isRecord(m.spec));
}

/** Merge `models` into the directory's file (same label: replaced), written atomically. */
export async function writeModelsFile(dir: string, models: readonly E2eModel[]): Promise<void> {
  const byLabel = new Map((await readModelsFile(dir)).map((m) => [m.label, m]));
  for (const m of models) byLabel.set(m.description.label, savedModel(m));
  const file: ModelsFile = { schema: MODELS_SCHEMA, models: [...byLabel.values()] };
  await writeFileAtomic(join(dir, MODELS_FILE), JSON.stringify(file) + "\n");
}
