/**
 * Report inputs recognised by their content's first bytes: gac's JSON documents start with their
 * `schema` tag (src/cli/json-output.ts writes it first; bench/compress-study.ts too), and raw worker
 * output starts with the worker's capability line. The first SNIFF_BYTES of a file say which it is
 * (its name says nothing), so a large scan in a searched directory is not read only to be ignored.
 */
import { open, readdir, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { readUtf8File } from "../util/read-json-file.js";
import { EVAL_SCHEMA, GPU_VERIFY_SCHEMA, parseAccuracyText } from "./accuracy-input.js";
import { COMPRESS_STUDY_SCHEMA, isWorkerOutputText, parseAliases, parseSpeedRun, parseStudyDoc } from "./compress-study-input.js";
import { parseBoundedJson } from "../util/bounded-json.js";
import type { ReportInputs } from "./types.js";

/** Enough for a capability line (~1.5 kB with its backend details) or a pretty-printed document's first key. */
const SNIFF_BYTES = 16_384;
/** Accuracy output and worker lines are JSON lines files of kilobytes per document; 64 MB is far past any run. */
export const MAX_SCHEMA_INPUT_BYTES = 64_000_000;

export type SniffedKind = "eval-or-verify" | "compress-study" | "worker-output" | "other";

/** What the start of a file's text says it is. */
export function sniffText(head: string): SniffedKind {
  if (isWorkerOutputText(head)) return "worker-output";
  const m = /^\s*\{\s*"schema"\s*:\s*"([^"]+)"/.exec(head);
  const schema = m?.[1];
  if (schema === EVAL_SCHEMA || schema === GPU_VERIFY_SCHEMA) return "eval-or-verify";
  if (schema === COMPRESS_STUDY_SCHEMA) return "compress-study";
  return "other";
}

export async function sniffFile(path: string): Promise<SniffedKind> {
  const handle = await open(path, "r");
  try {
    const buf = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await handle.read(buf, 0, SNIFF_BYTES, 0);
    return sniffText(buf.subarray(0, bytesRead).toString("utf8"));
  } finally {
    await handle.close();
  }
}

const readText = (path: string, what: string) => readUtf8File(path, { code: "BAD_RESULTS", what, maxBytes: MAX_SCHEMA_INPUT_BYTES });

async function readAccuracyFile(path: string, into: ReportInputs): Promise<void> {
  const docs = parseAccuracyText(await readText(path, "accuracy output (gac eval / gac verify --device gpu JSON)"), path, into.notes);
  into.evals = [...(into.evals ?? []), ...docs.evals];
  into.verifies = [...(into.verifies ?? []), ...docs.verifies];
}

/** An aliases file is small; a larger JSON file without a schema is not one and is not read. */
const MAX_ALIASES_BYTES = 1_000_000;

/** The aliases file beside a speed run (any name; recognised by content, parseAliases), if there is one. */
async function aliasesBeside(path: string): Promise<Record<string, string> | undefined> {
  const dir = dirname(path);
  for (const name of (await readdir(dir)).sort()) {
    const p = join(dir, name);
    if (!name.endsWith(".json") || p === path) continue;
    const s = await stat(p);
    if (!s.isFile() || s.size > MAX_ALIASES_BYTES || (await sniffFile(p)) !== "other") continue;
    let doc: unknown;
    try {
      doc = JSON.parse(await readText(p, "an aliases file"));
    } catch {
      continue;
    }
    const aliases = parseAliases(doc);
    if (aliases) return aliases;
  }
  return undefined;
}

async function readWorkerFile(path: string, into: ReportInputs): Promise<void> {
  const run = parseSpeedRun(await readText(path, "raw worker output"), path);
  const aliases = await aliasesBeside(path);
  if (aliases) run.aliases = aliases;
  if (run.points.length === 0) {
    into.notes.push(`${path}: worker output without job lines and without compression-study variants (labels "...-b<budget>-<a-e>"), so it was not read`);
    return;
  }
  into.speedRuns = [...(into.speedRuns ?? []), run];
}

/** A study directory: its study document, the eval documents beside it (which belong to the study) and any worker output of its speed run. */
async function readStudyDir(studyFile: string, into: ReportInputs): Promise<void> {
  const dir = dirname(studyFile);
  const evals = [];
  for (const name of (await readdir(dir)).sort()) {
    const p = join(dir, name);
    if (p === studyFile || !(await stat(p)).isFile()) continue;
    const kind = await sniffFile(p);
    if (kind === "worker-output") await readWorkerFile(p, into);
    if (kind !== "eval-or-verify") continue;
    const docs = parseAccuracyText(await readText(p, "accuracy output"), p, into.notes);
    evals.push(...docs.evals);
    into.verifies = [...(into.verifies ?? []), ...docs.verifies];
  }
  const doc = parseBoundedJson(await readText(studyFile, "a compression study (study.json)"), studyFile, "BAD_RESULTS");
  into.studies = [...(into.studies ?? []), parseStudyDoc(doc, studyFile, evals)];
}

/**
 * Reads the file if its content is one of these kinds and says whether it did. A study document
 * reads its whole directory (its eval belongs to it, not to the accuracy tables).
 */
export async function readBySchema(path: string, into: ReportInputs): Promise<boolean> {
  const kind = await sniffFile(path);
  if (kind === "eval-or-verify") await readAccuracyFile(path, into);
  else if (kind === "worker-output") await readWorkerFile(path, into);
  else if (kind === "compress-study") await readStudyDir(path, into);
  return kind !== "other";
}

/** The JSON and JSON-lines files of a directory that is not a bench run, read by content; a study directory first. */
export async function readSchemaFilesOf(dir: string, names: readonly string[], into: ReportInputs): Promise<void> {
  const files: string[] = [];
  for (const name of names) {
    const p = join(dir, name);
    if (/\.jsonl?$/.test(name) && name !== "gac-repair.json" && (await stat(p)).isFile()) files.push(p);
  }
  const kinds = await Promise.all(files.map(sniffFile));
  const study = files.find((_, i) => kinds[i] === "compress-study");
  if (study !== undefined) {
    await readStudyDir(study, into);
    return;
  }
  for (const [i, p] of files.entries()) if (kinds[i] !== "other") await readBySchema(p, into);
}
