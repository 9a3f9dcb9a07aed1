/**
 * Environment blocks for the inputs that are not bench runs (accuracy output, the compression study
 * and its speed run): one per input file, after the runs' E1..En, so that their captions cite a
 * block like every other figure. The run id is the file's directory (results/<run-id>/), its date
 * the time in that id; GPU and torch are what the documents recorded.
 */
import { basename, dirname } from "node:path";
import { runIdTime } from "./load.js";
import type { Environment, ReportInputs } from "./types.js";

/** What the eval of a study ran on when it ran on the CPU (the Environment table's GPU column). */
export const CPU_FLOAT64 = "CPU, float64 reference forward";

/** The time in a run id, or its date alone ("20261201-compress-study" -> "2026-12-01"). */
function runIdDate(runId: string): string | undefined {
  const day = /^(\d{4})(\d{2})(\d{2})(?!\d)/.exec(runId);
  return runIdTime(runId) ?? (day ? `${day[1]}-${day[2]}-${day[3]}` : undefined);
}

function fileEnv(file: string, gpu: string, torch: string | undefined): Environment {
  const runId = basename(dirname(file));
  return { gpu, torch, runId, date: runIdDate(runId) };
}

/**
 * Input file -> its environment block, refs numbered from `first`. Files of one run directory
 * measured on one device (an eval and a verify of the same run) share a block.
 */
export function fileEnvironments(inputs: ReportInputs, first: number): Map<string, Environment> {
  const out = new Map<string, Environment>();
  const blocks = new Map<string, Environment>();
  const add = (file: string, env: Environment) => {
    if (out.has(file)) return;
    const key = `${dirname(file)}\u0000${env.gpu}`;
    const block = blocks.get(key) ?? { ...env, ref: `E${first + blocks.size}` };
    blocks.set(key, block);
    out.set(file, block);
  };
  for (const d of inputs.evals ?? []) add(d.file, fileEnv(d.file, d.device === "cpu" ? CPU_FLOAT64 : (d.gpu ?? "unknown GPU"), d.torch));
  for (const d of inputs.verifies ?? []) add(d.file, fileEnv(d.file, d.gpu, d.torch || undefined));
  for (const s of inputs.studies ?? []) {
    const e = s.evals[0];
    add(s.file, fileEnv(s.file, e === undefined ? "not recorded" : e.device === "cpu" ? CPU_FLOAT64 : (e.gpu ?? "unknown GPU"), e?.torch));
  }
  for (const r of inputs.speedRuns ?? []) add(r.file, { ...fileEnv(r.file, r.env.gpu, r.env.torch), ...r.env, runId: basename(dirname(r.file)), date: runIdDate(basename(dirname(r.file))) });
  return out;
}
