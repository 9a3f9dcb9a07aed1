/**
 * G3 (K swept) and G4 (N swept): GEMM throughput, 2*M*N*K / time, against the swept dimension, by
 * alignment class, in the report's visual language (style.ts). The table gives the mean throughput of each class per GPU, the seeds' C23 view
 * (16-aligned ~91, 8-aligned ~77, misaligned ~37-40 TFLOP/s on A100).
 */
import { ALIGNMENT_CLASSES, alignmentClass, type AlignmentClass } from "../alignment.js";
import { PUBLISHED_SUFFIX } from "../profile-input.js";
import { environmentSentence } from "../environment.js";
import { formatPct } from "../markdown-table.js";
import { environmentsOf, uniq, variantLabel, varyingKeys, type FlatRecord } from "../records.js";
import { chart, makeTable, paddedDomain, tip, type Row } from "../spec.js";
import { ALIGNMENT_WORDS, alignedTicks, alignmentEncoding, alignmentFill, denseSegments, gpuMarkEncoding, gpuPalette, gpuStroke, joined, legendValues, panelWidth } from "../style.js";
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
  const palette = gpuPalette(all.map((r) => r.gpuLabel));
  const base = measured.map((r) => {
    const { m = 0, n = 0, k = 0 } = r.params;
    const ms = r.stats?.median_ms ?? 0;
    const cls = alignmentClass(r.params[dim] ?? 0);
    return {
      gpu: r.gpuLabel,
      panel: panelOf(r),
      dim: r.params[dim] ?? 0,
      m,
      n,
      k,
      alignment: cls,
      fill_opacity: alignmentFill(cls),
      median_ms: ms,
      tflops: tflops(m, n, k, ms),
      published: r.gpuLabel.endsWith(PUBLISHED_SUFFIX),
    };
  });
  const segments = denseSegments(
    base,
    (r) => `${r.gpu} | ${r.panel}`,
    (r) => r.dim,
    (r) => r.published,
  );
  const rows: Row[] = base.map((r, i) => ({ ...r, segment: segments[i] }));
  const panels = uniq(rows.map((r) => String(r.panel)));
  const gpus = legendValues(
    palette.domain,
    rows.map((r) => String(r.gpu)),
  );
  const domain = paddedDomain(rows.map((r) => Number(r.dim)));
  const x = { field: "dim", type: "quantitative", title: AXIS_TITLE[dim], scale: { domain, nice: false }, axis: { values: alignedTicks(domain[0], domain[1], 16) } };
  const y = { field: "tflops", type: "quantitative", title: "Throughput (TFLOP/s)" };
  const layer = [
    { mark: { type: "line", strokeWidth: 1.1, opacity: 0.7 }, encoding: { x, y, detail: { field: "segment" }, stroke: gpuStroke(palette) } },
    {
      mark: { type: "point", filled: true, size: 36, strokeWidth: 1.3 },
      encoding: {
        x,
        y,
        ...gpuMarkEncoding(palette, gpus),
        ...alignmentEncoding(
          rows.map((r) => r.alignment as AlignmentClass),
          "alignment",
          `Alignment of ${dim.toUpperCase()}`,
        ),
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
  const anyJoined = rows.some((r) => joined(String(r.segment)));
  const published = rows.some((r) => r.published);
  const figure: Figure = {
    name: `${suite.toLowerCase()}-gemm-${dim}`,
    title,
    caption: `GEMM throughput (2·M·N·K / median time) as ${dim.toUpperCase()} sweeps (${fixed}${panels.length > 1 ? ", one panel per size, each with its own y scale" : ""}). One colour and shape per GPU; ${ALIGNMENT_WORDS.replace(/multiple of/g, `${dim.toUpperCase()} a multiple of`)}. ${anyJoined ? "A line joins consecutive sizes only where every size between was measured" : "Points are not joined: the sweep skips sizes between them"}${published ? "; published points are never joined" : ""}. ${env}`,
    spec: chart({
      title,
      subtitle: [gpus.join(", "), [fixed, String(measured[0].params.dtype ?? "")].filter(Boolean).join(", ")],
      rows,
      layer,
      facetWrap: panels.length > 1 ? { field: "panel", columns: 1 } : undefined,
      width: panelWidth(1),
      height: panels.length > 1 ? 200 : 280,
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
