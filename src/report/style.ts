/**
 * The report's visual language, one module for every figure (and for figures other parts of gac
 * add: import from here, never pick colours or shapes in a figure file):
 *
 *   - a GPU is a colour (Okabe-Ito, safe for the common colour-vision deficiencies) AND a shape, the
 *     same pair in every figure of a report (`gpuPalette` over every GPU label of the report);
 *   - the alignment class is a second channel that reads without colour: the marker's fill, solid
 *     for a multiple of 16, light for a multiple of 8 only, hollow for misaligned;
 *   - measured points are points; a line joins them only where the sweep is dense (consecutive
 *     values at most `DENSE_STEP` apart, `denseSegments`), so no line invents a value between two
 *     far-apart measurements; published points are never joined;
 *   - a figure fits a page column: at most `MAX_FIGURE_WIDTH` CSS pixels wide (`panelWidth` sizes
 *     wrapped facets to fit), legends below the plot, short panel titles (parameters in the caption);
 *   - a legend lists only what the figure draws (`legendValues`).
 */
import type { Config } from "vega-lite";
import { ALIGNMENT_CLASSES, type AlignmentClass } from "./alignment.js";

export const FONT_FAMILY = "DejaVu Sans";

/**
 * The widest a figure may be, legend and padding included (CSS px). The HTML column is 1100 px; a
 * PNG at 2x is then at most 1920 px, which a paper's full-width figure scales down without loss.
 */
export const MAX_FIGURE_WIDTH = 960;
/** What a figure's parts other than its panels take across (y axis with title, padding). */
const AXIS_ALLOWANCE = 64;
const FACET_SPACING = 16;

export const VEGA_CONFIG: Config = {
  font: FONT_FAMILY,
  background: "white",
  padding: 8,
  title: { font: FONT_FAMILY, fontSize: 15, anchor: "start", subtitleFontSize: 12, subtitleFont: FONT_FAMILY, subtitleColor: "#333333" },
  axis: { labelFont: FONT_FAMILY, titleFont: FONT_FAMILY, labelFontSize: 11, titleFontSize: 12, gridColor: "#e6e6e6" },
  legend: {
    symbolOpacity: 1,
    labelFont: FONT_FAMILY,
    titleFont: FONT_FAMILY,
    labelFontSize: 11,
    titleFontSize: 11,
    symbolSize: 80,
    orient: "bottom",
    direction: "horizontal",
    labelLimit: 300,
    titleLimit: 300,
    columns: 3,
    symbolStrokeWidth: 1.5,
  },
  header: { labelFont: FONT_FAMILY, titleFont: FONT_FAMILY, labelFontSize: 12, titleFontSize: 12, labelFontWeight: "bold" },
  text: { font: FONT_FAMILY, fontSize: 11 },
  view: { stroke: "#cccccc" },
  facet: { spacing: FACET_SPACING },
  concat: { spacing: FACET_SPACING },
};

/** Okabe-Ito, without yellow (too light on white): the GPUs of a report, in order. */
export const GPU_COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"] as const;
/** One shape per GPU, in the same order; a greyscale print still tells the GPUs apart. */
export const GPU_SHAPES = ["circle", "square", "triangle-up", "diamond", "triangle-down", "triangle-right", "cross"] as const;

/** Fill opacity per alignment class: solid, light, hollow. The stroke always carries the GPU colour. */
export const ALIGNMENT_FILL = { domain: [...ALIGNMENT_CLASSES], range: [1, 0.35, 0] };
/** How the caption says it. */
export const ALIGNMENT_WORDS = "filled marker: multiple of 16; light: multiple of 8 only; hollow: misaligned";

export interface GpuPalette {
  domain: string[];
  colors: string[];
  shapes: string[];
}

/** Colour and shape per GPU label, fixed by the sorted labels of the whole report so figures agree. */
export function gpuPalette(labels: readonly string[]): GpuPalette {
  const domain = [...new Set(labels)].sort();
  return {
    domain,
    colors: domain.map((_, i) => GPU_COLORS[i % GPU_COLORS.length]),
    shapes: domain.map((_, i) => GPU_SHAPES[i % GPU_SHAPES.length]),
  };
}

