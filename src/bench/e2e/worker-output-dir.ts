/**
 * A directory of raw end-to-end worker output (results/20261201T215958Z-e2e): the worker's stdout
 * `worker-results.jsonl` beside the job lines it answered (`jobs*.jsonl`, plain or gzipped). Read
 * through worker-lines.ts, the one reader of that output, into the rows `gac bench e2e` writes,
 * so the report, the tables and the checks see a committed sweep as they see an e2e store.
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { readResultsText } from "../../store/results-store.js";
import { rowsFromWorkerLines, type ImportedRun } from "./worker-lines.js";

export const WORKER_OUTPUT_FILE = "worker-results.jsonl";
const JOB_LINES_FILE = /^jobs.*\.jsonl(\.gz)?$/;

export interface WorkerOutputDir extends ImportedRun {
  /** The job lines file the output was matched with. */
  jobsFile: string;
}

/** Whether a directory holds raw worker output (and not a bench store). */
export async function hasWorkerOutput(dir: string): Promise<boolean> {
  return (await readdir(dir).catch(() => [] as string[])).includes(WORKER_OUTPUT_FILE);
}

/** The job lines file of a worker output directory, or null when it has none. */
export async function jobLinesFile(dir: string): Promise<string | null> {
  const names = (await readdir(dir)).filter((n) => JOB_LINES_FILE.test(n)).sort();
  return names.length > 0 ? join(dir, names[0]) : null;
}

/**
 * The rows of a worker output directory. `jobsFile` overrides the directory's own job lines;
 * null when neither exists (the caller says what to do: rebuild them with bench/e2e-jobs.ts).
 */
export async function readWorkerOutputDir(dir: string, jobsFile?: string): Promise<WorkerOutputDir | null> {
  const jobs = jobsFile ?? (await jobLinesFile(dir));
  if (jobs === null) return null;
  const output = await readResultsText(join(dir, WORKER_OUTPUT_FILE));
  const jobLines = await readResultsText(jobs);
  return { ...rowsFromWorkerLines(output.split("\n"), jobLines.split("\n")), jobsFile: jobs };
}
