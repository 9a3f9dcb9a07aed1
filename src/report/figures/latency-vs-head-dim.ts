/**
 * Latency against head_dim (the seeds' Figure 2 staircase) for S1, and the same view for C21
 * (forced backends), decode and GQA. One panel per variant (the params that differ between cases:
 * dtype/causal for S1, backend for C21, batch for decode, phase and batch for GQA), so a sparse
 * variant never hides behind a dense one; within a panel one line per GPU (dash per GPU when there
 * are several, a measured H200 beside a published A100). Points carry alignment by colour AND
 * shape; p10-p90 as error bars; a refused case is an x on the axis. The companion table gives each
 * misaligned dim's penalty against the next multiple of 8 measured in the same series.
 */
import { ALIGNMENT_COLOR, ALIGNMENT_SHAPE } from "../theme.js";
import { alignmentClass, roundUp } from "../alignment.js";
import { environmentSentence } from "../environment.js";
import { formatMs, formatPct } from "../markdown-table.js";
import { describeKernels, environmentsOf, fixedShape, uniq, variantLabel, varyingKeys, type FlatRecord } from "../records.js";
import { chart, makeTable, paddedDomain, tip, type Row } from "../spec.js";
import type { Figure, Table } from "../types.js";

interface LatencySuite {
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
    columns: 2,
  },
];

const SHAPE_KEYS = ["batch", "heads", "kv_heads", "seq", "q_len", "kv_len", "dtype", "backend"];

/** The panel label of a record: its variant over the keys that vary in this suite ("" when none do). */
function panelOf(keys: readonly string[]) {
  return (r: FlatRecord) => (keys.length > 0 ? variantLabel(r, keys) : "");
}

export function buildLatencyVsHeadDim(s: LatencySuite, all: FlatRecord[]): { figures: Figure[]; tables: Table[] } {
  const records = all.filter((r) => r.suite === s.suite && typeof r.params.head_dim === "number");
  if (records.length === 0) return { figures: [], tables: [] };
  const keys = varyingKeys(records, s.variantKeys);
  const panel = panelOf(keys);
  const rows: Row[] = records.map((r) => ({
    gpu: r.gpuLabel,
    panel: panel(r),
    head_dim: r.params.head_dim ?? 0,
    alignment: alignmentClass(r.params.head_dim ?? 0),
    median_ms: r.stats?.median_ms ?? null,
    p10_ms: r.stats?.p10_ms ?? null,
    p90_ms: r.stats?.p90_ms ?? null,
    n: r.stats?.n ?? null,
    refused: !r.stats,
    zero: 0,
    reason: r.error ? `${r.error.type}: ${r.error.message}` : r.stats ? "" : "no measurement",
    kernels: describeKernels(r.kernels),
  }));
  const figures: Figure[] = [];
  const env = environmentSentence(environmentsOf(records));
  const panels = uniq(rows.map((r) => String(r.panel)));
  const gpus = uniq(rows.map((r) => String(r.gpu)));
  const hasRefusals = rows.some((r) => r.refused);
  if (rows.some((r) => !r.refused)) {
    const x = { field: "head_dim", type: "quantitative", title: "head_dim (elements)", scale: { domain: paddedDomain(rows.map((r) => Number(r.head_dim))), nice: false }, axis: { tickMinStep: 8 } };
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
        mark: { type: "line", color: "#8a8a8a", strokeWidth: 1.3 },
        encoding: {
          x,
          y,
          detail: { field: "gpu" },
          strokeDash: { field: "gpu", type: "nominal", title: "GPU (line)", legend: gpus.length > 1 ? { labelLimit: 420, orient: "bottom", direction: "vertical" } : null },
        },
      },
      {
        transform: [{ filter: "!datum.refused && isValid(datum.p10_ms) && isValid(datum.p90_ms)" }],
        mark: { type: "rule", strokeWidth: 1.5 },
        encoding: { x, y: { field: "p10_ms", type: "quantitative" }, y2: { field: "p90_ms" }, color: { field: "alignment", type: "nominal", title: "Alignment", scale: ALIGNMENT_COLOR } },
      },
      {
        transform: [{ filter: "!datum.refused" }],
        mark: { type: "point", filled: true, size: 60, opacity: 1 },
        encoding: {
          x,
          y,
          color: { field: "alignment", type: "nominal", title: "Alignment", scale: ALIGNMENT_COLOR },
          shape: { field: "alignment", type: "nominal", title: "Alignment", scale: ALIGNMENT_SHAPE },
          tooltip: pointTip,
        },
      },
    ];
    if (hasRefusals) {
      layer.push({
        transform: [{ filter: "datum.refused" }],
        mark: { type: "point", shape: "cross", angle: 45, size: 70, color: "#333333", strokeWidth: 1.6, filled: true },
        encoding: { x, y: { field: "zero", type: "quantitative" }, tooltip: [tip("gpu", "GPU"), tip("panel", "Variant"), tip("head_dim", "head_dim", "d"), tip("reason", "Refused")] },
      });
    }
    const subtitle = [gpus.join(", "), fixedShape(records, SHAPE_KEYS)];
    const wide = s.columns === 1 || panels.length === 1;
    figures.push({
      name: s.name,
      title: s.title,
      caption: `${s.lede} Median latency per head_dim (y from zero); bars span p10-p90. Blue circles: multiple of 16; orange squares: multiple of 8 only; red triangles: misaligned.${panels.length > 1 ? ` One panel per variant (${keys.join(", ")}), each with its own y scale.` : ""}${gpus.length > 1 ? " Line dash tells the GPUs apart." : ""}${hasRefusals ? " An x on the axis: refused." : ""} ${env}`,
      spec: chart({
        title: s.title,
        subtitle,
        rows,
        layer,
        // Panels in the order the bench ran them: S1's dense fp16 sweep first, then its sparser variants.
        facetWrap: panels.length > 1 ? { field: "panel", columns: s.columns, order: panels } : undefined,
        width: wide ? 720 : 380,
        height: panels.length > 1 ? (s.columns === 1 ? 200 : 220) : 300,
      }),
    });
  }
  return { figures, tables: [penaltyTable(s, records, keys, env)] };
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
