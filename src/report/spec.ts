/**
 * Small builders shared by the figure files: the top-level wrapper (config, data, optional facet by
 * GPU) and Table construction. Specs carry no $schema URL so the offline page references nothing.
 */
import type { TopLevelSpec } from "vega-lite";
import { markdownTable } from "./markdown-table.js";
import { CHART_HEIGHT, CHART_WIDTH, VEGA_CONFIG } from "./theme.js";
import type { Table } from "./types.js";

export type Row = Record<string, string | number | boolean | null>;

interface ChartParts {
  title: string;
  /** One line, or several (a GPU list and a shape each get their own line so the title stays narrow). */
  subtitle?: string | string[];
  rows: Row[];
  layer: unknown[];
  /** Facet rows by this field (e.g. one panel per GPU) when it has more than one value. */
  facetRow?: string;
  facetTitle?: string;
  /** Wrap facets into columns instead of rows (for many small panels). */
  facetWrap?: { field: string; columns: number; independentX?: boolean; order?: string[] };
  /** A grid of panels: rows by one field, columns by another (each row a GPU, each column a case). */
  facetGrid?: { row: string; column: string; independentX?: boolean };
  width?: number;
  height?: number;
}

export function chart(p: ChartParts): TopLevelSpec {
  const subtitle = Array.isArray(p.subtitle) ? p.subtitle.filter((l) => l.length > 0) : p.subtitle ? [p.subtitle] : [];
  const title = subtitle.length > 0 ? { text: p.title, subtitle: subtitle.length === 1 ? subtitle[0] : subtitle } : p.title;
  const size = { width: p.width ?? CHART_WIDTH, height: p.height ?? CHART_HEIGHT };
  const panels = p.facetRow ? new Set(p.rows.map((r) => r[p.facetRow ?? ""])).size : 1;
  const base = { title, config: VEGA_CONFIG, data: { values: p.rows } };
  let spec: unknown;
  if (p.facetGrid) {
    spec = {
      ...base,
      facet: {
        // Row labels (GPU names) run along the panel's left edge so they cost no width between columns.
        row: { field: p.facetGrid.row, type: "nominal", title: null, header: { labelAngle: -90, labelOrient: "left", labelLimit: (p.height ?? CHART_HEIGHT) + 40, labelFontWeight: "bold" } },
        column: { field: p.facetGrid.column, type: "nominal", title: null, header: { labelFontWeight: "bold" } },
      },
      spacing: { row: 16, column: 12 },
      spec: { ...size, layer: p.layer },
      resolve: { scale: { x: p.facetGrid.independentX ? "independent" : "shared" }, axis: { x: "independent" } },
    };
  } else if (p.facetWrap) {
    spec = {
      ...base,
      facet: { field: p.facetWrap.field, type: "nominal", title: null, ...(p.facetWrap.order ? { sort: p.facetWrap.order } : {}) },
      columns: p.facetWrap.columns,
      spec: { ...size, layer: p.layer },
      resolve: { scale: { x: p.facetWrap.independentX ? "independent" : "shared", y: "independent" }, axis: { x: "independent" } },
    };
  } else if (p.facetRow && panels > 1) {
    spec = {
      ...base,
      facet: { row: { field: p.facetRow, type: "nominal", title: p.facetTitle ?? null, header: { labelAngle: 0, labelAlign: "left", labelAnchor: "start", labelOrient: "top" } } },
      spec: { ...size, layer: p.layer },
      resolve: { scale: { y: "independent" } },
    };
  } else {
    spec = { ...base, ...size, layer: p.layer };
  }
  // The builders above assemble plain JSON; vega-lite's union types are checked when it compiles.
  return spec as TopLevelSpec;
}

export function makeTable(name: string, title: string, caption: string, columns: string[], rows: string[][]): Table {
  return { name, title, caption, columns, rows, markdown: markdownTable(columns, rows) };
}

/** Tooltip entry for a quantitative field with a d3 format. */
export function tip(field: string, title: string, format?: string): Record<string, string> {
  return format ? { field, title, type: "quantitative", format } : { field, title, type: "nominal" };
}

/**
 * An x/y domain with a margin so edge points are not cut by the frame: `frac` of the range on each
 * side (at least `minPad`), extended right by `extraRight` of the range for text labels.
 */
export function paddedDomain(values: number[], frac = 0.03, minPad = 1, extraRight = 0): [number, number] {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return [0, 1];
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  const pad = Math.max((hi - lo) * frac, minPad);
  return [lo - pad, hi + pad + (hi - lo) * extraRight];
}
