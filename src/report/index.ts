/** gac report: figures, tables and an offline HTML page from bench results, scans and repair manifests. */
export { buildReport, REPORTED_SUITES } from "./build.js";
export { loadReportInputs, parseResultsJsonl, parseRunJson, parseScan, parseRepair, detectJsonKind } from "./load.js";
export { renderSvg, renderPng, FONT_FILE, PNG_SCALE } from "./render.js";
export { renderHtml } from "./html.js";
export { renderMarkdown } from "./markdown.js";
export { writeReport, type WriteOptions, type WrittenReport } from "./write.js";
export { alignmentClass, type AlignmentClass } from "./alignment.js";
export type * from "./types.js";
