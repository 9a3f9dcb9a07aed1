/**
 * The compression study (compress-study-input.ts): for each method and budget, five variants
 *   a unaligned (as the method picks), b a + gac repair (OPTIMAL zero padding to x16),
 *   c rounded down to x16, d rounded up to x16 with real vectors, e --align profile;
 * figure `compress-study`: perplexity against parameters, one panel per method and budget, each
 * variant a point named by its letter (variants on one point share it: "b = d"), filled when every
 * chosen size is a multiple of 16 and hollow when not (style.ts's alignment fill);
 * figure `compress-study-speed`, where the H200 speed run was given: prefill ms at real size against
 * parameters, one panel per real-size model and budget, points in the GPU's colour and shape;
 * table `compress-study`: every variant with its sizes, parameters, perplexity and measured times.
 */
import type { TopLevelSpec } from "vega-lite";
import type { AlignmentClass } from "../alignment.js";
import { methodOfStem, STUDY_VARIANTS, withAliases, type CompressSpeedRun, type CompressStudy, type SpeedPoint, type StudyEntry, type StudyVariant } from "../compress-study-input.js";
import { environmentSentence } from "../environment.js";
import { placeLabels } from "../label-layout.js";
import { formatMs } from "../markdown-table.js";
import { uniq } from "../records.js";
import { chartTitle, makeTable, paddedDomain, tip, type Row } from "../spec.js";
import { alignmentEncoding, alignmentFill, gpuMarkEncoding, gpuPalette, gpuStroke, panelWidth, VEGA_CONFIG } from "../style.js";
import type { Environment, Figure, Table } from "../types.js";

export const VARIANT_WORDS: Record<StudyVariant, string> = {
  a: "unaligned (as the method picks)",
  b: "a + gac repair (zero padding to x16)",
  c: "rounded down to x16",
  d: "rounded up to x16, real vectors",
  e: "--align profile (H200)",
};

const COLUMNS = 4;
/** 12 px spare: the y axis labels of perplexity (5.420) are a little wider than style.ts allows for. */
const PANEL_WIDTH = panelWidth(COLUMNS, 12);
const PANEL_HEIGHT = 170;
const LABEL_FONT = 11;
/** As label-layout.ts reckons a label: 0.62 em a character, 9 px from its point. */
const LABEL_CHAR_EM = 0.62;
const LABEL_GAP_PX = 9;
/** The study's points have no GPU: one neutral ink, the alignment fill and the letter carry the meaning. */
const STUDY_INK = "#333333";
/** The engine the study times (bench/compress-study.ts's default --engine). */
export const STUDY_ENGINE = "gac/eager/static";

/** Every chosen size a multiple of 16: filled; otherwise hollow. */
export function studyAlignment(e: Pick<StudyEntry, "aligned16">): AlignmentClass {
  return e.aligned16.total > 0 && e.aligned16.of16 === e.aligned16.total ? "16-aligned" : "misaligned";
}

/** Perplexity of each study checkpoint, by directory, from the study's eval document(s). */
export function studyPerplexity(study: CompressStudy): Map<string, number> {
  return new Map(study.evals.flatMap((d) => d.results.map((r) => [r.dir, r.perplexity] as [string, number])));
}

const panelName = (method: string, budget: number) => `${method}, budget ${budget}`;
/** A panel title on two lines, name and budget (the PNG renderer reckons 0.8 em a character, and a title wider than its panel widens the figure). */
const panelTitleLines = (name: string): string[] => name.split(", ");

/** Points closer than this (px) share one label: two labels would stand for one visible mark. */
const SAME_POINT_PX = 5;

/**
 * Variants drawn on one spot share one label, in a-e order: "b = d" when their values are equal,
 * "b ≈ d" when they only fall within SAME_POINT_PX of each other.
 */
