/**
 * The results store: `<dir>/run.json` and append-only `<dir>/results*.jsonl`.
 *
 * A finished run may be archived as `results*.jsonl.gz` (`gzip -9`, docs/results-format.md): readers
 * inflate it and see the same lines; the appender refuses an archived run, so resuming one never
 * re-measures its cases into a plain file beside the archive.
 *
 * A line is appended only after its case finished, with one write of the whole line, so a killed
 * run leaves at most one unfinished last line. Readers ignore that line and report it; the appender
 * cuts it off before writing, so the next line starts clean. Shards (one file per GPU, or run
 * directories from several machines) merge by concatenation; a (run, case) pair seen twice keeps
 * its first record.
 */
import { createReadStream } from "node:fs";
import { scanJson } from "../util/bounded-json.js";
import { readJsonFile } from "../util/read-json-file.js";
import { open, readFile, readdir, rename, truncate, writeFile, mkdir } from "node:fs/promises";
import { basename, join } from "node:path";
import { constants as bufferConstants } from "node:buffer";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { GacError } from "../errors.js";
import { pathExists } from "../util/fs.js";
import type { LoadedRecord, ResultRecord, RunInfo, TruncatedTail } from "./types.js";

export const RUN_FILE = "run.json";
/** run.json describes one run's machine and arguments (a few KB). */
export const MAX_RUN_FILE_BYTES = 16_000_000;
const RESULTS_FILE = /^results.*\.jsonl(\.gz)?$/;
const ARCHIVED_SUFFIX = ".gz";
/** The longest string V8 can build (~512 MiB of text): an archive inflating past it cannot be decoded whole. */
const MAX_RESULTS_TEXT_BYTES = bufferConstants.MAX_STRING_LENGTH;

/** Whether a file name is one of a run directory's results*.jsonl, plain or archived (.jsonl.gz). */
export function isResultsFileName(name: string): boolean {
  return RESULTS_FILE.test(name);
}

/** Whether a results file name is an archived (gzip-compressed) one. */
export function isArchivedResultsFileName(name: string): boolean {
  return isResultsFileName(name) && name.endsWith(ARCHIVED_SUFFIX);
}

/** results-gpu0.jsonl.gz -> results-gpu0.jsonl; a plain name is its own. */
function plainResultsName(name: string): string {
  return name.endsWith(ARCHIVED_SUFFIX) ? name.slice(0, -ARCHIVED_SUFFIX.length) : name;
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
  // An e2e_logits row is a comparison, not a timing: its body is extra.e2e_logits (docs/e2e.md).
  const hasComparison = v.suite === "e2e_logits" && isRecord(v.extra) && isRecord(v.extra.e2e_logits);
  if (!hasStats && !hasError && !hasComparison) throw new GacError("BAD_RESULTS", `${where}: case '${v.case}' has neither stats.median_ms nor error.type`);
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
      // Within the JSON limits first: JSON.parse accepts any depth, the code reading the value would not.
      scanJson(line);
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
  const parsed = await readJsonFile(path, { code: "BAD_RESULTS", what: "a run description (run.json)", maxBytes: MAX_RUN_FILE_BYTES });
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

/**
 * The results files of a run directory (results*.jsonl and archived results*.jsonl.gz), in the order
 * of their plain names, so an archived run reads in the same order as before. A file present both
 * plain and archived is an error: reading both would count every case twice.
 */
export async function resultsFiles(dir: string): Promise<string[]> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter(isResultsFileName);
  const byPlainName = new Map<string, string>();
  for (const name of names) {
    const plain = plainResultsName(name);
    if (byPlainName.has(plain)) throw new GacError("BAD_RESULTS", `${dir}: both ${plain} and ${plain}${ARCHIVED_SUFFIX} exist; keep one (reading both would count every case twice)`);
    byPlainName.set(plain, name);
  }
  return [...byPlainName.keys()].sort().map((plain) => join(dir, byPlainName.get(plain) ?? plain));
}

/**
 * The text of one results file; an archived one (.jsonl.gz) is inflated as a stream, so neither the
 * compressed bytes nor a second copy of the text is held whole. A damaged archive is one BAD_RESULTS
 * line naming the file.
 */
export async function readResultsText(file: string): Promise<string> {
  if (!file.endsWith(ARCHIVED_SUFFIX)) return readFile(file, "utf8");
  const chunks: Buffer[] = [];
  let bytes = 0;
  try {
    await pipeline(createReadStream(file), createGunzip(), async (inflated: AsyncIterable<Buffer>) => {
      for await (const chunk of inflated) {
        bytes += chunk.length;
        if (bytes > MAX_RESULTS_TEXT_BYTES)
          throw new GacError(
            "BAD_RESULTS",
            `${file} inflates to more than ${MAX_RESULTS_TEXT_BYTES.toLocaleString("en-US")} bytes, the most one string can hold: split it into several results*.jsonl files`,
          );
        chunks.push(chunk);
      }
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === "string" && code.startsWith("Z_"))
      throw new GacError("BAD_RESULTS", `${file} is not a readable gzip file (${(e as Error).message}): the archive is damaged; restore it or its .jsonl`);
    throw e;
  }
  return Buffer.concat(chunks, bytes).toString("utf8");
}

/**
 * Refuse to write into an archived run: a new plain results file beside the .gz would split the run
 * (or, for the same GPU, make both files exist), and the archive's cases would look unmeasured.
 */
export async function assertNotArchived(dir: string): Promise<void> {
  const archived = (await resultsFiles(dir)).filter((f) => isArchivedResultsFileName(basename(f)));
  if (archived.length > 0) throw new GacError("BAD_RESULTS", `run ${dir} is archived (results*.jsonl.gz): gunzip it to resume (gunzip ${join(dir, "results*.jsonl.gz")})`);
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
    const decoded = decodeResults(await readResultsText(file), file);
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
    if (!run.info && run.records.length === 0) throw new GacError("BAD_RESULTS", `${dir} has no run.json and no results*.jsonl(.gz): not a gac results directory`);
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
 * mid-write) is cut off first, so the next line does not glue onto it. An archived run is refused.
 */
export async function openAppender(dir: string, gpuIndex: number): Promise<ResultsAppender> {
  await assertNotArchived(dir);
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
