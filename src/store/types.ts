/**
 * What the results store holds (docs/results-format.md): one run.json per run directory and one
 * JSON line per finished case in results*.jsonl.
 */
import type { CapabilityOk, Stats } from "../bench/protocol.js";
import type { ParamValue } from "../bench/suites.js";

export interface RunInfo {
  run_id: string;
  /** ISO date the run directory was first written. */
  created: string;
  /** The command line, e.g. "gac bench S1 S2 --gpus 0,1". */
  command: string;
  /** `git rev-parse HEAD` of the gac checkout, or null outside a checkout. */
  git_commit: string | null;
  host: string;
  /** The capability message of the first GPU's worker: GPU, driver, torch, CUDA, cuDNN. */
  capability: CapabilityOk;
  suites: string[];
  gpus: number[];
  quick: boolean;
  /** Later invocations that added cases to this run (`--resume`, or the same `--out`). */
  resumes?: { time: string; command: string; git_commit: string | null; gpus: number[] }[];
}

export interface ResultRecord {
  suite: string;
  case: string;
  params: Record<string, ParamValue>;
  /** Absent when the case was refused or failed. */
  stats?: Stats;
  samples_ms?: number[];
  kernels?: string[];
  /** Worker outcome other than a measurement: backend_refused, oom, bad_job, internal. */
  error?: { type: string; message: string };
  extra?: Record<string, unknown>;
  stop_reason?: string;
  method?: Record<string, unknown>;
  warnings?: string[];
  sm_clock_mhz?: Record<string, unknown>;
  dropped_throttled?: number;
  gpu: string;
  gpu_index: number;
  /** ISO date the case finished. */
  time: string;
  /** Wall time of the whole job as the orchestrator saw it (worker warm-up and stopping rule included). */
  wall_ms: number;
}

/** A record as loaded, with the run it came from. */
export interface LoadedRecord extends ResultRecord {
  run_id: string;
}

/** An unfinished last line (a killed run): ignored by readers, cut off before appending. */
export interface TruncatedTail {
  file: string;
  line: number;
  bytes: number;
}