function groupSame<T extends { variant: StudyVariant; x: number; y: number }>(items: T[], xDomain: [number, number], yDomain: [number, number]): { members: T[]; text: string }[] {
  const px = (v: number, [lo, hi]: [number, number], size: number) => ((v - lo) / (hi - lo || 1)) * size;
  const near = (a: T, b: T) =>
    Math.abs(px(a.x, xDomain, PANEL_WIDTH) - px(b.x, xDomain, PANEL_WIDTH)) <= SAME_POINT_PX && Math.abs(px(a.y, yDomain, PANEL_HEIGHT) - px(b.y, yDomain, PANEL_HEIGHT)) <= SAME_POINT_PX;
  const groups: T[][] = [];
  for (const it of [...items].sort((p, q) => STUDY_VARIANTS.indexOf(p.variant) - STUDY_VARIANTS.indexOf(q.variant))) {
    const g = groups.find((gr) => near(gr[0], it));
    if (g) g.push(it);
    else groups.push([it]);
  }
  return groups.map((members) => ({ members, text: members.map((m) => m.variant).join(members.every((m) => m.x === members[0].x && m.y === members[0].y) ? " = " : " ≈ ") }));
}

interface PanelData {
  rows: Row[];
  xDomain: [number, number];
  yDomain: [number, number];
}

/** Points and placed letter labels of one panel (data x, y already in the plotted units). */
function panelRows(panel: string, items: { variant: StudyVariant; x: number; y: number; extra: Row; yExtent?: [number, number] }[]): PanelData {
  const padded = paddedDomain(
    items.map((i) => i.x),
    0.1,
    0.01,
  );
  const yDomain = paddedDomain(
    items.flatMap((i) => [i.y, ...(i.yExtent ?? [])]),
    0.15,
    0.005,
  );
  const groups = groupSame(items, padded, yDomain);
  // Room right of the rightmost point for the longest label, so no label is pushed left onto another point.
  const longest = Math.max(...groups.map((g) => g.text.length)) * LABEL_FONT * LABEL_CHAR_EM + LABEL_GAP_PX + 4;
  const maxX = Math.max(...items.map((i) => i.x));
  const xDomain: [number, number] = [padded[0], Math.max(padded[1], padded[0] + ((maxX - padded[0]) * PANEL_WIDTH) / (PANEL_WIDTH - longest))];
  const rows: Row[] = items.map((i) => ({ panel, kind: "point", variant: i.variant, x: i.x, y: i.y, ...i.extra }));
  const anchors = groups.map((g) => ({ x: g.members[0].x, y: g.members[0].y, text: g.text }));
  placeLabels(anchors, items, { xDomain, yDomain, width: PANEL_WIDTH, height: PANEL_HEIGHT, fontSize: LABEL_FONT }).forEach((l) => rows.push({ panel, kind: "label", label: l.text, x: l.x, y: l.y }));
  return { rows, xDomain, yDomain };
}

function facetSpec(
  title: string | { text: string; subtitle: string[] },
  panels: { name: string; data: PanelData }[],
  xTitle: string,
  yTitle: string,
  pointEncoding: Record<string, unknown>,
  tooltip: unknown[],
  extraLayers: (x: object, y: object) => unknown[] = () => [],
): TopLevelSpec {
  const hconcatRows: unknown[] = [];
  for (let i = 0; i < panels.length; i += COLUMNS) {
    hconcatRows.push({
      hconcat: panels.slice(i, i + COLUMNS).map(({ name, data }) => {
        const x = { field: "x", type: "quantitative", title: xTitle, scale: { domain: data.xDomain, nice: false }, axis: { tickCount: 4, labelOverlap: true } };
        const y = { field: "y", type: "quantitative", title: yTitle, scale: { domain: data.yDomain, nice: false }, axis: { tickCount: 5 } };
        return {
          title: { text: panelTitleLines(name), fontSize: 12, anchor: "start" },
          width: PANEL_WIDTH,
          height: PANEL_HEIGHT,
          data: { values: data.rows },
          layer: [
            ...extraLayers(x, y),
            { transform: [{ filter: { field: "kind", equal: "point" } }], mark: { type: "point", size: 70, strokeWidth: 1.6, opacity: 1 }, encoding: { x, y, ...pointEncoding, tooltip } },
            {
              transform: [{ filter: { field: "kind", equal: "label" } }],
              mark: { type: "text", align: "left", baseline: "middle", fontSize: LABEL_FONT, color: "#222222" },
              encoding: { x, y, text: { field: "label" } },
            },
          ],
        };
      }),
    });
  }
  return { title, config: VEGA_CONFIG, vconcat: hconcatRows, spacing: 18, resolve: { scale: { x: "independent", y: "independent" } } } as unknown as TopLevelSpec;
}

