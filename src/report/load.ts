/**
 * Reading report inputs. Three kinds, told apart by content, never by file name alone:
 *   - a bench run directory (run.json and/or results*.jsonl, plain or archived .jsonl.gz), or a parent holding such directories;
 *   - a directory of raw end-to-end worker output (worker-results.jsonl beside its job lines jobs*.jsonl[.gz]),
 *     read into e2e rows by the e2e importer (src/bench/e2e/worker-output-dir.ts);
 *   - a scan document (`gac scan --json`): has `dims` and `calls`;
 *   - a repair manifest (gac-repair.json): has `strategy` and `edits` or `changes`;
 *   - a published GPU profile (profiles/a100-published.json): its points join the measured ones;
 *   - accuracy documents by their schema tag: `gac eval --json` (gac-eval/1) and `gac verify
 *     --device gpu --json` (gac-verify-gpu/1), one per file or as JSON lines (accuracy-input.ts);
 *   - a compression study: a directory whose study.json is gac-compress-study/1, with its eval
 *     document beside it, and raw worker output of its real-size speed runs (compress-study-input.ts).
 * Parsing (text -> values) is separate from reading the disk, so tests feed strings.
 */
import { readdir, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { GacError } from "../errors.js";
import { decodeJsonLines, MAX_RUN_FILE_BYTES, readResultsText, resultsFiles, RUN_FILE } from "../store/results-store.js";
import { parseBoundedJson } from "../util/bounded-json.js";
import { readJsonFile, readUtf8File } from "../util/read-json-file.js";
import { MAX_MANIFEST_BYTES } from "../repair/manifest.js";
import { isProfileDoc, profileToRun } from "./profile-input.js";
import type { BenchRecord, BenchRun, Environment, ReportInputs, ScanDoc, StrategyOutcome } from "./types.js";
import { repairSummaryFromJson } from "../repair/manifest.js";
import { hasWorkerOutput, readWorkerOutputDir, WORKER_OUTPUT_FILE } from "../bench/e2e/worker-output-dir.js";
import { readBySchema, readSchemaFilesOf } from "./schema-inputs.js";

/** A parent directory is searched this deep for runs: results/<run>/ and results/<suite>/<run>/. */
const MAX_SEARCH_DEPTH = 3;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
function str(v: unknown): string | undefined {
  return typeof v === "string" && v.length > 0 ? v : typeof v === "number" ? String(v) : undefined;
}
function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}
function numOrNull(v: unknown): number | null | undefined {
  return v === null ? null : num(v);
}

/** run.json -> Environment. compute_capability may be "9.0", 9.0 or [9, 0]. */
export function parseRunJson(text: string, file: string): { runId?: string; env: Environment } {
  const doc = parseBoundedJson(text, file, "BAD_RESULTS");
  if (!isObject(doc)) throw new GacError("BAD_RESULTS", `${file} holds no JSON object: the run description is damaged`);
  const cap = isObject(doc.capability) ? doc.capability : {};
  const gpus = Array.isArray(cap.gpus) ? cap.gpus : [];
  const gpu = isObject(cap.gpu) ? cap.gpu : isObject(gpus[0]) ? gpus[0] : {};
  const cc = gpu.compute_capability;
  const env: Environment = {
    gpu: str(gpu.name) ?? "unknown GPU",
    driver: str(cap.driver),
    torch: str(cap.torch),
    cuda: str(cap.cuda),
    cudnn: str(cap.cudnn),
    commit: str(doc.git_commit),
    date: str(doc.created),
    command: str(doc.command),
    computeCapability: Array.isArray(cc) ? cc.join(".") : str(cc),
  };
  return { runId: str(doc.run_id), env };
}

/**
 * results*.jsonl -> records, read by the store's decodeJsonLines: a truncated last line (a run killed
 * mid-write) is skipped with a note; a damaged line anywhere else is an error, since the rest of the
 * file cannot be trusted either. Lines without suite/params are skipped with a count.
 */
export function parseResultsJsonl(text: string, file: string, notes: string[]): BenchRecord[] {
  const { lines, truncated } = decodeJsonLines(text, file, { lenientEnd: true });
  const records: BenchRecord[] = [];
  let malformed = 0;
  for (const { value } of lines) {
    const r = toRecord(value);
    if (r) records.push(r);
    else malformed++;
  }
  if (truncated) notes.push(`${file}: the last line (${truncated.line}) is cut short and was skipped; the run was probably interrupted`);
  if (malformed > 0) notes.push(`${file}: ${malformed} line(s) without suite/params were skipped`);
  return records;
}

