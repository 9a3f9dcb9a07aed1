/**
 * Latency against head_dim (the seeds' Figure 2 staircase) for S1, and the same view for C21
 * (forced backends), decode and GQA. Points carry alignment by colour AND shape; a grey line joins
 * each variant (dtype, causal, ...) with its own dash; p10-p90 as error bars; one panel per GPU.
 * The companion table gives each misaligned dim's penalty against the next multiple of 8 measured
 * in the same series: what padding would buy.
 */
import { ALIGNMENT_COLOR, ALIGNMENT_SHAPE } from "../theme.js";
import { alignmentClass, roundUp } from "../alignment.js";
import { environmentSentence } from "../environment.js";
import { formatMs, formatPct } from "../markdown-table.js";
import { environmentsOf, uniq, variantLabel, type FlatRecord } from "../records.js";
import { chart, makeTable, paddedDomain, tip, type Row } from "../spec.js";
import type { Figure, Table } from "../types.js";

export interface LatencySuite {
  suite: string;
  name: string;
  title: string;
  /** What the reader should look for, first sentence of the caption. */
  lede: string;
  variantKeys: readonly string[];
}

export const LATENCY_SUITES: readonly LatencySuite[] = [
  { suite: "S1", name: "s1-staircase", title: "S1: SDPA latency vs head_dim", lede: "The staircase: latency drops at every multiple of 8 and jumps between them.", variantKeys: ["dtype", "causal", "backend"] },
  { suite: "C21", name: "c21-backend-sweep", title: "C21: SDPA latency vs head_dim per forced backend", lede: "Each backend forced in turn; a missing point is a refusal (see the table).", variantKeys: ["backend", "dtype", "causal"] },
  { suite: "decode", name: "decode-penalty", title: "Decode attention latency vs head_dim", lede: "Single-token queries against a KV cache: the decode kernels' alignment penalty.", variantKeys: ["dtype", "q_len", "kv_len"] },
  { suite: "GQA", name: "gqa-penalty", title: "GQA attention latency vs head_dim", lede: "Grouped-query attention (fewer KV heads than query heads) across head_dim.", variantKeys: ["dtype", "heads", "kv_heads", "causal"] },
];

function shapeSubtitle(records: FlatRecord[]): string {
  const keys = ["batch", "heads", "kv_heads", "seq", "q_len", "kv_len"];
  const parts: string[] = [];
  for (const key of keys) {
    const vals = uniq(records.map((r) => r.params[key]).filter((v) => v !== undefined));
    if (vals.length === 1) parts.push(`${key}=${String(vals[0])}`);
  }
  return parts.join(", ");
}

