/** `gac/report`: bench results, scans and repair manifests -> figures, tables and an HTML page (pulls in vega and resvg). */
export { buildReport, loadReportInputs, writeReport, type WriteOptions, type WrittenReport } from "./report/index.js";
export type { Report, ReportInputs, Figure, Table } from "./report/types.js";
