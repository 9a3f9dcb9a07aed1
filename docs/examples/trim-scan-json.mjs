// Trims a `gac scan --json` report (schema gac-scan/1) for committing: the per-dim and per-call
// arrays (1,538 calls and 544 dims for the real-scale PaLU, 1.2 MB) become one entry per distinct
// dim value and per distinct call, with counts. Everything else is kept as scan wrote it.
//
//   node docs/examples/trim-scan-json.mjs <full.scan.json> <repo root to strip from paths>  > trimmed.json
import { readFileSync } from "node:fs";

const [file, root] = process.argv.slice(2);
const text = readFileSync(file, "utf8");
const report = JSON.parse(root ? text.split(root.endsWith("/") ? root : root + "/").join("") : text);

/** Groups `items` by `keyOf`, keeping the first item's fields, a count and up to 3 example ids. */
function grouped(items, keyOf, drop) {
  const groups = new Map();
  for (const item of items) {
    const key = keyOf(item);
    const g = groups.get(key);
    if (g) {
      g.count += 1;
      if (g.example_ids.length < 3) g.example_ids.push(item.id);
      continue;
    }
    const kept = Object.fromEntries(Object.entries(item).filter(([k]) => !drop.includes(k)));
    groups.set(key, { ...kept, count: 1, example_ids: [item.id] });
  }
  return [...groups.values()];
}

const { dims, calls, ...rest } = report;
const dimsGrouped = grouped(dims, (d) => JSON.stringify([d.name, d.value]), ["id", "role"]);
const callsGrouped = grouped(calls, (c) => JSON.stringify([c.phase, c.kind, c.shape, c.dtype, c.verdict, c.kernel]), ["id", "layer", "role"]);
const trimmed = {
  ...rest,
  trimmed: {
    note: "dims and calls grouped by value / by (phase, kind, shape, dtype, verdict, kernel); the full report: run the command in docs/examples/README.md",
    dims: dims.length,
    calls: calls.length,
  },
  dims_grouped: dimsGrouped,
  calls_grouped: callsGrouped,
};
process.stdout.write(JSON.stringify(trimmed, null, 1) + "\n");