/** A legend of the entries a figure draws, in the scale's order (a legend entry never lacks marks). */
export function legendValues<T>(domain: readonly T[], present: Iterable<T>): T[] {
  const have = new Set(present);
  return domain.filter((d) => have.has(d));
}

/**
 * Fill, stroke and shape of a GPU, from field `field`; one merged legend "GPU" listing `present`.
 * Use on point marks; a line or rule takes `gpuStroke`.
 */
export function gpuMarkEncoding(palette: GpuPalette, present: Iterable<string>, field = "gpu", title = "GPU"): Record<string, unknown> {
  const values = legendValues(palette.domain, present);
  const legend = { values, title, columns: Math.min(values.length, 3) };
  return {
    stroke: { field, type: "nominal", title, scale: { domain: palette.domain, range: palette.colors }, legend },
    fill: { field, type: "nominal", title, scale: { domain: palette.domain, range: palette.colors }, legend },
    shape: { field, type: "nominal", title, scale: { domain: palette.domain, range: palette.shapes }, legend },
  };
}

/** The GPU colour as a stroke (lines, error bars, bar outlines); its legend merges with gpuMarkEncoding's. */
export function gpuStroke(palette: GpuPalette, field = "gpu"): Record<string, unknown> {
  return { field, type: "nominal", title: "GPU", scale: { domain: palette.domain, range: palette.colors } };
}

/** Marks the alignment legend for patchVegaSpec (vega-lite cannot style legend symbols per entry). */
const ALIGNMENT_LEGEND = "gac-alignment-legend";

/**
 * Alignment as the marker's fill opacity, with a legend of the classes present drawn as solid /
 * light / hollow circles. Rows carry the opacity in `fill_opacity` (`alignmentFill`). Vega-lite
 * draws no legend for fillOpacity, so the legend hangs on `opacity`, mapped to 1 for every class
 * (the marks stay as they are), and patchVegaSpec gives its symbols their fill.
 */
export function alignmentEncoding(present: Iterable<AlignmentClass>, field = "alignment", title = "Alignment"): Record<string, unknown> {
  return {
    fillOpacity: { field: "fill_opacity", type: "quantitative", scale: null, legend: null },
    opacity: {
      field,
      type: "nominal",
      title,
      sort: [...ALIGNMENT_CLASSES],
      scale: { domain: [...ALIGNMENT_CLASSES], range: [1, 1, 1] },
      legend: { values: legendValues(ALIGNMENT_CLASSES, present), symbolType: "circle", columns: 3, description: ALIGNMENT_LEGEND },
    },
  };
}

/** The fill opacity of a marker of this alignment class (the `fill_opacity` field alignmentEncoding reads). */
export function alignmentFill(cls: AlignmentClass): number {
  return ALIGNMENT_FILL.range[ALIGNMENT_CLASSES.indexOf(cls)];
}

type VegaNode = Record<string, unknown>;

/**
 * The report's changes to a compiled Vega spec: legends below a plot stack; alignment legends get
 * per-entry symbol fills (solid, light, hollow, as the marks). Applied by render.ts before drawing, so SVG, PNG and page agree.
 */
export function patchVegaSpec<T>(spec: T): T {
  // Several legends below a plot stack (vega lays them side by side by default, widening the figure).
  const root = spec as VegaNode;
  const config = (root.config ?? {}) as VegaNode;
  root.config = { ...config, legend: { ...(config.legend as VegaNode | undefined), layout: { bottom: { direction: "vertical", anchor: "start", margin: 4 } } } };
  const fill = `datum.value === 'misaligned' ? 0 : datum.value === '8-aligned' ? ${ALIGNMENT_FILL.range[1]} : 1`;
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(visit);
      return;
    }
    if (typeof node !== "object" || node === null) return;
    const n = node as VegaNode;
    if (Array.isArray(n.legends)) {
      for (const legend of n.legends as VegaNode[]) {
        if (legend.description !== ALIGNMENT_LEGEND) continue;
        delete legend.description;
        legend.encode = {
          ...(legend.encode as VegaNode | undefined),
          symbols: { update: { fill: { value: "#444444" }, stroke: { value: "#444444" }, strokeWidth: { value: 1.5 }, fillOpacity: { signal: fill }, opacity: { value: 1 } } },
        };
      }
    }
    for (const v of Object.values(n)) if (typeof v === "object") visit(v);
  };
  visit(spec);
  return spec;
}

