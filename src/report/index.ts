/** gac report: figures, tables and an offline HTML page from bench results, scans and repair manifests. */
export { buildReport, REPORTED_SUITES } from "./build.js";
export { loadReportInputs, parseResultsJsonl, parseRunJson, parseScan, parseRepair, detectJsonKind } from "./load.js";
export { renderSvg, renderPng, toVegaSpec, figureView, FONT_FILE, PNG_SCALE } from "./render.js";
export * as style from "./style.js";
export { gpuBarLayers, barPanelHeight } from "./bars.js";
export { chart, chartTitle, makeTable, tip, paddedDomain, type ChartParts, type Row } from "./spec.js";
export { environmentSentence, describeEnvironment, NOT_RECORDED } from "./environment.js";
export { environmentsOf, type FlatRecord } from "./records.js";
export { renderHtml } from "./html.js";
export { renderMarkdown } from "./markdown.js";
export { writeReport, type WriteOptions, type WrittenReport } from "./write.js";
export { alignmentClass, type AlignmentClass } from "./alignment.js";
export type * from "./types.js";
