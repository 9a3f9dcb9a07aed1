/**
 * G3 (K swept) and G4 (N swept): GEMM throughput, 2*M*N*K / time, against the swept dimension, by
 * alignment class. The table gives the mean throughput of each class per GPU, the seeds' C23 view
 * (16-aligned ~91, 8-aligned ~77, misaligned ~37-40 TFLOP/s on A100).
 */
import { ALIGNMENT_CLASSES, alignmentClass } from "../alignment.js";
import { environmentSentence } from "../environment.js";
import { formatPct } from "../markdown-table.js";
import { environmentsOf, uniq, variantLabel, type FlatRecord } from "../records.js";
import { chart, makeTable, paddedDomain, tip, type Row } from "../spec.js";
import { ALIGNMENT_COLOR, ALIGNMENT_SHAPE } from "../theme.js";
import type { Figure, Table } from "../types.js";

export function tflops(m: number, n: number, k: number, ms: number): number {
  return (2 * m * n * k) / (ms * 1e-3) / 1e12;
}

const SWEPT = { G3: "k", G4: "n" } as const;
const AXIS_TITLE = { k: "K, reduction dim (elements)", n: "N, output dim (elements)", m: "M (elements)" } as const;

/** The swept dim is the suite's (G3: K, G4: N) unless the data says otherwise (the one with most values). */
function sweptDim(suite: "G3" | "G4", records: FlatRecord[]): "m" | "n" | "k" {
  const counts = (["m", "n", "k"] as const).map((d) => ({ d, c: uniq(records.map((r) => r.params[d])).length }));
  const preferred = SWEPT[suite];
  const best = counts.reduce((a, b) => (b.c > a.c ? b : a));
  return counts.find((c) => c.d === preferred)?.c === best.c ? preferred : best.d;
}

export function buildGemmThroughput(suite: "G3" | "G4", all: FlatRecord[]): { figures: Figure[]; tables: Table[] } {
  const records = all.filter((r) => r.suite === suite && typeof r.params.m === "number" && typeof r.params.n === "number" && typeof r.params.k === "number");
  const measured = records.filter((r) => r.stats);
  if (measured.length === 0) return { figures: [], tables: [] };
  const dim = sweptDim(suite, measured);
  const env = environmentSentence(environmentsOf(records));
  const rows: Row[] = measured.map((r) => {
    const { m = 0, n = 0, k = 0 } = r.params;
    const ms = r.stats?.median_ms ?? 0;
    return { gpu: r.gpuLabel, variant: variantLabel(r, ["dtype", "op"]), dim: r.params[dim] ?? 0, m, n, k, alignment: alignmentClass(r.params[dim] ?? 0), median_ms: ms, tflops: tflops(m, n, k, ms) };
  });
  const fixed = (["m", "n", "k"] as const).filter((d) => d !== dim).map((d) => {
    const vals = uniq(measured.map((r) => r.params[d]));
    return vals.length === 1 ? `${d.toUpperCase()}=${String(vals[0])}` : `${d.toUpperCase()} varies`;
  });
  const variants = uniq(rows.map((r) => String(r.variant)));
  const x = { field: "dim", type: "quantitative", title: AXIS_TITLE[dim], scale: { domain: paddedDomain(rows.map((r) => Number(r.dim))), nice: false } };
  const y = { field: "tflops", type: "quantitative", title: "Throughput (TFLOP/s)" };
  const layer = [
    { mark: { type: "line", color: "#9a9a9a", strokeWidth: 1.2 }, encoding: { x, y, detail: { field: "variant" }, strokeDash: { field: "variant", type: "nominal", title: "Variant", legend: variants.length > 1 ? {} : null } } },
    {
      mark: { type: "point", filled: true, size: 70, opacity: 1 },
      encoding: {
        x,
        y,
        color: { field: "alignment", type: "nominal", title: `Alignment of ${dim.toUpperCase()}`, scale: ALIGNMENT_COLOR },
        shape: { field: "alignment", type: "nominal", title: `Alignment of ${dim.toUpperCase()}`, scale: ALIGNMENT_SHAPE },
        tooltip: [tip("gpu", "GPU"), tip("variant", "Variant"), tip("m", "M", "d"), tip("n", "N", "d"), tip("k", "K", "d"), tip("alignment", "Alignment"), tip("median_ms", "median (ms)", ".4f"), tip("tflops", "TFLOP/s", ".1f")],
      },
    },
  ];
  const title = `${suite}: GEMM throughput vs ${dim.toUpperCase()}`;
  const figure: Figure = {
    name: `${suite.toLowerCase()}-gemm-${dim}`,
    title,
    caption: `GEMM throughput (2·M·N·K / median time) as ${dim.toUpperCase()} sweeps with ${fixed.join(", ")}; blue circles: ${dim.toUpperCase()} a multiple of 16, orange squares: of 8 only, red triangles: misaligned. ${env}`,
    spec: chart({ title, subtitle: fixed.join(", "), rows, layer, facetRow: "gpu" }),
  };
  const tableRows: string[][] = [];
  for (const gpu of uniq(rows.map((r) => String(r.gpu)))) {
    const mean = (cls: string) => {
      const xs = rows.filter((r) => r.gpu === gpu && r.alignment === cls).map((r) => Number(r.tflops));
      return xs.length > 0 ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
    };
    const best = mean("16-aligned");
    for (const cls of ALIGNMENT_CLASSES) {
      const count = rows.filter((r) => r.gpu === gpu && r.alignment === cls).length;
      if (count === 0) continue;
      const v = mean(cls);
      tableRows.push([gpu, cls, String(count), v.toFixed(1), Number.isFinite(best) ? formatPct((v / best - 1) * 100) : "-"]);
    }
  }
  return {
    figures: [figure],
    tables: [makeTable(`${suite.toLowerCase()}-gemm-${dim}`, `${title}: mean by alignment class`, `Mean throughput of each alignment class of ${dim.toUpperCase()}, against the 16-aligned mean. ${env}`, ["GPU", "Alignment", "Cases", "Mean TFLOP/s", "vs 16-aligned"], tableRows)],
  };
}