/** An "x" as an SVG path in the unit square (vega's "cross" is a "+"), for refusals in marks and legends alike. */
export const X_SHAPE = "M-0.552,-0.863L0,-0.311L0.552,-0.863L0.863,-0.552L0.311,0L0.863,0.552L0.552,0.863L0,0.311L-0.552,0.863L-0.863,0.552L-0.311,0L-0.863,-0.552Z";

/** A legend entry for the refused cases drawn as an x on the axis (field `status` = "refused"). */
export function refusedEncoding(label = "refused (x on the axis)"): Record<string, unknown> {
  return {
    field: "status",
    type: "ordinal",
    sort: ["refused"],
    title: null,
    scale: { domain: ["refused"], range: [60, 60] },
    legend: { symbolType: X_SHAPE, symbolStrokeColor: "#333333", symbolFillColor: "#333333", labelExpr: `'${label}'` },
  };
}

/** Consecutive swept values at most this far apart are joined by a line: the sweep measured every value between. */
export const DENSE_STEP = 1;

/**
 * The line segment each point belongs to: points of one series (`seriesOf`) sorted by x, a new
 * segment wherever the gap to the previous point exceeds `denseStep`. A point that joins nothing
 * (alone in its segment, or in a `neverJoin` series such as a published one) gets a segment of its
 * own, "solo <i>", which a line draws as nothing; `joined` tells the two apart.
 */
export function denseSegments<R>(rows: readonly R[], seriesOf: (r: R) => string, xOf: (r: R) => number, neverJoin: (r: R) => boolean = () => false, denseStep = DENSE_STEP): string[] {
  const bySeries = new Map<string, number[]>();
  rows.forEach((r, i) => {
    if (neverJoin(r)) return;
    const key = seriesOf(r);
    bySeries.set(key, [...(bySeries.get(key) ?? []), i]);
  });
  const out: string[] = rows.map((_, i) => `${SOLO}${i}`);
  for (const [key, idx] of bySeries) {
    const sorted = [...idx].sort((a, b) => xOf(rows[a]) - xOf(rows[b]));
    let segment: number[] = [];
    let n = 0;
    const close = () => {
      if (segment.length > 1) for (const i of segment) out[i] = `${key} #${n}`;
      segment = [];
      n++;
    };
    for (const i of sorted) {
      if (segment.length > 0 && xOf(rows[i]) - xOf(rows[segment[segment.length - 1]]) > denseStep) close();
      segment.push(i);
    }
    close();
  }
  return out;
}

const SOLO = "solo ";
/** Whether a segment from denseSegments joins at least two points. */
export const joined = (segment: string): boolean => !segment.startsWith(SOLO);

/** Axis ticks at multiples of 8 (16, 32, ... when the range is wide), so ticks fall on aligned sizes. */
export function alignedTicks(lo: number, hi: number, maxTicks = 12): number[] {
  let step = 8;
  while (Math.floor(hi / step) - Math.ceil(lo / step) + 1 > maxTicks) step *= 2;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi; v += step) ticks.push(v);
  return ticks;
}

/** Panel width so `columns` panels side by side (each with its own y axis) fit MAX_FIGURE_WIDTH. */
export function panelWidth(columns: number, extra = 0): number {
  return Math.floor((MAX_FIGURE_WIDTH - 16 - extra - columns * AXIS_ALLOWANCE - (columns - 1) * FACET_SPACING) / columns);
}

/** Text broken into lines of at most `maxChars` at spaces (titles and subtitles do not widen a figure). */
export function wrapText(text: string, maxChars = 110): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > maxChars) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}