export function buildLatencyVsHeadDim(s: LatencySuite, all: FlatRecord[]): { figures: Figure[]; tables: Table[] } {
  const records = all.filter((r) => r.suite === s.suite && typeof r.params.head_dim === "number");
  if (records.length === 0) return { figures: [], tables: [] };
  const measured = records.filter((r) => r.stats);
  const rows: Row[] = measured.map((r) => ({
    gpu: r.gpuLabel,
    variant: variantLabel(r, s.variantKeys),
    head_dim: r.params.head_dim ?? 0,
    alignment: alignmentClass(r.params.head_dim ?? 0),
    median_ms: r.stats?.median_ms ?? null,
    p10_ms: r.stats?.p10_ms ?? null,
    p90_ms: r.stats?.p90_ms ?? null,
    n: r.stats?.n ?? null,
    kernels: (r.kernels ?? []).join(", "),
  }));
  const figures: Figure[] = [];
  const env = environmentSentence(environmentsOf(records));
  const variants = uniq(rows.map((r) => String(r.variant)));
  if (rows.length > 0) {
    const x = { field: "head_dim", type: "quantitative", title: "head_dim (elements)", scale: { domain: paddedDomain(rows.map((r) => Number(r.head_dim))), nice: false }, axis: { tickMinStep: 8 } };
    const y = { field: "median_ms", type: "quantitative", title: "Latency (ms, median)", scale: { zero: false } };
    const layer = [
      { mark: { type: "line", color: "#9a9a9a", strokeWidth: 1.2 }, encoding: { x, y, detail: { field: "variant" }, strokeDash: { field: "variant", type: "nominal", title: "Variant", legend: variants.length > 1 ? {} : null } } },
      {
        transform: [{ filter: "isValid(datum.p10_ms) && isValid(datum.p90_ms)" }],
        mark: { type: "rule", strokeWidth: 1.5 },
        encoding: { x, y: { field: "p10_ms", type: "quantitative" }, y2: { field: "p90_ms" }, color: { field: "alignment", type: "nominal", title: "Alignment", scale: ALIGNMENT_COLOR } },
      },
      {
        mark: { type: "point", filled: true, size: 70, opacity: 1 },
        encoding: {
          x,
          y,
          color: { field: "alignment", type: "nominal", title: "Alignment", scale: ALIGNMENT_COLOR },
          shape: { field: "alignment", type: "nominal", title: "Alignment", scale: ALIGNMENT_SHAPE },
          tooltip: [tip("gpu", "GPU"), tip("variant", "Variant"), tip("head_dim", "head_dim", "d"), tip("alignment", "Alignment"), tip("median_ms", "median (ms)", ".3f"), tip("p10_ms", "p10 (ms)", ".3f"), tip("p90_ms", "p90 (ms)", ".3f"), tip("n", "samples", "d"), tip("kernels", "Kernels")],
        },
      },
    ];
    const gpus = uniq(rows.map((r) => String(r.gpu)));
    figures.push({
      name: s.name,
      title: s.title,
      caption: `${s.lede} Median latency per head_dim; bars span p10-p90. Blue circles: multiple of 16; orange squares: multiple of 8 only; red triangles: misaligned.${variants.length > 1 ? " Line dash marks the variant." : ""}${gpus.length > 1 ? " One panel per GPU." : ""} ${env}`,
      spec: chart({ title: s.title, subtitle: shapeSubtitle(records), rows, layer, facetRow: "gpu" }),
    });
  }
  return { figures, tables: [penaltyTable(s, records, env)] };
}

/** Each misaligned (or refused) point against the next multiple of 8 in the same GPU x variant series. */
function penaltyTable(s: LatencySuite, records: FlatRecord[], env: string): Table {
  const key = (r: FlatRecord, d: number) => `${r.gpuLabel}\u0000${variantLabel(r, s.variantKeys)}\u0000${d}`;
  const byKey = new Map(records.map((r) => [key(r, r.params.head_dim ?? 0), r]));
  const rows: string[][] = [];
  const sorted = [...records].sort((a, b) => a.gpuLabel.localeCompare(b.gpuLabel) || variantLabel(a, s.variantKeys).localeCompare(variantLabel(b, s.variantKeys)) || (a.params.head_dim ?? 0) - (b.params.head_dim ?? 0));
  for (const r of sorted) {
    const d = r.params.head_dim ?? 0;
    if (!r.stats) {
      rows.push([r.gpuLabel, variantLabel(r, s.variantKeys), String(d), "refused", "-", "-", "-", r.error ? `${r.error.type}: ${r.error.message}` : "no measurement"]);
      continue;
    }
    if (d % 8 === 0) continue;
    const up = roundUp(d, 8);
    const padded = byKey.get(key(r, up));
    const pen = padded?.stats ? (r.stats.median_ms / padded.stats.median_ms - 1) * 100 : NaN;
    rows.push([r.gpuLabel, variantLabel(r, s.variantKeys), String(d), formatMs(r.stats.median_ms), String(up), padded?.stats ? formatMs(padded.stats.median_ms) : "not measured", formatPct(pen), ""]);
  }
  return makeTable(
    `${s.name}-penalty`,
    `${s.title}: misaligned penalty`,
    `Each misaligned head_dim against the next multiple of 8 in the same series (what padding to 8 would change); refused cases listed with their reason. ${env}`,
    ["GPU", "Variant", "head_dim", "Latency (ms)", "Padded to", "Padded latency (ms)", "Penalty", "Note"],
    rows,
  );
}
