/**
 * Suite e2e (`gac bench e2e`): each repair's end-to-end speedup over its unrepaired model, per
 * engine configuration and grid point, with the dense parent beside it. Self-contained (its own
 * vega-lite spec, no shared chart helper): one measured point per (model, configuration, point,
 * GPU), a GPU a colour, the variant a shape, the p10-p90 spread as a rule through the point, and
 * a line at 1x (no change). Above 1 the repair (or the parent) is faster than the unrepaired model.
 */
import type { TopLevelSpec } from "vega-lite";
import { readE2eRows, speedup, type E2eMeasurement } from "../../bench/e2e/measurements.js";
import type { FlatRecord } from "../records.js";
import type { Figure, Table } from "../types.js";

const FONT = "DejaVu Sans";
/** A GPU a colour (Tableau 10, colour-blind safe order). */
const GPU_COLORS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7"];
const VARIANT_SHAPES: Record<string, string> = { none: "circle", MINIMAL: "triangle-up", OPTIMAL: "diamond", PREDEFINED: "square", TRADEOFF: "cross", parent: "triangle-down" };

interface Point {
  checkpoint: string;
  variant: string;
  config: string;
  point: string;
  gpu: string;
  speedup: number;
  lo: number;
  hi: number;
  median_ms: number;
  unrepaired_ms: number;
  /** Variant and GPU: where a point sits inside its configuration's band, so GPUs never cover each other. */
  series: string;
}

function pointLabel(m: Pick<E2eMeasurement, "phase" | "batch" | "length">): string {
  return m.phase === "prefill" ? `prefill ${m.batch}x${m.length}` : `decode B${m.batch} ctx ${m.length}`;
}

/** Speedups of every variant (and the dense parent) over the unrepaired model, per configuration and point. */
export function e2eSpeedupPoints(records: readonly FlatRecord[]): Point[] {
  const rows = records.filter((r) => r.suite === "e2e");
  const { measurements } = readE2eRows(rows.map((r) => ({ ...r, gpu: r.gpuLabel })));
  const baseOf = new Map(rows.map((r) => [String(r.params.model), String(r.params.base_model ?? "")]));
  const out: Point[] = [];
  for (const base of measurements.filter((m) => m.role === "checkpoint" && m.variant === "none")) {
    const same = (m: E2eMeasurement) => m.config === base.config && m.point === base.point && m.gpu === base.gpu;
    const others = measurements.filter(
      (m) => same(m) && ((m.role === "checkpoint" && m.checkpoint === base.checkpoint) || (m.role === "parent" && baseOf.get(m.model) === baseOf.get(base.model) && baseOf.get(base.model) !== "")),
    );
    for (const m of others) {
      const s = speedup(base, m);
      out.push({
        checkpoint: base.checkpoint,
        variant: m.role === "parent" ? "parent" : m.variant,
        config: base.config,
        point: pointLabel(base),
        gpu: base.gpu,
        speedup: s.x,
        lo: s.lo,
        hi: s.hi,
        median_ms: m.median_ms,
        unrepaired_ms: base.median_ms,
        series: `${m.role === "parent" ? "parent" : m.variant} · ${base.gpu}`,
      });
    }
  }
  return out;
}

export function buildE2eFigure(records: readonly FlatRecord[]): { figures: Figure[]; tables: Table[] } {
  const values = e2eSpeedupPoints(records);
  if (values.length === 0) return { figures: [], tables: [] };
  const gpus = [...new Set(values.map((v) => v.gpu))];
  const variants = [...new Set(values.map((v) => v.variant))];
  const x = { field: "config", type: "nominal", title: "Engine configuration", axis: { labelAngle: -35, labelLimit: 320 } } as const;
  const y = { field: "speedup", type: "quantitative", title: "Speedup over the unrepaired model (x)", scale: { type: "log" } } as const;
  const color = { field: "gpu", type: "nominal", title: "GPU", scale: { domain: gpus, range: GPU_COLORS.slice(0, gpus.length) } } as const;
  const spec: TopLevelSpec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    data: { values },
    config: { font: FONT, view: { stroke: "#ddd" } },
    facet: { row: { field: "checkpoint", type: "nominal", title: null }, column: { field: "point", type: "nominal", title: null } },
    spec: {
      width: 260,
      height: 180,
      layer: [
        { mark: { type: "rule", color: "#999", strokeDash: [4, 3] }, encoding: { y: { datum: 1, type: "quantitative", scale: { type: "log" } } } },
        { mark: { type: "rule", strokeWidth: 1.5 }, encoding: { x, y: { field: "lo", type: "quantitative", scale: { type: "log" } }, y2: { field: "hi" }, color, xOffset: { field: "series" } } },
        {
          mark: { type: "point", filled: true, size: 60, opacity: 0.9 },
          encoding: {
            x,
            y,
            color,
            xOffset: { field: "series" },
            shape: { field: "variant", type: "nominal", title: "Model", scale: { domain: variants, range: variants.map((v) => VARIANT_SHAPES[v] ?? "circle") } },
            tooltip: [
              { field: "checkpoint" },
              { field: "variant" },
              { field: "config" },
              { field: "point" },
              { field: "gpu" },
              { field: "median_ms", title: "median ms", format: ".3f" },
              { field: "unrepaired_ms", title: "unrepaired ms", format: ".3f" },
              { field: "speedup", format: ".2f" },
            ],
          },
        },
      ],
    },
  };
  return {
    figures: [
      {
        name: "e2e-speedup",
        title: "End to end: speedup of each repair per engine configuration",
        caption:
          "Whole models (`gac bench e2e`): median time of the unrepaired model over each variant's median time at the same engine configuration and grid point, one panel per checkpoint (rows) and point (columns); " +
          "shapes are the unrepaired model (1x), each repair strategy and the dense parent, colours the GPUs; the rule through a point spans unrepaired p10 / variant p90 to unrepaired p90 / variant p10. Above the dashed line the variant is faster. " +
          "Decode in transformers/sdpa*/dynamic at a cuDNN-eligible head_dim pays cuDNN's re-plan per KV length on sm90 (docs/e2e.md).",
        spec,
      },
    ],
    tables: [],
  };
}
