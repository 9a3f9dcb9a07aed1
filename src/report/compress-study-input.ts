/**
 * The compression study's inputs, told apart by content:
 *   - a directory with a `gac-compress-study/1` document (study.json, what `bench/compress-study.ts
 *     make` writes: per method, budget and variant a-e its checkpoint, parameters and sizes) and the
 *     `gac eval --json` document(s) of those checkpoints beside it (eval.json);
 *   - optionally the H200 speed run: raw worker output (a capability line, then e2e result lines,
 *     docs/e2e-protocol.md) of the real-size variants, labelled "<method>-<model>-b<budget%>-<variant>".
 * The worker lines are read by the protocol's one parser (src/bench/protocol.ts). bench/compress-study.ts
 * runs its command line when imported, so its readers cannot be reused here; this file reads the
 * same fields (prefill at batch 1 and the longest prompt, in one engine configuration).
 */
import { GacError } from "../errors.js";
import { parseWorkerLine } from "../bench/protocol.js";
import type { EvalDoc } from "./accuracy-input.js";
import type { Environment } from "./environment-record.js";

export const COMPRESS_STUDY_SCHEMA = "gac-compress-study/1";
export const STUDY_VARIANTS = ["a", "b", "c", "d", "e"] as const;
export type StudyVariant = (typeof STUDY_VARIANTS)[number];

export interface StudyEntry {
  method: string;
  budget: number;
  variant: StudyVariant;
  dir: string;
  params: number;
  /** The chosen sizes, summarised ("68-136"). */
  sizes: string;
  /** How many of the chosen sizes are multiples of 16, of how many. */
  aligned16: { of16: number; total: number };
}

export interface CompressStudy {
  file: string;
  model: string;
  dense_params: number;
  entries: StudyEntry[];
  /** The eval document(s) of the study's checkpoints (perplexity by directory). */
  evals: EvalDoc[];
}

/** One real-size variant's end-to-end timing from the worker's lines. */
export interface SpeedPoint {
  label: string;
  /** The label without "-b<budget>-<variant>": method and real-size model ("svd-pairs-llama2-7b"). */
  stem: string;
  budget: number;
  variant: StudyVariant;
  /** "gac/eager/static" */
  config: string;
  params: number;
  phase: "prefill" | "decode";
  batch: number;
  /** Prompt tokens (prefill) or context (decode). */
  length: number;
  median_ms: number;
  p10_ms: number;
  p90_ms: number;
  n: number;
}

