/**
 * S2: every SDPA backend forced at each head_dim. A heatmap (log colour: MATH is ~10x FLASH) with the
 * latency written in each cell and "refused" where the backend would not run; the refusal reason is
 * in the tooltip and the table. x labels carry the alignment class, since a heatmap has no shape.
 */
import { alignmentClass } from "../alignment.js";
import { environmentSentence } from "../environment.js";
import { formatMs } from "../markdown-table.js";
import { describeKernels, environmentsOf, fixedShape, uniq, variantLabel, type FlatRecord } from "../records.js";
import { chart, makeTable, tip, type Row } from "../spec.js";
import type { Figure, Table } from "../types.js";

const ALIGN_SUFFIX = { "16-aligned": "(16)", "8-aligned": "(8)", misaligned: "(mis)" } as const;

export function dimLabel(d: number): string {
  return `${d} ${ALIGN_SUFFIX[alignmentClass(d)]}`;
}

export function buildBackendMatrix(all: FlatRecord[]): { figures: Figure[]; tables: Table[] } {
  const records = all.filter((r) => r.suite === "S2" && typeof r.params.head_dim === "number");
  if (records.length === 0) return { figures: [], tables: [] };
  const env = environmentSentence(environmentsOf(records));
  const variants = uniq(records.map((r) => variantLabel(r, ["dtype", "causal"])));
  const panel = (r: FlatRecord) => (variants.length > 1 ? `${r.gpuLabel} · ${variantLabel(r, ["dtype", "causal"])}` : r.gpuLabel);
  const logs = records.flatMap((r) => (r.stats ? [Math.log(r.stats.median_ms)] : []));
  const lo = Math.min(...logs);
  const hi = Math.max(...logs);
  const rows: Row[] = records.map((r) => {
    const d = r.params.head_dim ?? 0;
    const ms = r.stats?.median_ms ?? null;
    // Dark cells (top 45% of the log range) get white text so the number stays legible.
    const dark = ms !== null && hi > lo && (Math.log(ms) - lo) / (hi - lo) > 0.55;
    return {
      panel: panel(r),
      backend: String(r.params.backend ?? "AUTO"),
      head_dim: d,
      dim_label: dimLabel(d),
      alignment: alignmentClass(d),
      median_ms: ms,
      refused: ms === null,
      label: ms === null ? "refused" : formatMs(ms),
      text_color: dark ? "white" : "black",
      reason: r.error ? `${r.error.type}: ${r.error.message}` : ms === null ? "no measurement" : "",
      kernels: describeKernels(r.kernels),
    };
  });
  const x = { field: "dim_label", type: "ordinal", title: "head_dim (alignment class)", sort: { field: "head_dim", op: "min" }, axis: { labelAngle: 0 } };
  const y = { field: "backend", type: "nominal", title: "SDPA backend" };
  const tooltip = [
    tip("panel", "GPU"),
    tip("backend", "Backend"),
    tip("head_dim", "head_dim", "d"),
    tip("alignment", "Alignment"),
    tip("median_ms", "median (ms)", ".3f"),
    tip("reason", "Refusal reason"),
    tip("kernels", "Kernels"),
  ];
  const layer = [
    {
      transform: [{ filter: "!datum.refused" }],
      mark: { type: "rect", stroke: "white", strokeWidth: 1 },
      encoding: { x, y, color: { field: "median_ms", type: "quantitative", title: "Latency (ms)", scale: { type: "log", scheme: "blues" } }, tooltip },
    },
    { transform: [{ filter: "datum.refused" }], mark: { type: "rect", fill: "#f2f2f2", stroke: "#D55E00", strokeWidth: 1.5, strokeDash: [4, 3] }, encoding: { x, y, tooltip } },
    { mark: { type: "text", fontSize: 11 }, encoding: { x, y, text: { field: "label" }, color: { condition: { test: "datum.text_color === 'white'", value: "white" }, value: "black" }, tooltip } },
  ];
  const backends = uniq(rows.map((r) => String(r.backend)));
  const dims = uniq(rows.map((r) => Number(r.head_dim)));
  const figure: Figure = {
    name: "s2-backend-matrix",
    title: "S2: SDPA latency per backend and head_dim",
    caption: `Each SDPA backend forced at each head_dim; cell colour and number give the median latency (log colour scale), dashed cells marked "refused" are cases the backend would not run (reason in the tooltip and table). x labels give the alignment class: (16), (8) or (mis)aligned. ${env}`,
    spec: chart({
      title: "S2: SDPA latency per backend and head_dim",
      subtitle: [
        uniq(records.map((r) => r.gpuLabel))
          .sort()
          .join(", "),
        fixedShape(records, ["batch", "heads", "q_len", "kv_len", "dtype"]),
      ],
      rows,
      layer,
      facetRow: "panel",
      width: Math.max(360, 70 * dims.length),
      height: Math.max(120, 40 * backends.length),
    }),
  };
  const tableRows = [...rows]
    .sort((a, b) => String(a.panel).localeCompare(String(b.panel)) || Number(a.head_dim) - Number(b.head_dim) || String(a.backend).localeCompare(String(b.backend)))
    .map((r) => [String(r.panel), String(r.head_dim), String(r.alignment), String(r.backend), String(r.label), String(r.reason)]);
  return {
    figures: [figure],
    tables: [
      makeTable(
        "s2-backend-matrix",
        "S2: SDPA backends",
        `Median latency per backend; refused cases with the backend's reason. ${env}`,
        ["GPU", "head_dim", "Alignment", "Backend", "Latency (ms)", "Refusal reason"],
        tableRows,
      ),
    ],
  };
}
