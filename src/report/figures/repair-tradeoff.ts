/**
 * The seeds' Figure 5: what each repair strategy costs in memory against what it buys in speed, one
 * panel per model (or repair manifest), each with its own scales. From a scan's strategies (speedup
 * predicted from the profile when the scan had one), from repair manifests (their recorded
 * speedups), and from `gac bench model` results: the measured speedup of the model whose name
 * matches the scan's (model-bench.ts). A strategy's predicted (diamond) and measured (circle) points
 * are joined by a thin line, so the gap between the two reads at a glance; strategies that land on
 * the same point are one point with one label ("OPTIMAL = PREDEFINED"). Without any speedup, the
 * figure shows the overhead alone and says so.
 */
import { summarizeModelBench, type ModelBenchSummary } from "../../bench/model-summary.js";
import { environmentSentence } from "../environment.js";
import { placeLabels } from "../label-layout.js";
import { formatMs, formatPct } from "../markdown-table.js";
import { uniq } from "../records.js";
import { chart, chartTitle, makeTable, tip, type Row } from "../spec.js";
import { VEGA_CONFIG, legendValues, panelWidth } from "../style.js";
import type { BenchRecord, Environment, Figure, RepairSummary, ScanDoc, Table } from "../types.js";
import { buildModelBenchTable, measuredAs, predictedSpeedup, scanModelName } from "./model-bench.js";
import { scanLabel, scanSentence, shortPath } from "./scan-dims.js";

export { scanModelName } from "./model-bench.js";

interface Point {
  strategy: string;
  /** The panel: a scan's model, or a repair manifest's path. */
  source: string;
  overhead: number;
  dims: number | null;
  predictedMs: number | null;
  predicted: number | null;
  measured: number | null;
  /** The GPU the measured speedup comes from, when `gac bench model` measured it. */
  measuredOn?: string;
  /** The model has `gac bench model` results (its strategies are in the model-bench table). */
  benched: boolean;
}

/** Strategies at one point of one panel: one marker pair and one label. */
interface Group {
  source: string;
  strategies: string[];
  overhead: number;
  predicted: number | null;
  measured: number | null;
}

/** Okabe-Ito colours dark enough for text labels on white, in the order of the strategies. */
const STRATEGY_COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"];
const PANEL_WIDTH = panelWidth(3, 110);
const PANEL_HEIGHT = 210;
const LABEL_FONT = 11;

function points(scans: ScanDoc[], repairs: RepairSummary[], measured: ModelBenchSummary[]): Point[] {
  const out: Point[] = [];
  for (const scan of scans) {
    const bench = measured.find((m) => m.model === scanModelName(scan));
    for (const [strategy, o] of Object.entries(scan.strategies)) {
      const as = bench ? measuredAs(strategy, scan, bench) : undefined;
      const benchSpeedup = bench && as !== undefined ? (bench.speedup_pct[as] ?? null) : null;
      out.push({
        strategy,
        source: scanLabel(scan),
        overhead: o.param_overhead_pct,
        dims: o.dims_changed ?? null,
        predictedMs: o.predicted_ms ?? null,
        predicted: predictedSpeedup(scan, o),
        measured: benchSpeedup ?? o.measured_speedup_pct ?? null,
        measuredOn: benchSpeedup !== null ? bench?.gpu : undefined,
        benched: bench !== undefined,
      });
    }
  }
  for (const m of repairs) {
    if (m.paramOverheadPct === undefined) continue;
    out.push({
      strategy: m.strategy,
      source: shortPath(m.file),
      overhead: m.paramOverheadPct,
      dims: m.changes.filter((c) => c.from !== c.to).length,
      predictedMs: null,
      predicted: m.predictedSpeedupPct ?? null,
      measured: m.measuredSpeedupPct ?? null,
      benched: false,
    });
  }
  return out;
}

/** Strategies of one panel whose overhead and speedups agree (to what the figure can show) are one group. */
function groupCoinciding(pts: Point[]): Group[] {
  const groups = new Map<string, Group>();
  const fixed = (v: number | null, digits: number) => (v === null ? "-" : v.toFixed(digits));
  for (const p of pts) {
    if (p.predicted === null && p.measured === null) continue;
    const key = [p.source, fixed(p.overhead, 3), fixed(p.predicted, 1), fixed(p.measured, 1)].join("\u0000");
    const g = groups.get(key);
    if (g) g.strategies.push(p.strategy);
    else groups.set(key, { source: p.source, strategies: [p.strategy], overhead: p.overhead, predicted: p.predicted, measured: p.measured });
  }
  return [...groups.values()];
}

/** A domain from zero (or below, for a slowdown) with room above the highest point. */
function domainOf(values: number[], padFrac: number, minPad: number): [number, number] {
  const lo = Math.min(0, ...values);
  const hi = Math.max(0, ...values);
  const pad = Math.max((hi - lo) * padFrac, minPad);
  return [lo < 0 ? lo - pad : 0, hi + pad];
}

