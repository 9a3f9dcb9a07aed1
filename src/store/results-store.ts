/**
 * The results store: `<dir>/run.json` and append-only `<dir>/results*.jsonl`.
 *
 * A line is appended only after its case finished, with one write of the whole line, so a killed
 * run leaves at most one unfinished last line. Readers ignore that line and report it; the appender
 * cuts it off before writing, so the next line starts clean. Shards (one file per GPU, or run
 * directories from several machines) merge by concatenation; a (run, case) pair seen twice keeps
 * its first record.
 */
import { open, readFile, readdir, rename, truncate, writeFile, mkdir } from "node:fs/promises";
import { basename, join } from "node:path";
import { GacError } from "../errors.js";
import { pathExists } from "../util/fs.js";
import type { LoadedRecord, ResultRecord, RunInfo, TruncatedTail } from "./types.js";

export const RUN_FILE = "run.json";
const RESULTS_FILE = /^results.*\.jsonl$/;

/** Whether a file name is one of a run directory's results*.jsonl. */
export function isResultsFileName(name: string): boolean {
  return RESULTS_FILE.test(name);
}

/** The results file of one GPU's worker. */
export function resultsFileName(gpuIndex: number): string {
  return `results-gpu${gpuIndex}.jsonl`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function checkRecord(v: unknown, where: string): ResultRecord {
  if (!isRecord(v)) throw new GacError("BAD_RESULTS", `${where}: a result line must be a JSON object`);
  if (typeof v.suite !== "string" || typeof v.case !== "string") throw new GacError("BAD_RESULTS", `${where}: a result line needs 'suite' and 'case' strings`);
  if (!isRecord(v.params)) throw new GacError("BAD_RESULTS", `${where}: case '${v.case}' has no 'params' object`);
  const hasStats = isRecord(v.stats) && typeof v.stats.median_ms === "number";
  const hasError = isRecord(v.error) && typeof v.error.type === "string";
  if (!hasStats && !hasError) throw new GacError("BAD_RESULTS", `${where}: case '${v.case}' has neither stats.median_ms nor error.type`);
  // The shape is checked field by field above; the rest is carried as written.
  return v as unknown as ResultRecord;
}

/** One JSON line of a results file, with its 1-based line number. */
export interface JsonLine {
  line: number;
  value: unknown;
}

export interface DecodedLines {
  lines: JsonLine[];
  /** Set when the text ends in an unfinished line. */
  truncated?: TruncatedTail;
}

export interface DecodeLinesOptions {
  /**
   * Read the end of the file as a person might have left it (the report does): the last non-blank
   * line counts even without its newline, and only a last line that does not parse is unfinished.
   * Without it (the store), everything after the last newline is unfinished, so the appender can
   * cut it off.
   */
  lenientEnd?: boolean;
}

/**
 * Split the text of a results file into parsed JSON lines; blank lines are skipped. A malformed line
 * in the middle is an error (the file was edited or is not ours); an unfinished last line is the
 * trace of a kill and is skipped, reported as `truncated`.
 */
export function decodeJsonLines(text: string, file: string, opts: DecodeLinesOptions = {}): DecodedLines {
  const lines = text.split("\n");
  let lastNonBlank = lines.length - 1;
  while (lastNonBlank >= 0 && lines[lastNonBlank].trim() === "") lastNonBlank--;
  const out: DecodedLines = { lines: [] };
  const cutOff = (i: number): TruncatedTail => ({ file, line: i + 1, bytes: Buffer.byteLength(lines[i]) });
  lines.forEach((line, i) => {
    if (i === lines.length - 1 && !opts.lenientEnd) {
      if (line.length > 0) out.truncated = cutOff(i);
      return;
    }
    if (line.trim() === "") return;
    try {
      out.lines.push({ line: i + 1, value: JSON.parse(line) });
    } catch {
      if (opts.lenientEnd && i === lastNonBlank) out.truncated = cutOff(i);
      else throw new GacError("BAD_RESULTS", `${file}:${i + 1} is not JSON: the file was edited or is not a gac results file`);
    }
  });
  return out;
}

export interface DecodedResults {
  records: ResultRecord[];
  /** Set when the text ends in an unfinished line. */
  truncated?: TruncatedTail;
}

/** Decode the text of a results file (decodeJsonLines), checking that every line is a result record. */
export function decodeResults(text: string, file: string): DecodedResults {
  const { lines, truncated } = decodeJsonLines(text, file);
  const records = lines.map(({ line, value }) => checkRecord(value, `${file}:${line}`));
  return truncated ? { records, truncated } : { records };
}

/** Encode one record as its line (with the newline). */
export function encodeRecord(record: ResultRecord): string {
  return JSON.stringify(record) + "\n";
}

export async function readRunInfo(dir: string): Promise<RunInfo | null> {
  const path = join(dir, RUN_FILE);
  if (!(await pathExists(path))) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, "utf8"));
  } catch {
    throw new GacError("BAD_RESULTS", `${path} is not JSON`);
  }
  if (!isRecord(parsed) || typeof parsed.run_id !== "string") throw new GacError("BAD_RESULTS", `${path} has no run_id: not a gac run`);
  return parsed as unknown as RunInfo;
}