/** The alignment legend in the study's words: its classes are "every size x16" or not (no 8-aligned class here). */
function withAlignmentWords(enc: Record<string, unknown>): Record<string, unknown> {
  const opacity = enc.opacity as { legend: Record<string, unknown> };
  return { ...enc, opacity: { ...opacity, legend: { ...opacity.legend, labelExpr: "datum.value === '16-aligned' ? 'every size a multiple of 16' : 'not every size a multiple of 16'" } } };
}

function perplexityFigure(study: CompressStudy, env: Environment | undefined): Figure | undefined {
  const ppl = studyPerplexity(study);
  const entries = study.entries.filter((e) => ppl.has(e.dir));
  if (entries.length === 0) return undefined;
  const keys = uniq(entries.map((e) => `${e.method}\u0000${e.budget}`));
  const panels = keys.map((k) => {
    const [method, budget] = k.split("\u0000");
    const name = panelName(method, Number(budget));
    const items = entries
      .filter((e) => e.method === method && String(e.budget) === budget)
      .map((e) => {
        const cls = studyAlignment(e);
        return {
          variant: e.variant,
          x: e.params / 1e6,
          y: ppl.get(e.dir) ?? 0,
          extra: { alignment: cls, fill_opacity: alignmentFill(cls), sizes: e.sizes, x16: `${e.aligned16.of16}/${e.aligned16.total}`, words: VARIANT_WORDS[e.variant] } as Row,
        };
      });
    return { name, data: panelRows(name, items) };
  });
  const present = uniq(entries.map(studyAlignment));
  const evalDoc = study.evals[0];
  const dense = study.evals.flatMap((d) => d.results).find((r) => r.dir === study.model);
  const encoding = {
    stroke: { value: STUDY_INK },
    fill: { value: STUDY_INK },
    shape: { value: "circle" },
    ...withAlignmentWords(alignmentEncoding(present, "alignment", "Chosen sizes")),
  };
  const tooltip = [
    tip("panel", "Method, budget"),
    tip("variant", "Variant"),
    tip("words", "What it is"),
    tip("sizes", "Sizes"),
    tip("x16", "Sizes x16"),
    tip("x", "parameters (M)", ".3f"),
    tip("y", "perplexity", ".4f"),
  ];
  const targets = evalDoc ? `${evalDoc.targets.toLocaleString("en-US")} held-out targets` : "the eval's targets";
  const caption =
    `Perplexity (\`gac eval\`, ${evalDoc?.device === "cpu" ? "CPU float64" : (evalDoc?.gpu ?? "")}, ${targets}) against parameters of the bundled model's compressed variants, one panel per method and budget (its own scales). ` +
    `Variants: ${STUDY_VARIANTS.map((v) => `${v} ${VARIANT_WORDS[v]}`).join("; ")}. Variants with the same parameters and perplexity share a point and a label ("b = d"). ` +
    `Filled: every size the variant chose is a multiple of 16; hollow: not every one (how many, in the table compress-study).${dense ? ` The dense model: ${(dense.params / 1e6).toFixed(3)}M parameters, perplexity ${dense.perplexity.toFixed(4)}.` : ""} ` +
    `Lower and further left is better; at equal parameters d against b says whether rounding up with real vectors beats zero padding. ${env ? environmentSentence([env]) : ""}`;
  const subtitle = [`variants a-e; filled: every size x16, hollow: not; ${targets}`];
  return {
    name: "compress-study",
    title: "Compression study: perplexity against parameters",
    caption,
    spec: facetSpec(chartTitle("Compression study: perplexity against parameters", subtitle), panels, "Parameters (M)", "Perplexity", encoding, tooltip),
  };
}