/** One panel's rows (points, the predicted-measured link, placed labels) and its layered spec. */
function panel(source: string, groups: Group[], strategyOrder: string[], kinds: string[]): { rows: Row[]; spec: unknown } {
  const xDomain = domainOf(
    groups.map((g) => g.overhead),
    0.25,
    0.05,
  );
  const yDomain = domainOf(
    groups.flatMap((g) => [g.predicted, g.measured].filter((v): v is number => v !== null)),
    0.15,
    1,
  );
  const color = (g: Group) => [...g.strategies].sort((a, b) => strategyOrder.indexOf(a) - strategyOrder.indexOf(b))[0];
  const rows: Row[] = [];
  for (const g of groups) {
    const base = { panel: source, strategy: color(g), label: g.strategies.join(" = "), overhead_pct: g.overhead };
    if (g.predicted !== null) rows.push({ ...base, kind: "predicted", speedup_pct: g.predicted });
    if (g.measured !== null) rows.push({ ...base, kind: "measured", speedup_pct: g.measured });
    if (g.predicted !== null && g.measured !== null) rows.push({ ...base, kind: "link", speedup_pct: g.predicted, speedup2_pct: g.measured });
  }
  const markers = rows.filter((r) => r.kind !== "link").map((r) => ({ x: Number(r.overhead_pct), y: Number(r.speedup_pct) }));
  // Each label beside its group's higher point, so it reads as naming the pair below it.
  const anchors = groups.map((g) => ({ x: g.overhead, y: Math.max(g.predicted ?? -Infinity, g.measured ?? -Infinity), text: g.strategies.join(" = ") }));
  placeLabels(anchors, markers, { xDomain, yDomain, width: PANEL_WIDTH, height: PANEL_HEIGHT, fontSize: LABEL_FONT }).forEach((l, i) => {
    rows.push({ panel: source, strategy: color(groups[i]), kind: "label", label: l.text, overhead_pct: l.x, speedup_pct: l.y });
  });
  const x = { field: "overhead_pct", type: "quantitative", title: "Parameter memory overhead (%)", scale: { domain: xDomain, nice: false }, axis: { tickCount: 4, labelOverlap: true } };
  const y = { field: "speedup_pct", type: "quantitative", title: "Speedup (%)", scale: { domain: yDomain, nice: false } };
  const colorEnc = { field: "strategy", type: "nominal", title: "Strategy", scale: { domain: strategyOrder, range: STRATEGY_COLORS.slice(0, strategyOrder.length) } };
  const only = (kinds: string[]) => [{ filter: { field: "panel", equal: source } }, { filter: { field: "kind", oneOf: kinds } }];
  return {
    rows,
    spec: {
      title: { text: source, fontSize: 12 },
      width: PANEL_WIDTH,
      height: PANEL_HEIGHT,
      layer: [
        { mark: { type: "rule", color: "#999999", strokeDash: [3, 3] }, encoding: { y: { datum: 0, type: "quantitative", scale: { domain: yDomain, nice: false } } } },
        { transform: only(["link"]), mark: { type: "rule", strokeWidth: 1.2, opacity: 0.7 }, encoding: { x, y, y2: { field: "speedup2_pct" }, color: colorEnc } },
        {
          transform: only(["predicted", "measured"]),
          mark: { type: "point", filled: true, size: 110, opacity: 1 },
          encoding: {
            x,
            y,
            color: colorEnc,
            shape: { field: "kind", type: "nominal", title: "Speedup", scale: { domain: ["predicted", "measured"], range: ["diamond", "circle"] }, legend: { values: kinds } },
            tooltip: [tip("label", "Strategy"), tip("panel", "Model"), tip("kind", "Speedup kind"), tip("overhead_pct", "overhead (%)", ".2f"), tip("speedup_pct", "speedup (%)", ".1f")],
          },
        },
        {
          transform: only(["label"]),
          mark: { type: "text", align: "left", baseline: "middle", fontSize: LABEL_FONT },
          encoding: { x, y, text: { field: "label" }, color: { ...colorEnc, legend: null } },
        },
      ],
    },
  };
}

/** "measured = ...; predicted = ..." in words, one line each, so a PNG read alone says what it shows. */
function subtitleLines(scans: ScanDoc[], pts: Point[]): string[] {
  const gpus = uniq(pts.flatMap((p) => (p.measuredOn ? [p.measuredOn] : [])));
  const profiles = uniq(scans.flatMap((s) => (s.profile ? [`the ${s.profile.gpu} profile (${s.profile.source}${s.profile.runs?.length ? `, run ${s.profile.runs.join(", ")}` : ""})`] : [])));
  const lines: string[] = [];
  if (gpus.length > 0) lines.push(`circle measured = sum over the model's kernel calls of median x count on ${gpus.join(", ")} (per-call microbenchmarks, not an end-to-end run)`);
  else if (pts.some((p) => p.measured !== null)) lines.push("circle measured = the speedup recorded in the repair manifest");
  if (profiles.length > 0) lines.push(`diamond predicted = gac scan from ${profiles.join(", ")}`);
  lines.push(
    pts.some((p) => p.predicted !== null && p.measured === null) && pts.some((p) => p.measured !== null)
      ? "a thin line joins a strategy's prediction and measurement (a diamond alone: not measured); strategies on the same point share one label"
      : "strategies on the same point share one label",
  );
  return lines;
}

