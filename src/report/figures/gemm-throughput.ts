/**
 * G3 (K swept) and G4 (N swept): GEMM throughput, 2*M*N*K / time, against the swept dimension, by
 * alignment class. The table gives the mean throughput of each class per GPU, the seeds' C23 view
 * (16-aligned ~91, 8-aligned ~77, misaligned ~37-40 TFLOP/s on A100).
 */
import { ALIGNMENT_CLASSES, alignmentClass } from "../alignment.js";
import { environmentSentence } from "../environment.js";
import { formatPct } from "../markdown-table.js";
import { environmentsOf, uniq, variantLabel, varyingKeys, type FlatRecord } from "../records.js";
import { chart, makeTable, paddedDomain, tip, type Row } from "../spec.js";
import { ALIGNMENT_COLOR, ALIGNMENT_SHAPE } from "../theme.js";
import type { Figure, Table } from "../types.js";

export function tflops(m: number, n: number, k: number, ms: number): number {
  return (2 * m * n * k) / (ms * 1e-3) / 1e12;
}

const SWEPT = { G3: "k", G4: "n" } as const;
const AXIS_TITLE = { k: "K, reduction dim (elements)", n: "N, output dim (elements)", m: "M (elements)" } as const;

/** The swept dim: the records' `sweep` param when they carry one, else the suite's (G3: K, G4: N) unless another has more values. */
function sweptDim(suite: "G3" | "G4", records: FlatRecord[]): "m" | "n" | "k" {
  const declared = uniq(records.map((r) => r.params.sweep));
  if (declared.length === 1 && (declared[0] === "m" || declared[0] === "n" || declared[0] === "k")) return declared[0];
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
  const fixedDims = (["m", "n", "k"] as const).filter((d) => d !== dim);
  // One panel per fixed shape (G3 runs M=N=4096 and 8192): the swept curve of each size on its own.
  const shapeOf = (r: FlatRecord) => fixedDims.map((d) => `${d.toUpperCase()}=${String(r.params[d])}`).join(" ");
  const panelKeys = varyingKeys(measured, ["dtype"]);
  const panelOf = (r: FlatRecord) => [shapeOf(r), ...(panelKeys.length > 0 ? [variantLabel(r, panelKeys)] : [])].join(" · ");
  const rows: Row[] = measured.map((r) => {
    const { m = 0, n = 0, k = 0 } = r.params;
    const ms = r.stats?.median_ms ?? 0;
    return { gpu: r.gpuLabel, panel: panelOf(r), dim: r.params[dim] ?? 0, m, n, k, alignment: alignmentClass(r.params[dim] ?? 0), median_ms: ms, tflops: tflops(m, n, k, ms) };
  });
  const panels = uniq(rows.map((r) => String(r.panel)));
  const gpus = uniq(rows.map((r) => String(r.gpu)));
  const x = { field: "dim", type: "quantitative", title: AXIS_TITLE[dim], scale: { domain: paddedDomain(rows.map((r) => Number(r.dim))), nice: false } };
  const y = { field: "tflops", type: "quantitative", title: "Throughput (TFLOP/s)" };
  const layer = [
    {
      mark: { type: "line", color: "#9a9a9a", strokeWidth: 1.1 },
      encoding: {
        x,
        y,
        detail: { field: "gpu" },
        strokeDash: { field: "gpu", type: "nominal", title: "GPU (line)", legend: gpus.length > 1 ? { labelLimit: 420, orient: "bottom", direction: "vertical" } : null },
      },
    },
    {
      mark: { type: "point", filled: true, size: 55, opacity: 1 },
      encoding: {
        x,
        y,
        color: { field: "alignment", type: "nominal", title: `Alignment of ${dim.toUpperCase()}`, scale: ALIGNMENT_COLOR },
        shape: { field: "alignment", type: "nominal", title: `Alignment of ${dim.toUpperCase()}`, scale: ALIGNMENT_SHAPE },
        tooltip: [
          tip("gpu", "GPU"),
          tip("m", "M", "d"),
          tip("n", "N", "d"),
          tip("k", "K", "d"),
          tip("alignment", "Alignment"),
          tip("median_ms", "median (ms)", ".4f"),
          tip("tflops", "TFLOP/s", ".1f"),
        ],
      },
    },
  ];
  const title = `${suite}: GEMM throughput vs ${dim.toUpperCase()}`;
  const fixed = panels.length === 1 ? panels[0] : `${fixedDims.map((d) => d.toUpperCase()).join(", ")} per panel`;
  const figure: Figure = {
    name: `${suite.toLowerCase()}-gemm-${dim}`,
    title,
    caption: `GEMM throughput (2·M·N·K / median time) as ${dim.toUpperCase()} sweeps (${fixed}${panels.length > 1 ? ", one panel per size, each with its own y scale" : ""}); blue circles: ${dim.toUpperCase()} a multiple of 16, orange squares: of 8 only, red triangles: misaligned.${gpus.length > 1 ? " Line dash tells the GPUs apart." : ""} ${env}`,
    spec: chart({
      title,
      subtitle: [gpus.join(", "), fixed, String(measured[0].params.dtype ?? "")],
      rows,
      layer,
      facetWrap: panels.length > 1 ? { field: "panel", columns: 1 } : undefined,
      width: 720,
      height: panels.length > 1 ? 220 : 300,
    }),
  };
  const tableRows: string[][] = [];
  for (const [gpu, panel] of uniq(rows.map((r) => `${String(r.gpu)}\u0000${String(r.panel)}`)).map((k) => k.split("\u0000"))) {
    const of = (r: Row) => r.gpu === gpu && r.panel === panel;
    const mean = (cls: string) => {
      const xs = rows.filter((r) => of(r) && r.alignment === cls).map((r) => Number(r.tflops));
      return xs.length > 0 ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
    };
    const best = mean("16-aligned");
    for (const cls of ALIGNMENT_CLASSES) {
      const count = rows.filter((r) => of(r) && r.alignment === cls).length;
      if (count === 0) continue;
      const v = mean(cls);
      tableRows.push([gpu, panel, cls, String(count), v.toFixed(1), Number.isFinite(best) ? formatPct((v / best - 1) * 100) : "-"]);
    }
  }
  return {
    figures: [figure],
    tables: [
      makeTable(
        `${suite.toLowerCase()}-gemm-${dim}`,
        `${title}: mean by alignment class`,
        `Mean throughput of each alignment class of ${dim.toUpperCase()}, against the 16-aligned mean. ${env}`,
        ["GPU", "Shape", "Alignment", "Cases", "Mean TFLOP/s", "vs 16-aligned"],
        tableRows,
      ),
    ],
  };
}