/** Prefill at batch 1 and the longest prompt in the study's engine configuration, per variant label. */
export function prefillPoints(runs: readonly CompressSpeedRun[]): (SpeedPoint & { gpu: string })[] {
  const out = new Map<string, SpeedPoint & { gpu: string }>();
  for (const run of runs)
    for (const p of withAliases(run)) {
      if (p.phase !== "prefill" || p.batch !== 1 || p.config !== STUDY_ENGINE) continue;
      const key = `${run.env.gpu}\u0000${p.label}`;
      const have = out.get(key);
      if (!have || p.length > have.length) out.set(key, { ...p, gpu: run.env.gpu });
    }
  return [...out.values()];
}

function speedFigure(runs: readonly CompressSpeedRun[], envs: Environment[], allGpuLabels: readonly string[]): Figure | undefined {
  const points = prefillPoints(runs);
  if (points.length === 0) return undefined;
  const palette = gpuPalette([...allGpuLabels, ...points.map((p) => p.gpu)]);
  const keys = uniq(points.map((p) => `${p.stem}\u0000${p.budget}`));
  const panels = keys.map((k) => {
    const [stem, budget] = k.split("\u0000");
    const name = panelName(stem, Number(budget));
    const items = points
      .filter((p) => p.stem === stem && String(p.budget) === budget)
      .map((p) => ({
        variant: p.variant,
        x: p.params / 1e9,
        y: p.median_ms,
        extra: { gpu: p.gpu, lo: p.p10_ms, hi: p.p90_ms, n: p.n, words: VARIANT_WORDS[p.variant] } as Row,
        yExtent: [p.p10_ms, p.p90_ms] as [number, number],
      }));
    return { name, data: panelRows(name, items) };
  });
  const gpus = uniq(points.map((p) => p.gpu));
  const lengths = uniq(points.map((p) => p.length)).join(" / ");
  const missing = uniq(runs.flatMap((r) => withAliases(r).map((p) => p.label))).filter((l) => !points.some((p) => p.label === l));
  const spread = (x: object, y: object) => [
    {
      transform: [{ filter: { field: "kind", equal: "point" } }],
      mark: { type: "rule", strokeWidth: 1.4, clip: true },
      encoding: { x, y: { ...y, field: "lo" }, y2: { field: "hi" }, stroke: gpuStroke(palette) },
    },
  ];
  const caption =
    `Prefill time of one ${lengths}-token prompt at batch 1 (median of ${uniq(points.map((p) => p.n)).join(" or ")} runs, the rule p10-p90) against parameters, for the real-size variants of the study (random weights, BF16, engine ${STUDY_ENGINE}, docs/e2e-protocol.md), one panel per model and budget. ` +
    `Variants: ${STUDY_VARIANTS.map((v) => `${v} ${VARIANT_WORDS[v]}`).join("; ")}. A variant with another's shapes was timed once: it shares that variant's point and label ("b = d = e", from the run's aliases file; without one it has no point); variants within a few pixels share a label ("b ≈ d"). ` +
    `Points are filled in the GPU's colour: the worker lines do not record the real-size sizes, so no alignment fill is drawn (b, c and d are multiples of 16 by construction).${missing.length > 0 ? ` Timed in other configurations only: ${missing.length} variant(s), in the table.` : ""} ${environmentSentence(envs)}`;
  return {
    name: "compress-study-speed",
    title: "Compression study: prefill time at real size",
    caption,
    spec: facetSpec(
      chartTitle("Compression study: prefill at real size against parameters", [`${gpus.join(", ")}; ${STUDY_ENGINE}, batch 1, ${lengths} tokens; median, p10-p90`]),
      panels,
      "Parameters (B)",
      "Prefill (ms)",
      { ...gpuMarkEncoding(palette, gpus), fillOpacity: { value: 1 } },
      [
        tip("panel", "Model, budget"),
        tip("variant", "Variant"),
        tip("words", "What it is"),
        tip("gpu", "GPU"),
        tip("x", "parameters (B)", ".3f"),
        tip("y", "median (ms)", ".2f"),
        tip("lo", "p10 (ms)", ".2f"),
        tip("hi", "p90 (ms)", ".2f"),
      ],
      spread,
    ),
  };
}

