/**
 * Latency against head_dim (the seeds' Figure 2 staircase) for S1, and the same view for C21
 * (forced backends), decode and GQA. One panel per variant (the params that differ between cases:
 * dtype/causal for S1, backend for C21, batch for decode, phase and batch for GQA), so a sparse
 * variant never hides behind a dense one; within a panel every GPU in its colour and shape (style.ts),
 * alignment as the marker's fill, lines only where the sweep is dense, p10-p90 as error bars; a
 * refused case is an x on the axis, with its own legend entry. The companion table gives each
 * misaligned dim's penalty against the next multiple of 8 measured in the same series.
 */
import { alignmentClass, roundUp, type AlignmentClass } from "../alignment.js";
import { PUBLISHED_SUFFIX } from "../profile-input.js";
import {
  ALIGNMENT_WORDS,
  alignedTicks,
  alignmentEncoding,
  alignmentFill,
  denseSegments,
  gpuMarkEncoding,
  joined,
  gpuPalette,
  gpuStroke,
  legendValues,
  panelWidth,
  refusedEncoding,
  X_SHAPE,
} from "../style.js";
import { environmentSentence } from "../environment.js";
import { formatMs, formatPct } from "../markdown-table.js";
import { describeKernels, environmentsOf, fixedShape, uniq, variantLabel, varyingKeys, type FlatRecord } from "../records.js";
import { chart, makeTable, paddedDomain, tip, type Row } from "../spec.js";
import type { Figure, Table } from "../types.js";

export interface LatencySuite {
  suite: string;
  name: string;
  title: string;
  /** What the reader should look for, first sentence of the caption. */
  lede: string;
  /** Params that may tell variants apart, in label order; only those that vary are used. */
  variantKeys: readonly string[];
  /** Panels per row: 1 for a long sweep (S1's 97 dims), 2 for short ones. */
  columns: number;
}

export const LATENCY_SUITES: readonly LatencySuite[] = [
  {
    suite: "S1",
    name: "s1-staircase",
    title: "S1: SDPA latency vs head_dim",
    lede: "The staircase: latency drops at every multiple of 8 and jumps between them.",
    variantKeys: ["dtype", "causal", "backend"],
    columns: 1,
  },
  {
    suite: "C21",
    name: "c21-backend-sweep",
    title: "C21: SDPA latency vs head_dim per forced backend",
    lede: "Each backend forced in turn (AUTO: the dispatcher's choice, kernels profiled); an x on the axis is a head_dim the backend refused (reason in the table).",
    variantKeys: ["backend", "dtype", "causal"],
    columns: 2,
  },
  {
    suite: "decode",
    name: "decode-penalty",
    title: "Decode attention latency vs head_dim",
    lede: "Single-token queries against a KV cache: the decode kernels' alignment penalty.",
    variantKeys: ["dtype", "batch", "q_len", "kv_len"],
    columns: 2,
  },
  {
    suite: "GQA",
    name: "gqa-penalty",
    title: "GQA attention latency vs head_dim",
    lede: "Grouped-query attention (fewer KV heads than query heads), prefill and decode, across head_dim.",
    variantKeys: ["dtype", "q_len", "kv_len", "batch", "heads", "kv_heads", "causal"],
    columns: 3,
  },
];

const SHAPE_KEYS = ["batch", "heads", "kv_heads", "seq", "q_len", "kv_len", "dtype", "backend"];
/** Keys a phase word ("prefill" / "decode") stands for in a short panel title; the caption spells them out. */
const PHASE_KEYS = ["q_len", "kv_len", "causal"];

/** The full panel label of a record: its variant over the keys that vary in this suite ("" when none do). */
function panelOf(keys: readonly string[]) {
  return (r: FlatRecord) => (keys.length > 0 ? variantLabel(r, keys) : "");
}

/**
 * A short panel title: a query length of 1 is "decode", longer "prefill" (kv_len and causal then go
 * to the caption), batch reads "batch 4", dtype and backend as they are.
 */
export function shortPanelTitle(r: FlatRecord, keys: readonly string[]): string {
  const phase = keys.includes("q_len");
  const parts: string[] = [];
  if (phase) parts.push(r.params.q_len === 1 ? "decode" : "prefill");
  for (const key of keys) {
    if (phase && PHASE_KEYS.includes(key)) continue;
    const v = r.params[key];
    if (v === undefined || v === null) continue;
    if (key === "causal") parts.push(v === true ? "causal" : "non-causal");
    else if (key === "dtype" || key === "backend") parts.push(String(v));
    else parts.push(`${key} ${String(v)}`);
  }
  return parts.join(", ");
}

