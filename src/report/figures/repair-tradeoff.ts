/**
 * The seeds' Figure 5: what each repair strategy costs in memory against what it buys in speed. From
 * a scan's strategies (speedup predicted from the profile when the scan had one) and from repair
 * manifests (measured speedup when recorded), and from `gac bench model` results: the measured
 * speedup of the model whose name matches the scan's (`model.name`, else the scan file's name
 * without `scan-` and `.json`). Without any speedup, the figure shows the overhead alone and says so.
 */
import { basename } from "node:path";
import { summarizeModelBench, type ModelBenchSummary } from "../../bench/model-summary.js";
import { environmentSentence } from "../environment.js";
import { formatMs, formatPct } from "../markdown-table.js";
import { uniq } from "../records.js";
import { chart, makeTable, tip, type Row } from "../spec.js";
import type { BenchRecord, Environment, Figure, RepairManifest, ScanDoc, Table } from "../types.js";
import { scanLabel, scanSentence, shortPath } from "./scan-dims.js";

interface Point {
  strategy: string;
  source: string;
  overhead: number;
  dims: number | null;
  predictedMs: number | null;
  predicted: number | null;
  measured: number | null;
}

/** The name `gac bench model` results carry for the model a scan describes. */
export function scanModelName(scan: ScanDoc): string {
  return scan.model.name ?? basename(scan.file).replace(/\.json$/, "").replace(/^scan-/, "").replace(/\.scan$/, "");
}

function points(scans: ScanDoc[], repairs: RepairManifest[], measured: ModelBenchSummary[]): Point[] {
  const out: Point[] = [];
  for (const scan of scans) {
    const bench = measured.find((m) => m.model === scanModelName(scan));
    for (const [strategy, o] of Object.entries(scan.strategies)) {
      const fromMs = typeof scan.baselineMs === "number" && typeof o.predicted_ms === "number" && o.predicted_ms > 0 ? (scan.baselineMs / o.predicted_ms - 1) * 100 : null;
      const source = bench ? `${scanLabel(scan)}, measured on ${bench.gpu}` : scanLabel(scan);
      out.push({ strategy, source, overhead: o.param_overhead_pct, dims: o.dims_changed ?? null, predictedMs: o.predicted_ms ?? null, predicted: o.predicted_speedup_pct ?? fromMs, measured: bench?.speedup_pct[strategy] ?? o.measured_speedup_pct ?? null });
    }
  }
  for (const m of repairs) {
    if (m.paramOverheadPct === undefined) continue;
    out.push({ strategy: m.strategy, source: shortPath(m.file), overhead: m.paramOverheadPct, dims: m.changes.filter((c) => c.from !== c.to).length, predictedMs: null, predicted: m.predictedSpeedupPct ?? null, measured: m.measuredSpeedupPct ?? null });
  }
  return out;
}