function studyTable(study: CompressStudy, runs: readonly CompressSpeedRun[], envs: Environment[]): Table {
  const ppl = studyPerplexity(study);
  const methods = uniq(study.entries.map((e) => e.method));
  const speed = (e: StudyEntry, phase: "prefill" | "decode") => {
    const ps = runs
      .flatMap((r) => withAliases(r))
      .filter((p) => p.phase === phase && p.batch === 1 && p.config === STUDY_ENGINE && p.budget === e.budget && p.variant === e.variant && methodOfStem(p.stem, methods) === e.method);
    return ps.length === 0 ? "-" : ps.map((p) => `${formatMs(p.median_ms)} (${formatMs(p.p10_ms)}-${formatMs(p.p90_ms)})`).join(" / ");
  };
  const realParams = (e: StudyEntry) => {
    const ps = runs.flatMap((r) => withAliases(r)).filter((p) => p.budget === e.budget && p.variant === e.variant && methodOfStem(p.stem, methods) === e.method);
    return uniq(ps.map((p) => `${(p.params / 1e9).toFixed(3)}B`)).join(" / ") || "-";
  };
  const hasSpeed = runs.some((r) => r.points.length > 0);
  const rows = study.entries.map((e) => {
    const p = ppl.get(e.dir);
    const row = [
      e.method,
      String(e.budget),
      `${e.variant}: ${VARIANT_WORDS[e.variant]}`,
      e.sizes,
      `${e.aligned16.of16}/${e.aligned16.total}`,
      `${(e.params / 1e6).toFixed(3)}M`,
      p === undefined ? "-" : p.toFixed(4),
    ];
    if (hasSpeed) row.push(realParams(e), speed(e, "prefill"), speed(e, "decode"));
    return row;
  });
  const columns = ["Method", "Budget", "Variant", "Sizes", "Sizes x16", "Parameters", "Perplexity"];
  if (hasSpeed) columns.push("Real-size parameters", `Prefill ms, batch 1 (p10-p90)`, "Decode ms/step, batch 1 (p10-p90)");
  const caption =
    `Every variant of the study: the sizes it chose (range), how many are multiples of 16, parameters and perplexity of the bundled model's variant (\`gac eval\`)` +
    (hasSpeed
      ? `, and at real size (random weights, ${STUDY_ENGINE}) its parameters and prefill (longest prompt) and decode (longest context) times; "-": not timed under this name (a variant with another's shapes is timed once)`
      : "") +
    `. ${environmentSentence(envs)}`;
  return makeTable("compress-study", "Compression study: every variant", caption, columns, rows);
}

export function buildCompressStudy(
  studies: readonly CompressStudy[],
  runs: readonly CompressSpeedRun[],
  envOf: (file: string) => Environment | undefined,
  allGpuLabels: readonly string[],
): { figures: Figure[]; tables: Table[] } {
  const study = studies[0];
  if (study === undefined) return { figures: [], tables: [] };
  const studyEnv = envOf(study.file);
  const speedEnvs = runs.map((r) => envOf(r.file)).filter((e): e is Environment => e !== undefined);
  const figures = [perplexityFigure(study, studyEnv), speedFigure(runs, speedEnvs, allGpuLabels)].filter((f): f is Figure => f !== undefined);
  return { figures, tables: [studyTable(study, runs, [...(studyEnv ? [studyEnv] : []), ...speedEnvs])] };
}
