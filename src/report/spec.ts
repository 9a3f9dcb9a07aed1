/**
 * Small builders shared by the figure files: the top-level wrapper (config, data, optional facet by
 * GPU) and Table construction. Specs carry no $schema URL so the offline page references nothing.
 */
import type { TopLevelSpec } from "vega-lite";
import { markdownTable } from "./markdown-table.js";
import { VEGA_CONFIG, panelWidth, wrapText } from "./style.js";

const CHART_WIDTH = panelWidth(1);
const CHART_HEIGHT = 300;
import type { Table } from "./types.js";

export type Row = Record<string, string | number | boolean | null>;

export interface ChartParts {
  title: string;
  /** One line, or several (a GPU list and a shape each get their own line); long lines are wrapped. */
  subtitle?: string | string[];
  rows: Row[];
  layer: unknown[];
  /** Facet rows by this field (e.g. one panel per GPU) when it has more than one value. */
  facetRow?: string;
  /** Wrap facets into columns (panels side by side, then the next row). */
  facetWrap?: { field: string; columns: number; independentX?: boolean; independentY?: boolean; order?: string[] };
  /** Panel size; the default fills the column. */
  width?: number;
  height?: number;
  /** Scales (beyond x and y) each panel resolves on its own, e.g. yOffset for grouped bars. */
  independent?: string[];
}

/**
 * Subtitle characters per line: vega sizes a figure by its estimate of text width (12 px text, ~0.8 em
 * a character when no canvas measures it, as in the PNG renderer), so 90 stay inside the column.
 */
const SUBTITLE_CHARS = 90;

/** Title with its subtitle lines, wrapped so neither widens the figure past the column. */
export function chartTitle(text: string, subtitle?: string | string[]): string | { text: string; subtitle: string[] } {
  const lines = (Array.isArray(subtitle) ? subtitle : subtitle ? [subtitle] : []).filter((l) => l.length > 0).flatMap((l) => wrapText(l, SUBTITLE_CHARS));
  return lines.length > 0 ? { text, subtitle: lines } : text;
}

export function chart(p: ChartParts): TopLevelSpec {
  const title = chartTitle(p.title, p.subtitle);
  const size = { width: Math.min(p.width ?? CHART_WIDTH, CHART_WIDTH), height: p.height ?? CHART_HEIGHT };
  const panels = p.facetRow ? new Set(p.rows.map((r) => r[p.facetRow ?? ""])).size : 1;
  const base = { title, config: VEGA_CONFIG, data: { values: p.rows } };
  const extra = Object.fromEntries((p.independent ?? []).map((c) => [c, "independent"]));
  let spec: unknown;
  if (p.facetWrap) {
    spec = {
      ...base,
      facet: { field: p.facetWrap.field, type: "nominal", title: null, ...(p.facetWrap.order ? { sort: p.facetWrap.order } : {}) },
      columns: p.facetWrap.columns,
      spec: { ...size, layer: p.layer },
      resolve: {
        scale: { x: p.facetWrap.independentX ? "independent" : "shared", y: p.facetWrap.independentY === false ? "shared" : "independent", ...extra },
        axis: { x: "independent", y: "independent" },
      },
    };
  } else if (p.facetRow && panels > 1) {
    spec = {
      ...base,
      facet: { row: { field: p.facetRow, type: "nominal", title: null, header: { labelAngle: 0, labelAlign: "left", labelAnchor: "start", labelOrient: "top" } } },
      spec: { ...size, layer: p.layer },
      resolve: { scale: { y: "independent", ...extra } },
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
