/**
 * Suite e2e (`gac bench e2e`, or a committed sweep of raw worker output): each repair's end-to-end
 * speedup over its unrepaired model, per engine configuration and grid point, with the dense
 * parent beside it, as a figure and a table of the same numbers.
 *
 * The figure is a dot plot, one panel per compressed checkpoint (stacked, each as tall as its
 * rows): a row per (grid point, engine configuration), prefill first; on it each repair's measured
 * speedup as a point in the GPU's colour and shape (style.ts), its p10-p90 spread as a rule, and
 * its value in a column at the right edge; the dense parent a grey tick on the same row. The x axis is shared
 * by every panel (log scale, 1x = no change); the region below 1x is shaded, and a slowdown's value
 * is written in red and bold, so a repair that makes the model slower reads as such. No line joins
 * two points: every point is its own configuration.
 */
import type { TopLevelSpec } from "vega-lite";
import { readE2eRows, speedup, type E2eMeasurement } from "../../bench/e2e/measurements.js";
import { environmentSentence } from "../environment.js";
import { formatMs } from "../markdown-table.js";
import { environmentsOf, uniq, type FlatRecord } from "../records.js";
import { chartTitle, makeTable, tip, type Row } from "../spec.js";
import { gpuMarkEncoding, gpuPalette, gpuStroke, MAX_FIGURE_WIDTH, VEGA_CONFIG } from "../style.js";
import type { Environment, Figure, Table } from "../types.js";

/** Repairs in the order strategies are usually given; the dense parent after them. */
const VARIANT_ORDER = ["MINIMAL", "OPTIMAL", "PREDEFINED", "TRADEOFF"];
export const PARENT = "dense parent";
/** Engine configurations in reading order: stock transformers as people run it, then its fixes, then gac's engine. */
const CONFIG_ORDER = [
  "transformers/sdpa/dynamic",
  "transformers/sdpa-nocudnn/dynamic",
  "transformers/sdpa-avoid-recompile/dynamic",
  "transformers/sdpa/static",
  "transformers/eager/dynamic",
  "transformers/eager/static",
  "gac/eager/static",
  "gac/eager-nocudnn/static",
  "gac/graph/static",
  "gac/graph-splitkv/static",
];
/** A slowdown's value is written in this colour (and bold); the shaded region below 1x has its tint. */
export const SLOWER_COLOR = "#B2182B";
const SLOWER_TINT = "#F4D3CF";
const PARENT_COLOR = "#555555";
/** Pixels per repair sub-row; a panel is as tall as its rows. */
const ROW_STEP = 15;
/**
 * Room for the row labels ("decode 32×1024 · HF sdpa, avoid-recompile", 42 characters). The PNG
 * renderer measures no text: it reckons 0.8 em a character, so the limit is set for that.
 */
const LABEL_WIDTH = 372;
const PLOT_WIDTH = MAX_FIGURE_WIDTH - LABEL_WIDTH - 60;
/** Room right of the largest spread for the column of values, in px. */
const LABEL_ROOM = 110;

/**
 * "transformers/sdpa-nocudnn/dynamic" -> "HF sdpa, cuDNN off" (HF: stock Hugging Face transformers,
 * said in the caption); a cache other than the engine's usual one is named.
 */
export function configLabel(config: string): string {
  const [engine, cfg, cache] = config.split("/");
  const words: Record<string, string> = {
    "sdpa-nocudnn": "sdpa, cuDNN off",
    "sdpa-avoid-recompile": "sdpa, avoid-recompile",
    graph: "CUDA graph",
    "eager-nocudnn": "eager, cuDNN off",
    "graph-splitkv": "CUDA graph, split-KV",
  };
  const usualCache = engine === "gac" ? "static" : "dynamic";
  return `${engine === "transformers" ? "HF" : engine} ${words[cfg] ?? cfg}${cache && cache !== usualCache ? `, ${cache} cache` : ""}`;
}

/** "prefill 1×2048" (batch × prompt tokens), "decode 32×1024" (batch × context before the first step). */
function pointLabel(m: Pick<E2eMeasurement, "phase" | "batch" | "length">): string {
  return `${m.phase} ${m.batch}×${m.length}`;
}