/**
 * The error message with PyTorch's own reason when the worker kept it: `error.warnings` lists why
 * each SDPA backend was skipped ("Mem efficient attention requires last dimension of inputs to be
 * divisible by 8. Got Query.size(-1): 107 ..."); the headers and the backends that were merely
 * disabled for the forced run say nothing about the refusal and are left out.
 */
function refusalMessage(error: Json): string {
  const message = str(error.message) ?? "";
  const warnings = Array.isArray(error.warnings) ? error.warnings.filter((w): w is string => typeof w === "string") : [];
  const reasons = warnings.filter((w) => !/not used because:\s*$/.test(w) && !/has been runtime disabled\.?\s*$/.test(w)).map((w) => w.trim());
  return reasons.length > 0 ? `${reasons.join(" ")}${message ? ` (${message})` : ""}` : message;
}

function toRecord(v: unknown): BenchRecord | undefined {
  if (!isObject(v) || typeof v.suite !== "string" || !isObject(v.params)) return undefined;
  const s = isObject(v.stats) ? v.stats : undefined;
  const median = s ? num(s.median_ms) : undefined;
  const err = isObject(v.error) ? { type: str(v.error.type) ?? "error", message: refusalMessage(v.error) } : undefined;
  return {
    suite: v.suite,
    case: str(v.case) ?? JSON.stringify(v.params),
    params: v.params,
    stats: s && median !== undefined && median > 0 ? { median_ms: median, p10_ms: num(s.p10_ms), p90_ms: num(s.p90_ms), n: num(s.n), mean_ms: num(s.mean_ms), rel_ci: num(s.rel_ci) } : undefined,
    kernels: Array.isArray(v.kernels) ? v.kernels.filter((k): k is string => typeof k === "string") : undefined,
    error: err,
    extra: isObject(v.extra) ? v.extra : undefined,
    gpu: str(v.gpu) ?? "",
    gpu_index: num(v.gpu_index),
    time: str(v.time),
  };
}

type JsonInputKind = "scan" | "repair" | "run" | "profile" | "unknown";

export function detectJsonKind(doc: unknown): JsonInputKind {
  if (!isObject(doc)) return "unknown";
  if (Array.isArray(doc.dims) && Array.isArray(doc.calls)) return "scan";
  if (typeof doc.strategy === "string" && (Array.isArray(doc.edits) || Array.isArray(doc.changes))) return "repair";
  if ("run_id" in doc && "capability" in doc) return "run";
  if (isProfileDoc(doc)) return "profile";
  return "unknown";
}

function strategyOutcome(v: unknown): StrategyOutcome | undefined {
  if (!isObject(v)) return undefined;
  const overhead = num(v.param_overhead_pct);
  if (overhead === undefined) return undefined;
  return {
    param_overhead_pct: overhead,
    dims_changed: num(v.dims_changed),
    predicted_ms: numOrNull(v.predicted_ms),
    predicted_speedup_pct: numOrNull(v.predicted_speedup_pct),
    measured_ms: numOrNull(v.measured_ms),
    measured_speedup_pct: numOrNull(v.measured_speedup_pct),
  };
}

/** The unrepaired forward time a scan predicts: every call's predicted_ms summed, or null if any is missing. */
function sumPredicted(calls: { predicted_ms?: number | null }[]): number | null {
  if (calls.length === 0 || calls.some((c) => typeof c.predicted_ms !== "number")) return null;
  return calls.reduce((sum, c) => sum + (c.predicted_ms ?? 0), 0);
}