export function buildLatencyVsHeadDim(s: LatencySuite, all: FlatRecord[]): { figures: Figure[]; tables: Table[] } {
  const records = all.filter((r) => r.suite === s.suite && typeof r.params.head_dim === "number");
  if (records.length === 0) return { figures: [], tables: [] };
  const keys = varyingKeys(records, s.variantKeys);
  const palette = gpuPalette(all.map((r) => r.gpuLabel));
  const title = (r: FlatRecord) => (keys.length > 0 ? shortPanelTitle(r, keys) : "");
  const base = records.map((r) => ({
    gpu: r.gpuLabel,
    panel: title(r),
    head_dim: r.params.head_dim ?? 0,
    alignment: alignmentClass(r.params.head_dim ?? 0),
    fill_opacity: alignmentFill(alignmentClass(r.params.head_dim ?? 0)),
    median_ms: r.stats?.median_ms ?? null,
    p10_ms: r.stats?.p10_ms ?? null,
    p90_ms: r.stats?.p90_ms ?? null,
    n: r.stats?.n ?? null,
    refused: !r.stats,
    status: r.stats ? "measured" : "refused",
    zero: 0,
    reason: r.error ? `${r.error.type}: ${r.error.message}` : r.stats ? "" : "no measurement",
    kernels: describeKernels(r.kernels),
    published: r.gpuLabel.endsWith(PUBLISHED_SUFFIX),
  }));
  const segments = denseSegments(
    base,
    (r) => `${r.gpu} | ${r.panel}`,
    (r) => r.head_dim,
    (r) => r.refused || r.published,
  );
  const rows: Row[] = base.map((r, i) => ({ ...r, segment: segments[i] }));
  const figures: Figure[] = [];
  const env = environmentSentence(environmentsOf(records));
  const panels = uniq(rows.map((r) => String(r.panel)));
  const measured = rows.filter((r) => !r.refused);
  const gpus = legendValues(
    palette.domain,
    rows.map((r) => String(r.gpu)),
  );
  const hasRefusals = rows.some((r) => r.refused);
  if (measured.length > 0) {
    const dims = rows.map((r) => Number(r.head_dim));
    const domain = paddedDomain(dims);
    const x = { field: "head_dim", type: "quantitative", title: "head_dim (elements)", scale: { domain, nice: false }, axis: { values: alignedTicks(domain[0], domain[1]) } };
    const y = { field: "median_ms", type: "quantitative", title: "Latency (ms, median)", scale: { zero: true } };
    const pointTip = [
      tip("gpu", "GPU"),
      tip("panel", "Variant"),
      tip("head_dim", "head_dim", "d"),
      tip("alignment", "Alignment"),
      tip("median_ms", "median (ms)", ".4f"),
      tip("p10_ms", "p10 (ms)", ".4f"),
      tip("p90_ms", "p90 (ms)", ".4f"),
      tip("n", "samples", "d"),
      tip("kernels", "Kernels"),
    ];
    const layer: unknown[] = [
      {
        transform: [{ filter: "!datum.refused" }],
        mark: { type: "line", strokeWidth: 1.2, opacity: 0.7 },
        encoding: { x, y, detail: { field: "segment" }, stroke: gpuStroke(palette) },
      },
      {
        transform: [{ filter: "!datum.refused && isValid(datum.p10_ms) && isValid(datum.p90_ms)" }],
        mark: { type: "rule", strokeWidth: 1.2, opacity: 0.8 },
        encoding: { x, y: { field: "p10_ms", type: "quantitative" }, y2: { field: "p90_ms" }, stroke: gpuStroke(palette) },
      },
      {
        transform: [{ filter: "!datum.refused" }],
        mark: { type: "point", filled: true, size: 42, strokeWidth: 1.4, opacity: 1 },
        encoding: { x, y, ...gpuMarkEncoding(palette, gpus), ...alignmentEncoding(measured.map((r) => r.alignment as AlignmentClass)), tooltip: pointTip },
      },
    ];
    if (hasRefusals) {
      layer.push({
        transform: [{ filter: "datum.refused" }],
        mark: { type: "point", shape: X_SHAPE, strokeWidth: 0, filled: true },
        encoding: {
          x,
          y: { value: "height" },
          fill: gpuStroke(palette),
          size: refusedEncoding(),
          tooltip: [tip("gpu", "GPU"), tip("panel", "Variant"), tip("head_dim", "head_dim", "d"), tip("reason", "Refused")],
        },
      });
    }
    const subtitle = [gpus.join(", "), fixedShape(records, SHAPE_KEYS)];
    const columns = panels.length === 1 ? 1 : Math.min(s.columns, panels.length >= 5 ? 3 : 2);
    const anyJoined = rows.some((r) => joined(String(r.segment)));
    const published = rows.some((r) => r.published);
    figures.push({
      name: s.name,
      title: s.title,
      caption: `${s.lede} Median latency per head_dim (y from zero); bars span p10-p90. One colour and shape per GPU; ${ALIGNMENT_WORDS}. ${anyJoined ? "A line joins consecutive head_dims only where every value between was measured" : "Points are not joined: the sweep skips values between them"}${published ? "; published points are never joined" : ""}.${panels.length > 1 ? ` One panel per variant (${keys.join(", ")}), each with its own y scale.${phaseCaption(records, keys)}` : ""}${hasRefusals ? " An x on the axis: refused (reason in the table)." : ""} ${env}`,
      spec: chart({
        title: s.title,
        subtitle,
        rows,
        layer,
        // Panels in the order the bench ran them: S1's dense fp16 sweep first, then its sparser variants.
        facetWrap: panels.length > 1 ? { field: "panel", columns, order: panels } : undefined,
        width: panelWidth(columns),
        height: panels.length > 1 ? (columns === 1 ? 190 : 200) : 280,
      }),
    });
  }
  return { figures, tables: [penaltyTable(s, records, keys, env)] };
}

