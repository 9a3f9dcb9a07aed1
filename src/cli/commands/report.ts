/** gac report: bench results, scans and repair manifests -> figures, tables and an offline HTML page. */
import { booleanValue, defineCommand, stringValue } from "../command.js";
import { JSON_SCHEMAS, printJson } from "../json-output.js";
import { GacError } from "../../errors.js";
import { resolve } from "node:path";

export const reportCommand = defineCommand({
  name: "report",
  summary: "Plot bench results, scans and repair manifests into an HTML page, SVG/PNG figures and Markdown tables",
  options: {
    out: { type: "string", short: "o", description: "Output directory (replaced atomically if it holds an earlier report)", valueName: "<dir>" },
    title: { type: "string", description: "Report title", valueName: "<text>" },
    json: { type: "boolean", description: "Print what was written as JSON" },
  },
  positionals: [{ name: "inputs", description: "results dirs (or a parent such as results/), scan JSON files, gac-repair.json manifests", required: true, variadic: true }],
  examples: ["gac report results/ --out report/", "gac report results/2026-01-19-h100 scan.json out-model/gac-repair.json -o report/"],
  async run({ values, positionals, io }) {
    const out = stringValue(values, "out");
    if (!out) throw new GacError("BAD_ARGS", "missing --out <dir> (see `gac report --help`)");
    // Loaded on use: the renderer pulls in vega and resvg, which the GPU machine (bench only) need not carry.
    const { buildReport, loadReportInputs, writeReport } = await import("../../report/index.js");
    const inputs = await loadReportInputs(positionals.map((p) => resolve(io.cwd, p)));
    const report = buildReport(inputs, { title: stringValue(values, "title") });
    for (const note of report.notes) io.err(`note: ${note}\n`);
    const written = await writeReport(report, resolve(io.cwd, out));
    if (booleanValue(values, "json")) {
      printJson(io, JSON_SCHEMAS.report, { out_dir: written.outDir, index_html: `${written.outDir}/index.html`, figures: report.figures.length, tables: report.tables.length, notes: report.notes });
    } else io.out(`wrote ${written.outDir}: ${report.figures.length} figure(s), ${report.tables.length} table(s); open ${written.outDir}/index.html\n`);
    return 0;
  },
});