export function parseScan(doc: Json, file: string): ScanDoc {
  const model = isObject(doc.model) ? doc.model : {};
  const strategies: Record<string, StrategyOutcome> = {};
  if (isObject(doc.strategies)) {
    for (const [name, v] of Object.entries(doc.strategies)) {
      const o = strategyOutcome(v);
      if (o) strategies[name] = o;
    }
  }
  const summary = isObject(doc.summary) ? doc.summary : {};
  const dims = (doc.dims as unknown[]).filter(isObject).flatMap((d) => {
    const value = num(d.value);
    if (value === undefined) return [];
    return [
      {
        id: str(d.id) ?? "",
        role: str(d.role) ?? "dim",
        name: str(d.name),
        value,
        aligned8: typeof d.aligned8 === "boolean" ? d.aligned8 : undefined,
        aligned16: typeof d.aligned16 === "boolean" ? d.aligned16 : undefined,
      },
    ];
  });
  const calls = (doc.calls as unknown[]).filter(isObject).map((c) => ({
    id: str(c.id) ?? "",
    kind: str(c.kind) ?? "call",
    phase: str(c.phase),
    shape: c.shape,
    verdict: str(c.verdict) ?? "unknown",
    kernel: str(c.kernel),
    reason: str(c.reason),
    source: str(c.source),
    predicted_ms: numOrNull(c.predicted_ms),
  }));
  const gpu = isObject(doc.gpu) ? str(doc.gpu.name) : str(doc.gpu);
  const profile = isObject(doc.profile) ? doc.profile : undefined;
  const runtime = isObject(doc.runtime) ? (str(doc.runtime.name) ?? JSON.stringify(doc.runtime)) : str(doc.runtime);
  return {
    file,
    model: {
      family: str(model.family),
      model_type: str(model.model_type),
      layers: num(model.layers),
      hidden_size: num(model.hidden_size),
      num_heads: num(model.num_heads),
      num_kv_heads: num(model.num_kv_heads),
      head_dim: num(model.head_dim),
      name: str(model.name),
    },
    dims,
    calls,
    strategies,
    baselineMs: numOrNull(summary.predicted_ms) ?? numOrNull(summary.baseline_ms) ?? sumPredicted(calls),
    gpu,
    runtime,
    profile: profile
      ? {
          gpu: str(profile.gpu) ?? "unknown GPU",
          source: str(profile.source) ?? "unknown",
          ...(Array.isArray(profile.runs) ? { runs: profile.runs.filter((r): r is string => typeof r === "string") } : {}),
        }
      : undefined,
  };
}

/** See repairSummaryFromJson (src/repair/manifest.ts, the manifest's one owner). */
export const parseRepair = repairSummaryFromJson;

async function isDir(p: string): Promise<boolean> {
  return (await stat(p)).isDirectory();
}

/** "20261201T215958Z-e2e" -> "2026-12-01T21:59:58Z": the time in a run id, when it starts with one. */
export function runIdTime(runId: string): string | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(runId);
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z` : undefined;
}

/**
 * Raw end-to-end worker output (worker-results.jsonl beside its job lines): the rows `gac bench e2e`
 * would have written, read by the e2e importer (src/bench/e2e/worker-output-dir.ts); the
 * environment comes from the worker's capability line, which every row carries.
 */
async function readWorkerOutputRun(dir: string, notes: string[]): Promise<BenchRun | undefined> {
  const imported = await readWorkerOutputDir(dir);
  if (!imported) {
    notes.push(`${join(dir, WORKER_OUTPUT_FILE)}: worker output without the job lines it answered (jobs*.jsonl or jobs*.jsonl.gz beside it), so it was not read; rebuild them with bench/e2e-jobs.ts`);
    return undefined;
  }
  if (imported.unmatched.length > 0) notes.push(`${join(dir, WORKER_OUTPUT_FILE)}: ${imported.unmatched.length} result line(s) answer no job of ${basename(imported.jobsFile)} and were left out`);
  const records = imported.rows.map(toRecord).filter((r): r is BenchRecord => r !== undefined);
  const runId = basename(dir);
  const first = imported.rows.find((r) => isObject(r.extra?.env));
  const worker = imported.jobsFile.endsWith(".gz") ? `gunzip -c ${basename(imported.jobsFile)} | python3 -m gac_worker` : `python3 -m gac_worker < ${basename(imported.jobsFile)}`;
  const readme = (await readdir(dir)).includes("README.md") ? ` (the run's commands: ${runId}/README.md)` : "";
  const env = (first?.extra?.env ?? {}) as Json;
  return {
    runId,
    dir,
    env: {
      gpu: first?.gpu ?? "unknown GPU",
      driver: str(env.driver),
      torch: str(env.torch),
      cuda: str(env.cuda),
      cudnn: str(env.cudnn),
      commit: str(env.git_commit),
      date: runIdTime(runId),
      // What turns the job lines into this output (they may be stored gzipped), and where the run says how it ran.
      command: `${worker}${readme}`,
      computeCapability: str(env.compute_capability),
    },
    records,
  };
}

