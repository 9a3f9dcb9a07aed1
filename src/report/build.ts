/**
 * buildReport: inputs -> figures (vega-lite specs), tables (Markdown) and environment blocks. Pure:
 * it renders nothing and reads nothing; a figure appears only when its data exists.
 */
import { buildBackendMatrix } from "./figures/backend-matrix.js";
import { buildGemmThroughput } from "./figures/gemm-throughput.js";
import { buildLatencyVsHeadDim, LATENCY_SUITES } from "./figures/latency-vs-head-dim.js";
import { buildHeterogeneous, buildPaddingRescue } from "./figures/padding-rescue.js";
import { buildRepairTradeoff } from "./figures/repair-tradeoff.js";
import { buildScanDims } from "./figures/scan-dims.js";
import { flattenRuns } from "./records.js";
import type { BuildOptions, Figure, Report, ReportInputs, Table } from "./types.js";

/** Suites a figure is built for; anything else in the results is counted in a note. */
export const REPORTED_SUITES = ["S1", "S2", "C21", "G3", "G4", "P1", "HET1", "decode", "GQA", "model"] as const;

export function buildReport(inputs: ReportInputs, opts: BuildOptions = {}): Report {
  const records = flattenRuns(inputs.runs);
  const notes = [...inputs.notes];
  const unknown = new Map<string, number>();
  for (const r of records) if (!(REPORTED_SUITES as readonly string[]).includes(r.suite)) unknown.set(r.suite, (unknown.get(r.suite) ?? 0) + 1);
  for (const [suite, n] of unknown) notes.push(`suite '${suite}' has no figure yet; its ${n} record(s) were not plotted`);

  const parts = [
    ...LATENCY_SUITES.filter((s) => s.suite === "S1").map((s) => buildLatencyVsHeadDim(s, records)),
    buildBackendMatrix(records),
    ...LATENCY_SUITES.filter((s) => s.suite !== "S1").map((s) => buildLatencyVsHeadDim(s, records)),
    buildGemmThroughput("G3", records),
    buildGemmThroughput("G4", records),
    buildPaddingRescue(records),
    buildHeterogeneous(records),
    buildScanDims(inputs.scans),
    buildRepairTradeoff(inputs.scans, inputs.repairs, [], records),
  ];
  const figures: Figure[] = parts.flatMap((p) => p.figures);
  const tables: Table[] = parts.flatMap((p) => p.tables);
  const environments = inputs.runs.map((r) => r.env);
  const dates = environments
    .map((e) => e.date)
    .filter((d): d is string => typeof d === "string")
    .sort();
  return {
    title: opts.title ?? "gac report: dimensional collapse",
    generated: opts.generated ?? dates[dates.length - 1] ?? "unknown",
    environments,
    figures,
    tables,
    notes,
  };
}
