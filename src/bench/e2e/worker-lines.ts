/**
 * Store rows from a worker's raw output: results of `e2e` / `e2e_logits` jobs that were piped to
 * the worker directly (`python3 -m gac_worker < jobs.jsonl`, as bench/gpu-e2e-worker.sh runs the
 * committed sweep), matched to their job lines for the model specs. The rows are the ones
 * `gac bench e2e` writes (rows.ts), so tables, predictions and bench/e2e-check.ts read both alike.
 */
import { savedModel, type SavedModel } from "./models-file.js";
import { parseWorkerLine, type CapabilityOk } from "../protocol.js";
import type { ResultRecord } from "../../store/types.js";
import { GacError } from "../../errors.js";
import type { E2eGrid } from "./grid.js";
import type { E2eModel } from "./models.js";
import { E2E_LOGITS_SUITE, E2E_SUITE, modelParams } from "./plan-e2e.js";
import { e2eRecords } from "./rows.js";
import type { ModelDescription } from "./wire.js";

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A model description from a job line as an E2eModel (labels "<name>" or "<name>/<variant>"). */
function modelOf(d: ModelDescription): E2eModel {
  const [name, variant = "none"] = d.label.split("/");
  const logical = variant.endsWith("-logical") || variant.endsWith("@logical");
  return {
    description: d,
    name,
    variant: variant.replace(/[-@]logical$/, "") as E2eModel["variant"],
    role: /-dense$/.test(name) ? "parent" : "checkpoint",
    scale: logical ? "logical" : "fold",
    changes: d.base?.edits.length ?? 0,
    skipped: [],
    paramOverheadPct: 0,
    weightsNote: d.weights,
  };
}

function isDescription(v: unknown): v is ModelDescription {
  return isRecord(v) && typeof v.label === "string" && isRecord(v.spec) && (v.weights === "random" || v.weights === "checkpoint");
}

export interface ImportedRun {
  rows: ResultRecord[];
  models: SavedModel[];
  /** Result lines without a job line (no spec to read them with). */
  unmatched: string[];
}

/** Rows from worker output lines and the job lines they answer. */
export function rowsFromWorkerLines(resultLines: readonly string[], jobLines: readonly string[], gitCommit: string | null = null): ImportedRun {
  const jobs = new Map<string, Record<string, unknown>>();
  for (const line of jobLines) {
    if (line.trim() === "") continue;
    const job: unknown = JSON.parse(line);
    if (isRecord(job) && typeof job.id === "string" && isRecord(job.params)) jobs.set(job.id, job.params);
  }
  const models = new Map<string, E2eModel>();
  const rows: ResultRecord[] = [];
  const unmatched: string[] = [];
  let capability: CapabilityOk | null = null;
  for (const line of resultLines) {
    if (line.trim() === "") continue;
    const msg = parseWorkerLine(line);
    if (msg.type === "capability") {
      if (msg.ok) capability = msg;
      continue;
    }
    if (msg.type !== "result" && msg.type !== "error") continue;
    const id = msg.id;
    if (id === null) continue;
    const params = jobs.get(id);
    if (!params) {
      unmatched.push(id);
      continue;
    }
    if (!capability) throw new GacError("BAD_RESULTS", `worker output answers job '${id}' before any capability line`);
    const op = id.startsWith(`${E2E_LOGITS_SUITE}/`) ? E2E_LOGITS_SUITE : E2E_SUITE;
    const described = op === E2E_SUITE ? params.model : params.repaired;
    if (!isDescription(described)) {
      unmatched.push(id);
      continue;
    }
    const model = models.get(described.label) ?? modelOf(described);
    models.set(described.label, model);
    if (op === E2E_LOGITS_SUITE && isDescription(params.original)) models.set(params.original.label, models.get(params.original.label) ?? modelOf(params.original));
    const grid: E2eGrid = {
      name: "imported",
      prefill: Array.isArray(params.prefill) ? params.prefill.filter(isRecord).map((p) => ({ batch: Number(p.batch), seq: Number(p.seq) })) : [],
      decode: Array.isArray(params.decode) ? params.decode.filter(isRecord).map((p) => ({ batch: Number(p.batch), context: Number(p.context) })) : [],
      prefillRepeats: Number(params.prefill_repeats ?? 10),
      decodeSteps: Number(params.decode_steps ?? 16),
      warmup: Number(params.warmup ?? 2),
      logits: { batch: Number(params.batch ?? 1), seq: Number(params.seq ?? 512) },
    };
    const caseParams =
      op === E2E_SUITE ? { op, ...modelParams(model), engine: String(params.engine), config: String(params.config), cache: String(params.cache), phase: "all" } : { op, ...modelParams(model) };
    const base = { capability, gpu: capability.gpu.name, gpu_index: capability.gpu.index, time: "", wall_ms: 0 };
    rows.push(...e2eRecords({ suite: op, case: id, params: caseParams, job: { op, params: {} }, estimateS: 0 }, msg, base, { models, gitCommit, grid }));
  }
  return { rows, models: [...models.values()].map(savedModel), unmatched };
}