/** Write run.json atomically (temp file, then rename): a kill never leaves half of it. */
export async function writeRunInfo(dir: string, info: RunInfo): Promise<void> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, RUN_FILE);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(info, null, 2) + "\n");
  await rename(tmp, path);
}

/** The results*.jsonl files of a run directory, sorted. */
export async function resultsFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.filter(isResultsFileName).sort().map((n) => join(dir, n));
}

export interface RunResults {
  info: RunInfo | null;
  records: ResultRecord[];
  truncated: TruncatedTail[];
}

/** Everything one run directory holds. A missing directory reads as empty. */
export async function readRun(dir: string): Promise<RunResults> {
  const info = await readRunInfo(dir);
  const records: ResultRecord[] = [];
  const truncated: TruncatedTail[] = [];
  for (const file of await resultsFiles(dir)) {
    const decoded = decodeResults(await readFile(file, "utf8"), file);
    records.push(...decoded.records);
    if (decoded.truncated) truncated.push(decoded.truncated);
  }
  return { info, records, truncated };
}

export interface LoadedResults {
  runs: (RunInfo & { dir: string })[];
  records: LoadedRecord[];
  truncated: TruncatedTail[];
  /** Records dropped because their (run, case) was already seen. */
  duplicates: number;
}

/**
 * Load and merge several run directories (or shards of one run): records concatenate in the order
 * given; a (run, case) pair seen twice keeps its first record.
 */
export async function loadResults(dirs: string[]): Promise<LoadedResults> {
  const out: LoadedResults = { runs: [], records: [], truncated: [], duplicates: 0 };
  const seen = new Set<string>();
  for (const dir of dirs) {
    if (!(await pathExists(dir))) throw new GacError("MISSING_FILE", `results directory ${dir} does not exist`);
    const run = await readRun(dir);
    if (!run.info && run.records.length === 0) throw new GacError("BAD_RESULTS", `${dir} has no run.json and no results*.jsonl: not a gac results directory`);
    const runId = run.info?.run_id ?? basename(dir);
    if (run.info && !out.runs.some((r) => r.run_id === runId && r.dir === dir)) out.runs.push({ ...run.info, dir });
    out.truncated.push(...run.truncated);
    for (const r of run.records) {
      const key = `${runId}\u0000${r.case}`;
      if (seen.has(key)) {
        out.duplicates++;
        continue;
      }
      seen.add(key);
      out.records.push({ ...r, run_id: runId });
    }
  }
  return out;
}

export interface ResultsAppender {
  file: string;
  /** The unfinished last line that was cut off when the file was opened, if any. */
  repaired?: TruncatedTail;
  append(record: ResultRecord): Promise<void>;
}

/**
 * Open one GPU's results file for appending. An unfinished last line (a previous run was killed
 * mid-write) is cut off first, so the next line does not glue onto it.
 */
export async function openAppender(dir: string, gpuIndex: number): Promise<ResultsAppender> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, resultsFileName(gpuIndex));
  let repaired: TruncatedTail | undefined;
  if (await pathExists(file)) {
    const text = await readFile(file, "utf8");
    const decoded = decodeResults(text, file);
    if (decoded.truncated) {
      repaired = decoded.truncated;
      await truncate(file, Buffer.byteLength(text) - decoded.truncated.bytes);
    }
  }
  return {
    file,
    ...(repaired ? { repaired } : {}),
    async append(record) {
      // One write call per line, opened in append mode: the line lands whole or (killed) as a tail.
      const handle = await open(file, "a");
      try {
        await handle.write(encodeRecord(record));
      } finally {
        await handle.close();
      }
    },
  };
}