export function buildRepairTradeoff(scans: ScanDoc[], repairs: RepairManifest[], envs: Environment[], records: readonly BenchRecord[] = []): { figures: Figure[]; tables: Table[] } {
  const pts = points(scans, repairs, summarizeModelBench(records));
  if (pts.length === 0) return { figures: [], tables: [] };
  const env = [envs.length > 0 ? environmentSentence(envs) : "", ...scans.map(scanSentence)].filter(Boolean).map((t) => ` ${t}`).join("");
  const sources = `Sources: ${uniq(pts.map((p) => p.source)).join(", ")}.`;
  const rows: Row[] = pts.flatMap((p) => {
    const base = { strategy: p.strategy, source: p.source, overhead_pct: p.overhead, dims_changed: p.dims };
    const rs: Row[] = [];
    if (p.predicted !== null) rs.push({ ...base, kind: "predicted", speedup_pct: p.predicted });
    if (p.measured !== null) rs.push({ ...base, kind: "measured", speedup_pct: p.measured });
    // Only one label per strategy and source, on its first point, so labels do not print twice.
    return rs.map((r, i) => ({ ...r, first: i === 0 }));
  });
  // Strategies that land on the same point (OPTIMAL and PREDEFINED often pad to the same sizes) share one label.
  const at = (r: Row) => `${r.kind}\u0000${Number(r.overhead_pct).toFixed(3)}\u0000${Number(r.speedup_pct).toFixed(2)}`;
  const labelled = new Set<string>();
  for (const r of rows) {
    if (!r.first) continue;
    const key = at(r);
    if (labelled.has(key)) {
      r.first = false;
      continue;
    }
    labelled.add(key);
    r.label = uniq(rows.filter((o) => o.first !== undefined && at(o) === key).map((o) => String(o.strategy))).join(" = ");
  }
  const title = "Repair trade-off: memory overhead vs speedup";
  let figure: Figure;
  if (rows.length > 0) {
    const x = { field: "overhead_pct", type: "quantitative", title: "Parameter memory overhead (%)", scale: { domain: [0, Math.max(...rows.map((r) => Number(r.overhead_pct))) * 1.3 + 0.5], nice: false } };
    const y = { field: "speedup_pct", type: "quantitative", title: "Speedup over unrepaired (%)", scale: { zero: true } };
    const layer = [
      { mark: { type: "rule", color: "#999999", strokeDash: [3, 3] }, encoding: { y: { datum: 0 } } },
      {
        mark: { type: "point", filled: true, size: 110, opacity: 1 },
        encoding: {
          x,
          y,
          color: { field: "strategy", type: "nominal", title: "Strategy", scale: { scheme: "tableau10" } },
          shape: { field: "kind", type: "nominal", title: "Speedup", scale: { domain: ["predicted", "measured"], range: ["diamond", "circle"] } },
          tooltip: [tip("strategy", "Strategy"), tip("source", "Source"), tip("kind", "Speedup kind"), tip("overhead_pct", "overhead (%)", ".2f"), tip("speedup_pct", "speedup (%)", ".1f"), tip("dims_changed", "dims changed", "d")],
        },
      },
      { transform: [{ filter: "datum.first" }], mark: { type: "text", dx: 9, align: "left", fontSize: 12 }, encoding: { x, y, text: { field: "label" } } },
    ];
    const hasMeasured = rows.some((r) => r.kind === "measured");
    figure = {
      name: "repair-tradeoff",
      title,
      caption: `Each strategy's parameter memory overhead against its speedup (${hasMeasured ? "diamonds predicted from the profile, circles measured" : "predicted from the profile; nothing measured yet"}); up and to the left is better; strategies on the same point share a label${pts.some((p) => p.predicted === null && p.measured === null) ? "; inputs without any speedup (e.g. a repair manifest) are listed in the table only" : ""}. ${sources}${env}`,
      spec: chart({ title, subtitle: scans.flatMap((sc) => (sc.profile ? [`${scanLabel(sc)}: predicted from the ${sc.profile.gpu} profile (${sc.profile.source})`] : [])), rows, layer }),
    };
  } else {
    const overheadRows: Row[] = pts.map((p) => ({ strategy: p.strategy, source: p.source, overhead_pct: p.overhead, dims_changed: p.dims, label: `${p.overhead.toFixed(2)}%` }));
    const manySources = uniq(pts.map((p) => p.source)).length > 1;
    const y = { field: "strategy", type: "nominal", title: "Strategy", sort: { field: "overhead_pct" } };
    const yOffset = manySources ? { field: "source" } : undefined;
    const x = { field: "overhead_pct", type: "quantitative", title: "Parameter memory overhead (%)", scale: { domain: [0, Math.max(...pts.map((p) => p.overhead)) * 1.15 + 0.05], nice: false } };
    const layer = [
      {
        mark: { type: "bar", color: "#0072B2" },
        encoding: {
          y,
          x,
          yOffset,
          ...(manySources ? { color: { field: "source", type: "nominal", title: "Source", scale: { range: ["#0072B2", "#009E73", "#CC79A7", "#56B4E9"] } } } : {}),
          tooltip: [tip("strategy", "Strategy"), tip("source", "Source"), tip("overhead_pct", "overhead (%)", ".2f"), tip("dims_changed", "dims changed", "d")],
        },
      },
      { mark: { type: "text", dx: 4, align: "left", fontSize: 12 }, encoding: { y, yOffset, x, text: { field: "label" } } },
    ];
    figure = {
      name: "repair-tradeoff",
      title: "Repair trade-off: memory overhead per strategy",
      caption: `Parameter memory overhead of each strategy. No speedup is plotted: no strategy has a predicted time (the scan had no profile for its GPU, so predicted_ms is null) and no measured speedup was recorded. ${sources}${env}`,
      spec: chart({ title: "Repair trade-off: memory overhead per strategy", subtitle: "speedup not available: no profile and no measurement", rows: overheadRows, layer, height: Math.max(120, 30 * pts.length) }),
    };
  }
  const tableRows = pts.map((p) => [p.strategy, p.source, `${p.overhead.toFixed(2)}%`, p.dims === null ? "-" : String(p.dims), p.predictedMs === null ? "-" : formatMs(p.predictedMs), p.predicted === null ? "-" : formatPct(p.predicted), p.measured === null ? "-" : formatPct(p.measured)]);
  return { figures: [figure], tables: [makeTable("repair-tradeoff", "Repair strategies", `Memory overhead and speedup of each strategy. ${sources}${env}`, ["Strategy", "Source", "Memory overhead", "Dims changed", "Predicted (ms)", "Predicted speedup", "Measured speedup"], tableRows)] };
}