/** A speedup that prints below 1.00×: the repair made the model slower. */
export const SLOWER_BELOW = 0.995;

function configRank(config: string): number {
  const i = CONFIG_ORDER.indexOf(config);
  return i >= 0 ? i : CONFIG_ORDER.length;
}

/** One measured speedup: a repair (or the dense parent) against the unrepaired model at one configuration and point. */
export interface SpeedupPoint {
  checkpoint: string;
  /** "MINIMAL", "OPTIMAL", ... or PARENT. */
  variant: string;
  /** The model label measured ("llama3-8b-direct-svd/MINIMAL", "llama3-8b-dense"). */
  model: string;
  config: string;
  config_label: string;
  phase: "prefill" | "decode";
  point: string;
  /** The panel's row: "prefill 1×2048 · transformers sdpa". */
  row: string;
  /** Sort key of the row: phase, then tokens (batch × length) and batch, then configuration. */
  order: number;
  gpu: string;
  speedup: number;
  lo: number;
  hi: number;
  median_ms: number;
  p10_ms: number;
  p90_ms: number;
  unrepaired_ms: number;
  unrepaired_p10_ms: number;
  unrepaired_p90_ms: number;
  /** Below 1x: the repair (or the parent) is slower than the unrepaired model. */
  slower: boolean;
  label: string;
}

function variantRank(v: string): number {
  const i = VARIANT_ORDER.indexOf(v);
  return v === PARENT ? VARIANT_ORDER.length + 1 : i >= 0 ? i : VARIANT_ORDER.length;
}

/** Speedups of every repair and of the matching dense parent over the unrepaired model, per configuration and point. */
export function e2eSpeedupPoints(records: readonly FlatRecord[]): SpeedupPoint[] {
  const rows = records.filter((r) => r.suite === "e2e");
  const { measurements } = readE2eRows(rows.map((r) => ({ ...r, gpu: r.gpuLabel })));
  const baseOf = new Map(rows.map((r) => [String(r.params.model), String(r.params.base_model ?? "")]));
  const out: SpeedupPoint[] = [];
  for (const base of measurements.filter((m) => m.role === "checkpoint" && m.variant === "none")) {
    const same = (m: E2eMeasurement) => m.config === base.config && m.point === base.point && m.gpu === base.gpu;
    const baseShape = baseOf.get(base.model) ?? "";
    const others = measurements.filter(
      (m) => same(m) && ((m.role === "checkpoint" && m.checkpoint === base.checkpoint && m.variant !== "none") || (m.role === "parent" && baseShape !== "" && baseOf.get(m.model) === baseShape)),
    );
    for (const m of others) {
      const s = speedup(base, m);
      const variant = m.role === "parent" ? PARENT : m.variant;
      const point = pointLabel(base);
      out.push({
        checkpoint: base.checkpoint,
        variant,
        model: m.model,
        config: base.config,
        config_label: configLabel(base.config),
        phase: base.phase,
        point,
        row: `${point} · ${configLabel(base.config)}`,
        order: (base.phase === "prefill" ? 0 : 1e15) + base.batch * base.length * 1e4 + base.batch * 100 + configRank(base.config),
        gpu: base.gpu,
        speedup: s.x,
        lo: s.lo,
        hi: s.hi,
        median_ms: m.median_ms,
        p10_ms: m.p10_ms,
        p90_ms: m.p90_ms,
        unrepaired_ms: base.median_ms,
        unrepaired_p10_ms: base.p10_ms,
        unrepaired_p90_ms: base.p90_ms,
        slower: s.x < SLOWER_BELOW,
        label: `${variant === PARENT ? "parent" : variant} ${s.x.toFixed(2)}×`,
      });
    }
  }
  // Checkpoints in the order the run measured them (the committed sweep puts the most telling first).
  const measured = uniq(measurements.map((m) => m.checkpoint));
  return out.sort((a, b) => measured.indexOf(a.checkpoint) - measured.indexOf(b.checkpoint) || a.order - b.order || variantRank(a.variant) - variantRank(b.variant));
}

