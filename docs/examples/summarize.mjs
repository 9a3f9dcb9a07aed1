// Prints the README's summary table from trimmed scan reports.
//   node docs/examples/summarize.mjs docs/examples/*.scan.json
import { readFileSync } from "node:fs";
import { basename } from "node:path";

const pct = (x) => (x === null || x === undefined ? "-" : `${x >= 0 ? "+" : ""}${x.toFixed(1)}%`);
const strategy = (s) => (s.refusals.length > 0 && s.dims_changed === 0 ? `refused (${s.refusals.length})` : `${s.param_overhead_pct.toFixed(2)}% / ${pct(s.predicted_speedup_pct)}`);

const rows = [
  "| example | irregular dims (values) | collapsed calls | applicability | unrepaired, predicted | MINIMAL overhead / speedup | OPTIMAL overhead / speedup |",
  "|---|---|---|---|---|---|---|",
];
for (const file of process.argv.slice(2)) {
  const r = JSON.parse(readFileSync(file, "utf8"));
  const s = r.summary;
  const values = s.unique_irregular_values.length > 6 ? `${s.unique_irregular_values.slice(0, 5).join(", ")}, ... (${s.unique_irregular_values.length} values)` : s.unique_irregular_values.join(", ");
  rows.push(
    `| ${basename(file, ".scan.json")} | ${s.irregular_dims}${values ? ` (${values})` : ""} | ${s.collapsed_calls} of ${r.trimmed.calls} | ${s.applicability.verdict} | ${s.predicted_ms.toFixed(1)} ms (${s.predicted_calls} of ${r.trimmed.calls} calls) | ${strategy(r.strategies.MINIMAL)} | ${strategy(r.strategies.OPTIMAL)} |`,
  );
}
process.stdout.write(rows.join("\n") + "\n");
