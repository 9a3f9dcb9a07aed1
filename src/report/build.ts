/**
 * buildReport: inputs -> figures (vega-lite specs), tables (Markdown) and environment blocks. It
 * renders nothing and reads no file (only the clock, for `generated` when not given); a figure
 * appears only when its data exists.
 */
import { buildBackendMatrix } from "./figures/backend-matrix.js";
import { buildE2eFigure } from "./figures/e2e.js";
import { buildGemmThroughput } from "./figures/gemm-throughput.js";
import { buildLatencyVsHeadDim, LATENCY_SUITES } from "./figures/latency-vs-head-dim.js";
import { buildHeterogeneous, buildPaddingRescue } from "./figures/padding-rescue.js";
import { buildRepairTradeoff } from "./figures/repair-tradeoff.js";
import { buildScanDims, labelScans } from "./figures/scan-dims.js";
import { buildAccuracy } from "./figures/accuracy.js";
import { buildCompressStudy } from "./figures/compress-study.js";
import { fileEnvironments } from "./file-environments.js";
import { environmentsOf, flattenRuns } from "./records.js";
import type { BuildOptions, Figure, Report, ReportInputs, Table } from "./types.js";

/** Suites a figure is built for; anything else in the results is counted in a note. */
export const REPORTED_SUITES = ["S1", "S2", "C21", "G3", "G4", "P1", "HET1", "decode", "GQA", "model", "e2e", "e2e_logits"] as const;

export function buildReport(inputs: ReportInputs, opts: BuildOptions = {}): Report {
  // One environment block per run, E1, E2, ... in input order; captions cite these names.
  const runs = inputs.runs.map((r, i) => ({ ...r, env: { ...r.env, runId: r.env.runId ?? r.runId, ref: `E${i + 1}` } }));
  const records = flattenRuns(runs);
  const fileEnvs = fileEnvironments(inputs, runs.length + 1);
  const envOf = (file: string) => fileEnvs.get(file);
  const gpuLabels = records.map((r) => r.gpuLabel);
  const scans = labelScans(inputs.scans);
  const notes = [...inputs.notes];
  if ((inputs.studies?.length ?? 0) > 1) notes.push(`${inputs.studies?.length} compression studies were given; only the first (${inputs.studies?.[0].file}) is drawn`);
  const unknown = new Map<string, number>();
  for (const r of records) if (!(REPORTED_SUITES as readonly string[]).includes(r.suite)) unknown.set(r.suite, (unknown.get(r.suite) ?? 0) + 1);
  for (const [suite, n] of unknown) notes.push(`suite '${suite}' has no figure yet; its ${n} record(s) were not plotted`);

  // The end-to-end result leads: whole models, where the user feels a repair.
  const parts = [
    buildE2eFigure(records),
    ...LATENCY_SUITES.filter((s) => s.suite === "S1").map((s) => buildLatencyVsHeadDim(s, records)),
    buildBackendMatrix(records),
    ...LATENCY_SUITES.filter((s) => s.suite !== "S1").map((s) => buildLatencyVsHeadDim(s, records)),
    buildGemmThroughput("G3", records),
    buildGemmThroughput("G4", records),
    buildPaddingRescue(records),
    buildHeterogeneous(records),
    buildScanDims(scans),
    buildRepairTradeoff(scans, inputs.repairs, environmentsOf(records.filter((r) => r.suite === "model")), records),
    // Accuracy and the compression study: inputs that are not bench runs, each with its own environment block.
    buildAccuracy(inputs.evals ?? [], inputs.verifies ?? [], envOf, gpuLabels),
    buildCompressStudy(inputs.studies ?? [], inputs.speedRuns ?? [], envOf, gpuLabels),
  ];
  const figures: Figure[] = parts.flatMap((p) => p.figures);
  const tables: Table[] = parts.flatMap((p) => p.tables);
  const environments = [...runs.map((r) => r.env), ...new Set(fileEnvs.values())];
  return {
    title: opts.title ?? "gac report: dimensional collapse",
    generated: opts.generated ?? `${new Date().toISOString().slice(0, 19)}Z`,
    environments,
    figures,
    tables,
    notes,
  };
}
