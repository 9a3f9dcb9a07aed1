/**
 * What a report is made of. Inputs are read defensively from three kinds of file written by other
 * parts of gac (bench results, `gac scan --json`, `gac-repair.json`); every field that another
 * writer might leave out is optional here, and a figure is built only when its data exists.
 */
import type { TopLevelSpec } from "vega-lite";

/** One measured (or refused) case of a bench run: a line of results*.jsonl. */
export interface BenchRecord {
  suite: string;
  case: string;
  params: BenchParams;
  stats?: BenchStats;
  kernels?: string[];
  error?: { type: string; message: string };
  extra?: { max_abs_diff?: number; [key: string]: unknown };
  gpu: string;
  gpu_index?: number;
  time?: string;
}

export interface BenchParams {
  op?: string;
  head_dim?: number;
  dtype?: string;
  causal?: boolean;
  backend?: string;
  batch?: number;
  heads?: number;
  kv_heads?: number;
  seq?: number;
  q_len?: number;
  kv_len?: number;
  m?: number;
  n?: number;
  k?: number;
  pad_to?: number;
  mode?: string;
  [key: string]: unknown;
}

interface BenchStats {
  median_ms: number;
  p10_ms?: number;
  p90_ms?: number;
  n?: number;
  mean_ms?: number;
  rel_ci?: number;
}

export type { Environment } from "./environment-record.js";
import type { Environment } from "./environment-record.js";

/** One bench run directory: results/<run-id>/. */
export interface BenchRun {
  runId: string;
  dir: string;
  env: Environment;
  records: BenchRecord[];
}

export interface ScanDim {
  id: string;
  role: string;
  name?: string;
  value: number;
  aligned8?: boolean;
  aligned16?: boolean;
}

export interface ScanCall {
  id: string;
  kind: string;
  phase?: string;
  shape?: unknown;
  verdict: string;
  kernel?: string;
  reason?: string;
  source?: string;
  predicted_ms?: number | null;
}

export interface StrategyOutcome {
  param_overhead_pct: number;
  dims_changed?: number;
  predicted_ms?: number | null;
  /** Predicted speedup, percent, when the writer computed it. */
  predicted_speedup_pct?: number | null;
  measured_ms?: number | null;
  measured_speedup_pct?: number | null;
}

/** The parts of `gac scan --json` a report uses. */
export interface ScanDoc {
  file: string;
  /** The name figures and tables give this scan, unique within a report (set by buildReport). */
  label?: string;
  model: { family?: string; model_type?: string; layers?: number; hidden_size?: number; num_heads?: number; num_kv_heads?: number; head_dim?: number; name?: string };
  dims: ScanDim[];
  calls: ScanCall[];
  strategies: Record<string, StrategyOutcome>;
  /** Predicted time of the unrepaired model: the sum of every call's predicted_ms, when all have one. */
  baselineMs?: number | null;
  gpu?: string;
  runtime?: string;
  /** The GPU profile the scan's predicted times come from (`profile` of the scan JSON), when it had one. */
  profile?: { gpu: string; source: string; runs?: string[] };
}

import type { RepairSummary } from "../repair/manifest.js";
import type { EvalDoc, VerifyDoc } from "./accuracy-input.js";
import type { CompressSpeedRun, CompressStudy } from "./compress-study-input.js";

export type { RepairSummary };

export interface ReportInputs {
  runs: BenchRun[];
  scans: ScanDoc[];
  repairs: RepairSummary[];
  /** `gac eval --json` documents (accuracy-input.ts); a compression study's own are in `studies`. */
  evals?: EvalDoc[];
  /** `gac verify --device gpu --json` documents. */
  verifies?: VerifyDoc[];
  /** Compression-study directories (study.json + its eval). */
  studies?: CompressStudy[];
  /** Raw worker output of the study's real-size speed runs. */
  speedRuns?: CompressSpeedRun[];
  /** Things read but left out, said once each ("suite 'X' is not plotted; 12 records ignored"). */
  notes: string[];
}

export interface Figure {
  /** File-safe name: figures/<name>.svg */
  name: string;
  title: string;
  /** One paragraph: what is plotted, how to read it, and the environment. */
  caption: string;
  spec: TopLevelSpec;
}

export interface Table {
  name: string;
  title: string;
  caption: string;
  columns: string[];
  rows: string[][];
  /** The rendered Markdown (header, separator, one line per row). */
  markdown: string;
}

export interface Report {
  title: string;
  /** ISO date the report was built (passed in, so that builds are reproducible). */
  generated: string;
  environments: Environment[];
  figures: Figure[];
  tables: Table[];
  notes: string[];
}

export interface BuildOptions {
  title?: string;
  /** ISO time written into the report as when it was generated; defaults to now. */
  generated?: string;
}
