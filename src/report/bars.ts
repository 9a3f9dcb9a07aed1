/**
 * Horizontal bars grouped by GPU, in the report's visual language (style.ts): one row per category
 * (a padding strategy, an execution mode), one bar per GPU within it in the GPU's colour, the bar's
 * fill giving the alignment class (solid / light / hollow), p10-p90 as a whisker, and a label at the
 * bar's end. Horizontal, because a label beside each bar has its own row and cannot collide with
 * its neighbours' (vertical bars side by side print "2.67x2.67x2.70x").
 */
import type { AlignmentClass } from "./alignment.js";
import { alignmentEncoding, gpuStroke, legendValues, type GpuPalette } from "./style.js";
import type { Row } from "./spec.js";

export interface GpuBarOptions {
  palette: GpuPalette;
  /** Rows carry: `category`, `order` (sort key of the category), `gpu`, `value`, `alignment`, `fill_opacity`, `label` and `label_at` (x of the label: the bar's or whisker's end), optional `p10`/`p90`. */
  rows: Row[];
  valueTitle: string;
  /** Shared x domain end; leaves room for the labels right of the longest bar. */
  xMax: number;
  tooltip: Record<string, string>[];
}

/** Pixels per bar and between categories, so a panel's height follows its rows. */
export const BAR_STEP = 11;
const CATEGORY_GAP = 8;

/** Height of a panel holding `categories` rows of `gpus` bars each. */
export function barPanelHeight(categories: number, gpus: number): number {
  return categories * (gpus * BAR_STEP + CATEGORY_GAP);
}

export function gpuBarLayers(o: GpuBarOptions): unknown[] {
  const gpus = legendValues(
    o.palette.domain,
    o.rows.map((r) => String(r.gpu)),
  );
  const y = { field: "category", type: "nominal", title: null, sort: { field: "order", op: "min" }, axis: { labelLimit: 150, ticks: false } };
  const yOffset = { field: "gpu", type: "nominal", scale: { domain: gpus }, sort: gpus };
  const x = { field: "value", type: "quantitative", title: o.valueTitle, scale: { domain: [0, o.xMax], nice: false, zero: true }, axis: { tickCount: 6 } };
  const gpuLegend = { values: gpus, title: "GPU", columns: Math.min(gpus.length, 3) };
  return [
    {
      mark: { type: "bar", height: BAR_STEP - 2, strokeWidth: 1.3 },
      encoding: {
        y,
        yOffset,
        x,
        fill: { field: "gpu", type: "nominal", title: "GPU", scale: { domain: o.palette.domain, range: o.palette.colors }, legend: { ...gpuLegend, symbolType: "square" } },
        stroke: { ...gpuStroke(o.palette), legend: { ...gpuLegend, symbolType: "square" } },
        ...alignmentEncoding(o.rows.map((r) => r.alignment as AlignmentClass)),
        tooltip: o.tooltip,
      },
    },
    {
      transform: [{ filter: "isValid(datum.p10) && isValid(datum.p90)" }],
      mark: { type: "rule", strokeWidth: 1.2, color: "#333333" },
      encoding: { y, yOffset, x: { field: "p10", type: "quantitative" }, x2: { field: "p90" } },
    },
    {
      mark: { type: "text", align: "left", baseline: "middle", dx: 4, fontSize: 10 },
      encoding: { y, yOffset, x: { field: "label_at", type: "quantitative" }, text: { field: "label" }, tooltip: o.tooltip },
    },
  ];
}