export interface CompressSpeedRun {
  file: string;
  /** Variant label -> the label it was timed under (same shapes, timed once), from an aliases file beside the run. */
  aliases?: Record<string, string>;
  env: Environment;
  points: SpeedPoint[];
  /** Jobs the worker answered with an error (e.g. stock transformers refusing pruned widths). */
  errors: number;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

function damaged(where: string, what: string): GacError {
  return new GacError("BAD_RESULTS", `${where}: ${what}: the compression study document is damaged`);
}

/** "42/42" -> { of16: 42, total: 42 }. */
function parseAligned(v: unknown, where: string): { of16: number; total: number } {
  const m = typeof v === "string" ? /^(\d+)\/(\d+)$/.exec(v) : null;
  if (!m || Number(m[1]) > Number(m[2])) throw damaged(where, `'aligned16' is ${JSON.stringify(v)}, not "<multiples of 16>/<sizes>"`);
  return { of16: Number(m[1]), total: Number(m[2]) };
}

/** A parsed gac-compress-study/1 document -> its entries, each field checked. */
export function parseStudyDoc(doc: unknown, file: string, evals: EvalDoc[]): CompressStudy {
  if (!isObject(doc) || !Array.isArray(doc.entries)) throw damaged(file, "no 'entries' list");
  const entries = doc.entries.map((e: unknown, i: number): StudyEntry => {
    const at = `${file} (entry ${i + 1})`;
    if (!isObject(e)) throw damaged(at, "not a JSON object");
    if (typeof e.method !== "string") throw damaged(at, "'method' is not a string");
    if (!isNum(e.budget)) throw damaged(at, "'budget' is not a number");
    if (!STUDY_VARIANTS.includes(e.variant as StudyVariant)) throw damaged(at, `'variant' is ${JSON.stringify(e.variant)}, not one of a-e`);
    if (typeof e.dir !== "string") throw damaged(at, "'dir' is not a string");
    if (!isNum(e.params)) throw damaged(at, "'params' is not a number");
    return {
      method: e.method,
      budget: e.budget,
      variant: e.variant as StudyVariant,
      dir: e.dir,
      params: e.params,
      sizes: typeof e.sizes === "string" ? e.sizes : "",
      aligned16: parseAligned(e.aligned16, at),
    };
  });
  return { file, model: typeof doc.model === "string" ? doc.model : "", dense_params: isNum(doc.dense_params) ? doc.dense_params : 0, entries, evals };
}

/** "svd-pairs-llama2-7b-b60-e" -> stem "svd-pairs-llama2-7b", budget 0.6, variant "e"; undefined for other labels. */
export function parseVariantLabel(label: string): { stem: string; budget: number; variant: StudyVariant } | undefined {
  const m = /^(.+)-b(\d+)-([a-e])$/.exec(label);
  return m ? { stem: m[1], budget: Number(m[2]) / 100, variant: m[3] as StudyVariant } : undefined;
}

/** The study method a real-size stem belongs to ("svd-pairs-llama2-7b" -> "svd-pairs"), the longest that fits. */
export function methodOfStem(stem: string, methods: readonly string[]): string | undefined {
  return [...methods].sort((a, b) => b.length - a.length).find((m) => stem === m || stem.startsWith(`${m}-`));
}

/** Whether a file's first line is a worker capability line (raw worker output). */
export function isWorkerOutputText(text: string): boolean {
  const first = text.slice(0, text.indexOf("\n") >= 0 ? text.indexOf("\n") : text.length);
  try {
    const v: unknown = JSON.parse(first);
    return isObject(v) && v.type === "capability";
  } catch {
    return false;
  }
}

/**
 * Raw worker output -> the e2e timings whose model labels name a study variant ("...-b60-e"; others
 * are left out). A line the protocol rejects is a BAD_RESULTS error naming it.
 */
export function parseSpeedRun(text: string, file: string): CompressSpeedRun {
  const env: Environment = { gpu: "unknown GPU" };
  const points: SpeedPoint[] = [];
  let errors = 0;
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    let msg: ReturnType<typeof parseWorkerLine>;
    try {
      msg = parseWorkerLine(line);
    } catch (e) {
      throw new GacError("BAD_RESULTS", `${file}:${i + 1}: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`);
    }
    if (msg.type === "capability" && msg.ok) {
      Object.assign(env, {
        gpu: msg.gpu.name,
        driver: typeof msg.driver === "string" ? msg.driver : undefined,
        torch: msg.torch,
        cuda: msg.cuda,
        cudnn: msg.cudnn === undefined ? undefined : String(msg.cudnn),
        computeCapability: typeof msg.gpu.compute_capability === "string" ? msg.gpu.compute_capability : undefined,
      });
    }
    if (msg.type === "error") errors++;
    if (msg.type !== "result" || !("op" in msg) || msg.op !== "e2e") return;
    const e = msg.body;
    const model = isObject(e.model) ? e.model : {};
    const label = typeof model.label === "string" ? model.label : "";
    const named = parseVariantLabel(label);
    if (!named || !isNum(model.params) || !Array.isArray(e.points)) return;
    const config = `${String(e.engine)}/${String(e.config)}/${String(e.cache)}`;
    for (const p of e.points) {
      if (!isObject(p) || !isObject(p.stats) || !isNum(p.stats.median_ms))
        throw new GacError("BAD_RESULTS", `${file}:${i + 1}: an e2e point of ${label} has no stats.median_ms: the worker output is damaged`);
      const median = p.stats.median_ms;
      points.push({
        label,
        ...named,
        config,
        params: model.params,
        phase: p.phase === "decode" ? "decode" : "prefill",
        batch: isNum(p.batch) ? p.batch : 1,
        length: isNum(p.seq) ? p.seq : isNum(p.context) ? p.context : 0,
        median_ms: median,
        p10_ms: isNum(p.stats.p10_ms) ? p.stats.p10_ms : median,
        p90_ms: isNum(p.stats.p90_ms) ? p.stats.p90_ms : median,
        n: isNum(p.stats.n) ? p.stats.n : 0,
      });
    }
  });
  return { file, env, points, errors };
}

/**
 * The aliases file of a speed run (bench/compress-study-jobs.ts writes "<jobs>.aliases.json"): a JSON
 * object mapping variant labels to the label timed for the same shapes. Recognised by content: every
 * key and value is a study variant label. Returns undefined for anything else.
 */
export function parseAliases(doc: unknown): Record<string, string> | undefined {
  if (!isObject(doc)) return undefined;
  const entries = Object.entries(doc);
  if (entries.length === 0 || !entries.every(([k, v]) => parseVariantLabel(k) !== undefined && typeof v === "string" && parseVariantLabel(v) !== undefined)) return undefined;
  return Object.fromEntries(entries) as Record<string, string>;
}

/** The run's points with each aliased variant drawn at the point of the variant timed for it (same shapes, same parameters). */
export function withAliases(run: CompressSpeedRun): SpeedPoint[] {
  const out = [...run.points];
  for (const [label, timed] of Object.entries(run.aliases ?? {})) {
    const named = parseVariantLabel(label);
    if (!named || run.points.some((p) => p.label === label)) continue;
    for (const p of run.points.filter((q) => q.label === timed)) out.push({ ...p, ...named, label });
  }
  return out;
}