export function buildRepairTradeoff(scans: ScanDoc[], repairs: RepairSummary[], envs: Environment[], records: readonly BenchRecord[] = []): { figures: Figure[]; tables: Table[] } {
  const summaries = summarizeModelBench(records);
  const pts = points(scans, repairs, summaries);
  const benchTables = buildModelBenchTable(scans, summaries);
  if (pts.length === 0) return { figures: [], tables: benchTables };
  // One sentence for the scans (not one per scan: the profile and GPU are in the subtitle), then the environments cited.
  const scanFiles = scans.map((sc) => shortPath(sc.file));
  const env = [scans.length === 1 ? scanSentence(scans[0]) : scans.length > 1 ? `Scans: ${scanFiles.join(", ")}.` : "", envs.length > 0 ? environmentSentence(envs) : ""]
    .filter(Boolean)
    .map((t) => ` ${t}`)
    .join("");
  const measuredOn = (source: string) => uniq(pts.flatMap((p) => (p.source === source && p.measuredOn ? [p.measuredOn] : [])));
  const sources = `Sources: ${uniq(pts.map((p) => p.source))
    .map((src) => (measuredOn(src).length > 0 ? `${src}, measured on ${measuredOn(src).join(", ")}` : src))
    .join("; ")}.`;
  const groups = groupCoinciding(pts);
  const title = "Repair trade-off: memory overhead vs speedup";
  let figure: Figure;
  if (groups.length > 0) {
    const strategyOrder = uniq(pts.map((p) => p.strategy));
    // The legend names only the kinds drawn: no "measured" entry when nothing was measured.
    const kinds = legendValues(
      ["predicted", "measured"],
      groups.flatMap((g) => [...(g.predicted !== null ? ["predicted"] : []), ...(g.measured !== null ? ["measured"] : [])]),
    );
    const panels = uniq(groups.map((g) => g.source)).map((source) =>
      panel(
        source,
        groups.filter((g) => g.source === source),
        strategyOrder,
        kinds,
      ),
    );
    const columns = panels.length >= 5 || panels.length === 3 ? 3 : Math.min(2, panels.length);
    const subtitle = subtitleLines(scans, pts);
    const spec = {
      title: chartTitle(title, subtitle),
      config: VEGA_CONFIG,
      data: { values: panels.flatMap((p) => p.rows) },
      columns,
      spacing: { row: 20, column: 16 },
      concat: panels.map((p) => p.spec),
      resolve: { scale: { x: "independent", y: "independent", color: "shared", shape: "shared" } },
    };
    const hasMeasured = groups.some((g) => g.measured !== null);
    figure = {
      name: "repair-tradeoff",
      title,
      caption: `Each strategy's parameter memory overhead against its speedup over the unrepaired model, one panel per model with its own scales (${hasMeasured ? "diamonds predicted from the profile, circles measured, a thin line joining the two" : "predicted from the profile; nothing measured yet"}); up and to the left is better; strategies on the same point are one point with one label ("OPTIMAL = PREDEFINED")${pts.some((p) => p.predicted === null && p.measured === null) ? "; inputs without any speedup (e.g. a repair manifest) are listed in the table only" : ""}. ${sources}${env}`,
      // The builders above assemble plain JSON; vega-lite's union types are checked when it compiles.
      spec: spec as Figure["spec"],
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
      spec: chart({
        title: "Repair trade-off: memory overhead per strategy",
        subtitle: "speedup not available: no profile and no measurement",
        rows: overheadRows,
        layer,
        height: Math.max(120, 30 * pts.length),
      }),
    };
  }
  // Models measured by `gac bench model` are in the model-bench table; the rest (scans alone, manifests) here.
  const rest = pts.filter((p) => !p.benched);
  const tableRows = rest.map((p) => [
    p.strategy,
    p.source,
    `${p.overhead.toFixed(2)}%`,
    p.dims === null ? "-" : String(p.dims),
    p.predictedMs === null ? "-" : formatMs(p.predictedMs),
    p.predicted === null ? "-" : formatPct(p.predicted),
    p.measured === null ? "-" : formatPct(p.measured),
  ]);
  const tradeoffTable =
    tableRows.length > 0
      ? [
          makeTable(
            "repair-tradeoff",
            "Repair strategies",
            `Memory overhead and speedup of each strategy. ${sources}${env}`,
            ["Strategy", "Source", "Memory overhead", "Dims changed", "Predicted (ms)", "Predicted speedup", "Measured speedup"],
            tableRows,
          ),
        ]
      : [];
  return { figures: [figure], tables: [...benchTables, ...tradeoffTable] };
}