/** The x domain every panel shares: all spreads, 1x, and room right of the largest for its label. */
function sharedDomain(points: readonly SpeedupPoint[]): [number, number] {
  const lo = Math.min(1, ...points.map((p) => p.lo)) / 1.15;
  const hi = Math.max(1, ...points.map((p) => p.hi)) * 1.1;
  const span = Math.log(hi / lo);
  const total = span / (1 - LABEL_ROOM / PLOT_WIDTH);
  return [lo, lo * Math.exp(total)];
}

/** Ticks at 1-2-3-5 steps over the measured range (none over the column of values): 0.2×, 0.3×, 0.5×, 1×, 2×, 3×. */
function logTicks(points: readonly SpeedupPoint[], [lo]: [number, number]): number[] {
  const hi = Math.max(1, ...points.map((p) => p.hi)) * 1.1;
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) for (const m of [1, 2, 3, 5]) ticks.push(m * 10 ** e);
  return ticks.filter((t) => t >= lo && t <= hi);
}

/** The command behind the rows: what run.json recorded, or the worker command of raw output. */
function commandSentence(envs: readonly Environment[]): string {
  // A trailing "(...)" is a remark on the command (where the run's README is), not part of it.
  const quoted = (c: string) => c.replace(/^(.*?)( \([^()]*\))?$/, (_, cmd: string, remark = "") => `\`${cmd}\`${remark}`);
  const commands = uniq(envs.map((e) => (e.command ? quoted(e.command) : `run ${e.runId ?? e.gpu} (command not recorded)`)));
  return commands.join("; ");
}

function panel(
  checkpoint: string,
  points: readonly SpeedupPoint[],
  domain: [number, number],
  ticks: number[],
  palette: ReturnType<typeof gpuPalette>,
  gpus: readonly string[],
  bottom: boolean,
): unknown {
  const repairs = points.filter((p) => p.variant !== PARENT);
  const parents = points.filter((p) => p.variant === PARENT);
  const rows = uniq([...points].sort((a, b) => a.order - b.order).map((p) => p.row));
  const variants = uniq(repairs.map((p) => p.variant)).sort((a, b) => variantRank(a) - variantRank(b));
  const x = {
    type: "quantitative",
    scale: { type: "log", domain, nice: false, clamp: true },
    axis: bottom
      ? { title: "Speedup over the unrepaired model (×, log scale; shaded: slower)", values: ticks, labelExpr: "format(datum.value, '~g') + '×'", grid: true }
      : { title: null, values: ticks, labels: false, ticks: false, grid: true },
  };
  const y = { field: "row", type: "nominal", title: null, sort: rows, axis: { labelLimit: LABEL_WIDTH, ticks: false, domain: false, labelFontSize: 10.5 } };
  const yOffset = { field: "variant", type: "nominal", sort: variants, scale: { domain: variants, paddingInner: 0.1 } };
  const tooltip = [
    tip("checkpoint", "Checkpoint"),
    tip("variant", "Model"),
    tip("config_label", "Configuration"),
    tip("point", "Point"),
    tip("gpu", "GPU"),
    tip("median_ms", "median (ms)", ".3f"),
    tip("unrepaired_ms", "unrepaired median (ms)", ".3f"),
    tip("speedup", "speedup (×)", ".3f"),
    tip("lo", "spread low (×)", ".3f"),
    tip("hi", "spread high (×)", ".3f"),
  ];
  const data = (values: readonly SpeedupPoint[]) => ({ values: values as unknown as Row[] });
  return {
    title: { text: checkpoint, anchor: "start", frame: "group", fontSize: 12, offset: 4 },
    width: PLOT_WIDTH,
    height: rows.length * Math.max(1, variants.length) * ROW_STEP,
    layer: [
      { data: { values: [{}] }, mark: { type: "rect", color: SLOWER_TINT, opacity: 0.45 }, encoding: { x: { ...x, datum: domain[0] }, x2: { datum: 1 } } },
      { data: { values: [{}] }, mark: { type: "rule", color: "#777777", strokeDash: [4, 3] }, encoding: { x: { ...x, datum: 1 } } },
      ...(parents.length > 0
        ? [
            {
              data: data(parents),
              mark: { type: "tick", thickness: 2.5, color: PARENT_COLOR, opacity: 0.9 },
              encoding: {
                x: { ...x, field: "speedup" },
                y,
                strokeDash: {
                  field: "variant",
                  type: "nominal",
                  title: null,
                  scale: { domain: [PARENT], range: [[1, 0]] },
                  // The symbol is a filled bar (a stroke-dash legend draws no stroke colour).
                  legend: { symbolType: "M-0.25,-1H0.25V1H-0.25Z", symbolFillColor: PARENT_COLOR, symbolStrokeWidth: 0, labelExpr: "'dense parent (grey tick)'" },
                },
                tooltip,
              },
            },
          ]
        : []),
      { data: data(repairs), mark: { type: "rule", strokeWidth: 1.4 }, encoding: { x: { ...x, field: "lo" }, x2: { field: "hi" }, y, yOffset, stroke: gpuStroke(palette) } },
      {
        data: data(repairs),
        mark: { type: "point", size: 55, strokeWidth: 1.5, fillOpacity: 1, opacity: 1 },
        encoding: { x: { ...x, field: "speedup" }, y, yOffset, ...gpuMarkEncoding(palette, gpus), tooltip },
      },
      // Values in a column at the panel's right edge (as a forest plot's), clear of every mark; a slowdown's in red and bold.
      ...[false, true].map((slower) => ({
        data: data(repairs.filter((p) => p.slower === slower)),
        mark: { type: "text", align: "right", baseline: "middle", dx: -4, fontSize: 10, color: slower ? SLOWER_COLOR : "#222222", fontWeight: slower ? "bold" : "normal" },
        encoding: { x: { ...x, datum: domain[1] }, y, yOffset, text: { field: "label" }, tooltip },
      })),
    ],
  };
}