async function readRunDir(dir: string, notes: string[]): Promise<BenchRun | undefined> {
  const names = await readdir(dir);
  const jsonl = await resultsFiles(dir);
  const hasRunJson = names.includes("run.json");
  if (!hasRunJson && jsonl.length === 0) return (await hasWorkerOutput(dir)) ? readWorkerOutputRun(dir, notes) : undefined;
  let runId = basename(dir);
  let env: Environment = { gpu: "unknown GPU" };
  if (hasRunJson) {
    const parsed = parseRunJson(await readUtf8File(join(dir, RUN_FILE), { code: "BAD_RESULTS", what: "a run description (run.json)", maxBytes: MAX_RUN_FILE_BYTES }), join(dir, RUN_FILE));
    runId = parsed.runId ?? runId;
    env = parsed.env;
  } else {
    notes.push(`${dir}: no run.json, so its environment is unknown`);
  }
  const records: BenchRecord[] = [];
  for (const f of jsonl) records.push(...parseResultsJsonl(await readResultsText(f), f, notes));
  if (env.gpu === "unknown GPU") env = { ...env, gpu: records.find((r) => r.gpu)?.gpu ?? env.gpu };
  return { runId, dir, env, records };
}

async function readJsonInput(file: string, into: ReportInputs): Promise<void> {
  if (await readBySchema(file, into)) return;
  const doc = await readJsonFile(file, { code: "UNKNOWN_INPUT", what: "a report input (scan JSON, repair manifest or profile)", maxBytes: MAX_MANIFEST_BYTES });
  const kind = detectJsonKind(doc);
  if (kind === "scan" && isObject(doc)) into.scans.push(parseScan(doc, file));
  else if (kind === "repair" && isObject(doc)) into.repairs.push(parseRepair(doc, file));
  else if (kind === "profile" && isObject(doc)) {
    const run = profileToRun(doc, file, into.notes);
    if (run) into.runs.push(run);
  } else if (kind === "run") {
    const run = await readRunDir(join(file, ".."), into.notes);
    if (run) into.runs.push(run);
  } else
    throw new GacError(
      "UNKNOWN_INPUT",
      `${file} is neither a scan (dims + calls), a repair manifest (strategy + changes), a GPU profile, a run.json, a gac eval / gac verify --device gpu document nor a compression study`,
    );
}

async function searchDir(dir: string, depth: number, into: ReportInputs): Promise<void> {
  const run = await readRunDir(dir, into.notes);
  if (run) {
    into.runs.push(run);
    // `gac bench model` leaves the model's scan beside its results (src/bench/run-model-bench.ts).
    for (const name of (await readdir(dir)).filter((n) => /^scan-.+\.json$/.test(n)).sort()) await readJsonInput(join(dir, name), into);
    return;
  }
  const names = (await readdir(dir)).sort();
  await readSchemaFilesOf(dir, names, into);
  if (depth >= MAX_SEARCH_DEPTH) return;
  for (const name of names) {
    if (name.startsWith(".")) continue;
    const p = join(dir, name);
    if (await isDir(p)) await searchDir(p, depth + 1, into);
    else if (name === "gac-repair.json") await readJsonInput(p, into);
  }
}

/** Reads every input path; directories are searched for runs and repair manifests. */
export async function loadReportInputs(paths: string[]): Promise<ReportInputs> {
  const into: ReportInputs = { runs: [], scans: [], repairs: [], notes: [] };
  for (const p of paths) {
    const s = await stat(p).catch(() => undefined);
    if (!s) throw new GacError("MISSING_FILE", `${p} does not exist`);
    if (s.isDirectory()) await searchDir(p, 0, into);
    else await readJsonInput(p, into);
  }
  const schemaInputs = (into.evals?.length ?? 0) + (into.verifies?.length ?? 0) + (into.studies?.length ?? 0) + (into.speedRuns?.length ?? 0);
  if (into.runs.length === 0 && into.scans.length === 0 && into.repairs.length === 0 && schemaInputs === 0) {
    throw new GacError("UNKNOWN_INPUT", `no bench runs, scans, repair manifests, accuracy results or compression studies found in ${paths.join(", ")}`);
  }
  return into;
}