/** "prefill: q_len=2048 kv_len=2048 causal; decode: q_len=1 kv_len=4096 non-causal" when short titles dropped those. */
function phaseCaption(records: FlatRecord[], keys: readonly string[]): string {
  if (!keys.includes("q_len")) return "";
  const phaseKeys = PHASE_KEYS.filter((k) => keys.includes(k) || records.some((r) => r.params[k] !== undefined));
  const pairs = uniq(records.map((r) => `${r.params.q_len === 1 ? "decode" : "prefill"}: ${variantLabel(r, phaseKeys)}`));
  return ` Panel titles: ${pairs.join("; ")}.`;
}

/** Each misaligned (or refused) point against the next multiple of 8 in the same GPU x variant series. */
function penaltyTable(s: LatencySuite, records: FlatRecord[], keys: readonly string[], env: string): Table {
  const panel = panelOf(keys);
  const variant = (r: FlatRecord) => panel(r) || "default";
  const key = (r: FlatRecord, d: number) => `${r.gpuLabel}\u0000${variant(r)}\u0000${d}`;
  const byKey = new Map(records.map((r) => [key(r, r.params.head_dim ?? 0), r]));
  const rows: string[][] = [];
  const sorted = [...records].sort((a, b) => a.gpuLabel.localeCompare(b.gpuLabel) || variant(a).localeCompare(variant(b)) || (a.params.head_dim ?? 0) - (b.params.head_dim ?? 0));
  for (const r of sorted) {
    const d = r.params.head_dim ?? 0;
    if (!r.stats) {
      rows.push([r.gpuLabel, variant(r), String(d), "refused", "-", "-", "-", r.error ? `${r.error.type}: ${r.error.message}` : "no measurement"]);
      continue;
    }
    if (d % 8 === 0) continue;
    const up = roundUp(d, 8);
    const padded = byKey.get(key(r, up));
    const pen = padded?.stats ? (r.stats.median_ms / padded.stats.median_ms - 1) * 100 : NaN;
    rows.push([
      r.gpuLabel,
      variant(r),
      String(d),
      formatMs(r.stats.median_ms),
      String(up),
      padded?.stats ? formatMs(padded.stats.median_ms) : "not measured",
      formatPct(pen),
      describeKernels(r.kernels),
    ]);
  }
  return makeTable(
    `${s.name}-penalty`,
    `${s.title}: misaligned penalty`,
    `Each misaligned head_dim against the next multiple of 8 in the same series (what padding to 8 would change); refused cases listed with their reason. ${env}`,
    ["GPU", "Variant", "head_dim", "Latency (ms)", "Padded to", "Padded latency (ms)", "Penalty", "Note"],
    rows,
  );
}