/** Checkpoints that have an unrepaired measurement but no repair to set against it (said in the caption). */
function withoutRepairs(records: readonly FlatRecord[], points: readonly SpeedupPoint[]): string[] {
  const have = new Set(points.filter((p) => p.variant !== PARENT).map((p) => p.checkpoint));
  const measured = records.filter((r) => r.suite === "e2e" && r.stats && r.params.role === "checkpoint" && r.params.variant === "none").map((r) => String(r.params.checkpoint));
  return uniq(measured).filter((c) => !have.has(c));
}

const ms = (m: number, lo: number, hi: number) => `${formatMs(m)} (${formatMs(lo)}-${formatMs(hi)})`;
const speedText = (p: SpeedupPoint) => `${p.speedup.toFixed(2)}× (${p.lo.toFixed(2)}-${p.hi.toFixed(2)})${p.slower ? " slower" : ""}`;

function speedupTable(points: readonly SpeedupPoint[], caption: string): Table {
  const variants = uniq(points.map((p) => p.variant).filter((v) => v !== PARENT)).sort((a, b) => variantRank(a) - variantRank(b));
  const key = (p: SpeedupPoint) => `${p.checkpoint}\u0000${p.row}\u0000${p.gpu}`;
  const groups = new Map<string, SpeedupPoint[]>();
  for (const p of points) groups.set(key(p), [...(groups.get(key(p)) ?? []), p]);
  const rows = [...groups.values()].map((g) => {
    const first = g[0];
    const cell = (v: string) => {
      const p = g.find((q) => q.variant === v);
      return p ? `${ms(p.median_ms, p.p10_ms, p.p90_ms)}, ${speedText(p)}` : "-";
    };
    return [first.checkpoint, first.config_label, first.point, ms(first.unrepaired_ms, first.unrepaired_p10_ms, first.unrepaired_p90_ms), ...variants.map(cell), cell(PARENT), first.gpu];
  });
  return makeTable(
    "e2e-speedup",
    "End to end: speedup of each repair",
    caption,
    ["Checkpoint", "Configuration", "Point", "Unrepaired ms (p10-p90)", ...variants.map((v) => `${v}: ms (p10-p90), speedup (spread)`), "Dense parent: ms (p10-p90), speedup (spread)", "GPU"],
    rows,
  );
}

export function buildE2eFigure(records: readonly FlatRecord[]): { figures: Figure[]; tables: Table[] } {
  const points = e2eSpeedupPoints(records);
  if (points.filter((p) => p.variant !== PARENT).length === 0) return { figures: [], tables: [] };
  const e2eRecords = records.filter((r) => r.suite === "e2e");
  const envs = environmentsOf(e2eRecords as FlatRecord[]);
  const palette = gpuPalette(records.map((r) => r.gpuLabel));
  const gpus = uniq(points.map((p) => p.gpu));
  const domain = sharedDomain(points);
  const checkpoints = uniq(points.filter((p) => p.variant !== PARENT).map((p) => p.checkpoint));
  const weights = uniq(e2eRecords.map((r) => String(r.params.weights ?? r.extra?.weights ?? "")).filter((w) => w !== ""));
  const weightsText = weights.length === 1 ? `${weights[0]} weights` : `weights ${weights.join(" / ") || "not recorded"}`;
  const samplesOf = (phase: string) => uniq(e2eRecords.filter((r) => r.params.phase === phase && r.stats?.n !== undefined).map((r) => Number(r.stats?.n))).sort((a, b) => a - b);
  const samples = ["prefill", "decode"].filter((ph) => samplesOf(ph).length > 0).map((ph) => `${samplesOf(ph).join(" or ")} ${ph === "prefill" ? "forwards" : "steps"} per ${ph} point`);
  const missing = withoutRepairs(records, points);
  const measuredOn = `Measured end to end on ${gpus.join(", ")}, ${weightsText}, ${commandSentence(envs)}.`;
  const how =
    "Speedup = the unrepaired model's median time / the repair's median time at the same engine configuration and grid point (prefill b×s: one forward of batch b × s prompt tokens, the time to first token; decode b×c: one step of one token per sequence after a cache of c tokens); " +
    `the rule through a point is the spread (unrepaired p10 / repair p90 to unrepaired p90 / repair p10; ${samples.join(", ")}), its value is written at the right, in red and bold when below 1× (slower than unrepaired; the shaded region). ` +
    "The grey tick is the dense parent of the same shapes at the same configuration and point (above 1×: the parent is faster than the unrepaired model). " +
    "HF: stock Hugging Face transformers (AutoModelForCausalLM), dynamic cache unless named (sdpa: PyTorch's default backend order, which picks cuDNN at an aligned head_dim on sm90 and re-plans it per KV length in decode; cuDNN off: the same with cuDNN SDPA disabled); gac: gac's engine with a preallocated cache, decode eager or captured in a CUDA graph (split-KV: gac's own attention, two GEMMs and a softmax with the P·V reduction split along the cache, instead of SDPA). Points are never joined: each is its own configuration. A panel without OPTIMAL measured none (where OPTIMAL gives MINIMAL's shapes, a sweep runs the model once).";
  const caption = `${measuredOn} ${how}${missing.length > 0 ? ` Not drawn (no repaired model measured): ${missing.join(", ")}.` : ""} ${environmentSentence(envs)}`;
  const title = chartTitle("End to end: speedup of each repair over the unrepaired model", [`${gpus.join(", ")}; ${weightsText}; one panel per compressed checkpoint`]);
  const spec = {
    title,
    config: { ...VEGA_CONFIG, legend: { ...VEGA_CONFIG.legend, columns: 2 } },
    vconcat: checkpoints.map((c, i) =>
      panel(
        c,
        points.filter((p) => p.checkpoint === c),
        domain,
        logTicks(points, domain),
        palette,
        gpus,
        i === checkpoints.length - 1,
      ),
    ),
    spacing: 14,
    resolve: { scale: { x: "shared", y: "independent", yOffset: "independent" } },
  } as unknown as TopLevelSpec;
  return {
    figures: [{ name: "e2e-speedup", title: "End to end: speedup of each repair", caption, spec }],
    tables: [
      speedupTable(points, `The numbers of the end-to-end figure. ${measuredOn} Speedup (spread) as in the figure; "slower" marks a speedup that prints below 1.00×. ${environmentSentence(envs)}`),
    ],
  };
}
