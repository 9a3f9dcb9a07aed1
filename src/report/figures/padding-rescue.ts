/**
 * P1: a logical head_dim run raw and padded (107 -> 112, 128): latency bars, memory overhead and the
 * max |diff| of the padded output against the raw one. HET1: heterogeneous per-head dims run per
 * group raw, per group padded, or as one padded call.
 */
import { alignmentClass } from "../alignment.js";
import { environmentSentence } from "../environment.js";
import { formatMs, formatPct } from "../markdown-table.js";
import { environmentsOf, fixedShape, uniq, variantLabel, varyingKeys, type FlatRecord } from "../records.js";
import { chart, makeTable, tip, type Row } from "../spec.js";
import { ALIGNMENT_COLOR } from "../theme.js";
import type { Figure, Table } from "../types.js";

const errorBars = (x: object) => ({
  transform: [{ filter: "isValid(datum.p10_ms) && isValid(datum.p90_ms)" }],
  mark: { type: "rule", strokeWidth: 1.5, color: "#333333" },
  encoding: { x, y: { field: "p10_ms", type: "quantitative" }, y2: { field: "p90_ms" } },
});

/** Bars left to right: raw, then the strategies from least to most padding, then any other (published "pad to N"). */
const STRATEGY_ORDER = ["multiple_8", "multiple_16", "fixed_128"];
function strategyRank(strategy: unknown): number {
  const i = STRATEGY_ORDER.indexOf(String(strategy));
  return i >= 0 ? i : STRATEGY_ORDER.length;
}

/** The bar label of a P1 case: "raw (107)", "multiple_8 (112)", or "pad to 112" when no strategy is named. */
function configLabel(r: FlatRecord, logical: number, phys: number): string {
  if (phys === logical) return `raw (${logical})`;
  const strategy = typeof r.params.strategy === "string" && r.params.strategy !== "raw" ? r.params.strategy : undefined;
  return strategy && !strategy.startsWith("pad to") ? `${strategy} (${phys})` : `pad to ${phys}`;
}

export function buildPaddingRescue(all: FlatRecord[]): { figures: Figure[]; tables: Table[] } {
  const records = all.filter((r) => r.suite === "P1" && typeof r.params.head_dim === "number");
  if (records.length === 0) return { figures: [], tables: [] };
  const env = environmentSentence(environmentsOf(records));
  const physical = (r: FlatRecord) => (typeof r.params.pad_to === "number" ? r.params.pad_to : typeof r.extra?.physical_head_dim === "number" ? r.extra.physical_head_dim : (r.params.head_dim ?? 0));
  const variantKeys = varyingKeys(records, ["dtype", "causal"]);
  const group = (r: FlatRecord) => [`logical ${r.params.head_dim}`, r.gpuLabel, ...(variantKeys.length > 0 ? [variantLabel(r, variantKeys)] : [])].join(" · ");
  const rawOf = new Map<string, FlatRecord>();
  for (const r of records) if (physical(r) === r.params.head_dim && r.stats) rawOf.set(group(r), r);
  const rows: Row[] = records.map((r) => {
    const phys = physical(r);
    const raw = rawOf.get(group(r));
    const logical = r.params.head_dim ?? 0;
    const ms = r.stats?.median_ms ?? null;
    const speedup = raw?.stats && ms !== null ? (raw.stats.median_ms / ms - 1) * 100 : null;
    return {
      group: group(r),
      config: configLabel(r, logical, phys),
      physical: phys,
      logical: `logical ${logical}`,
      gpu: r.gpuLabel,
      order: phys === logical ? -1 : strategyRank(r.params.strategy) * 1000 + phys,
      alignment: alignmentClass(phys),
      median_ms: ms,
      p10_ms: r.stats?.p10_ms ?? null,
      p90_ms: r.stats?.p90_ms ?? null,
      overhead_pct: ((phys - logical) / logical) * 100,
      speedup_pct: speedup,
      speedup_label: speedup === null || phys === logical || raw?.stats === undefined || ms === null ? "" : `${(raw.stats.median_ms / ms).toFixed(2)}×`,
      max_abs_diff: typeof r.extra?.max_abs_diff === "number" ? r.extra.max_abs_diff : null,
      error: r.error ? `${r.error.type}: ${r.error.message}` : "",
    };
  });
  const measured = rows.filter((r) => r.median_ms !== null);
  const groups = uniq(measured.map((r) => String(r.group)));
  const gpus = uniq(records.map((r) => r.gpuLabel));
  const x = { field: "config", type: "nominal", title: "Physical head_dim (strategy)", sort: { field: "order", op: "min" }, axis: { labelAngle: -35, labelAlign: "right" } };
  const y = { field: "median_ms", type: "quantitative", title: "Latency (ms, median)" };
  const layer = [
    {
      mark: { type: "bar", width: { band: 0.7 } },
      encoding: {
        x,
        y,
        color: { field: "alignment", type: "nominal", title: "Alignment (physical)", scale: ALIGNMENT_COLOR },
        tooltip: [
          tip("group", "Case"),
          tip("config", "Config"),
          tip("median_ms", "median (ms)", ".3f"),
          tip("overhead_pct", "memory overhead (%)", ".1f"),
          tip("speedup_pct", "speedup vs raw (%)", ".1f"),
          tip("max_abs_diff", "max |diff|", ".2e"),
        ],
      },
    },
    errorBars(x),
    { mark: { type: "text", dy: -8, fontSize: 11, fontWeight: "bold" }, encoding: { x, y, text: { field: "speedup_label" } } },
  ];
  const logicals = uniq(measured.map((r) => String(r.logical)));
  // A grid: one column per logical head_dim, one row per GPU (a published A100 beside measured H200 runs).
  const grid = logicals.length > 1 || gpus.length > 1 || groups.length > 1;
  const figures: Figure[] =
    measured.length === 0
      ? []
      : [
          {
            name: "p1-padding-rescue",
            title: "P1: padding rescue",
            caption: `A misaligned head_dim run raw and zero-padded by each strategy, one panel per logical head_dim; bar colour gives the alignment class of the physical size (raw bars are the misaligned ones, and every bar's label names its physical size), the number above each padded bar its speedup over raw, error bars p10-p90. Memory overhead and max |diff| are in the table. ${env}`,
            spec: chart({
              title: "P1: padding rescue",
              subtitle: [gpus.join(", "), fixedShape(records, ["batch", "heads", "q_len", "kv_len", "dtype"])],
              rows: measured,
              layer,
              facetGrid: grid ? { row: "gpu", column: "logical", independentX: true } : undefined,
              width: grid ? 150 : 380,
              height: grid ? 200 : 260,
            }),
          },
        ];
  const tableRows = rows.map((r) => [
    String(r.group),
    String(r.config),
    String(r.physical),
    formatPct(Number(r.overhead_pct)),
    r.median_ms === null ? "refused" : formatMs(Number(r.median_ms)),
    r.speedup_pct === null ? "-" : formatPct(Number(r.speedup_pct)),
    r.max_abs_diff === null ? "-" : Number(r.max_abs_diff).toExponential(2),
    String(r.error),
  ]);
  return {
    figures,
    tables: [
      makeTable(
        "p1-padding-rescue",
        "P1: padding rescue",
        `Raw vs padded head_dim: memory overhead of the padding, latency, speedup over raw, and max |diff| of the padded output against raw. ${env}`,
        ["Case", "Config", "Physical dim", "Memory overhead", "Latency (ms)", "Speedup vs raw", "max |diff|", "Note"],
        tableRows,
      ),
    ],
  };
}

const HET_MODE_ORDER = ["per_group_raw", "per_group_padded", "single_padded"];

export function buildHeterogeneous(all: FlatRecord[]): { figures: Figure[]; tables: Table[] } {
  const records = all.filter((r) => r.suite === "HET1");
  if (records.length === 0) return { figures: [], tables: [] };
  const env = environmentSentence(environmentsOf(records));
  // A HET1 case is its params minus mode/pad_to; the modes are the bars within it.
  const caseKey = (r: FlatRecord) => {
    const { mode: _mode, pad_to: _pad, op: _op, ...rest } = r.params;
    const desc = Object.entries(rest)
      .filter(([, v]) => v !== undefined && (typeof v !== "object" || Array.isArray(v)))
      .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(",") : String(v)}`)
      .join(" ");
    return `${r.gpuLabel}${desc ? ` · ${desc}` : ""}`;
  };
  const baseline = new Map<string, number>();
  for (const r of records) if (r.params.mode === "per_group_raw" && r.stats) baseline.set(caseKey(r), r.stats.median_ms);
  const rows: Row[] = records.map((r) => {
    const base = baseline.get(caseKey(r));
    const ms = r.stats?.median_ms ?? null;
    return {
      group: caseKey(r),
      mode: String(r.params.mode ?? "unknown"),
      order: HET_MODE_ORDER.indexOf(String(r.params.mode)),
      median_ms: ms,
      p10_ms: r.stats?.p10_ms ?? null,
      p90_ms: r.stats?.p90_ms ?? null,
      vs_raw_pct: base !== undefined && ms !== null ? (base / ms - 1) * 100 : null,
      vs_raw_label: base !== undefined && ms !== null && r.params.mode !== "per_group_raw" ? `${(base / ms).toFixed(2)}× vs raw` : "",
      max_abs_diff: typeof r.extra?.max_abs_diff === "number" ? r.extra.max_abs_diff : null,
      error: r.error ? `${r.error.type}: ${r.error.message}` : "",
    };
  });
  const measured = rows.filter((r) => r.median_ms !== null);
  const groups = uniq(measured.map((r) => String(r.group)));
  const x = { field: "mode", type: "nominal", title: "Execution mode", sort: { field: "order", op: "min" }, axis: { labelAngle: 0 } };
  const layer = [
    {
      mark: { type: "bar", width: { band: 0.6 } },
      encoding: {
        x,
        y: { field: "median_ms", type: "quantitative", title: "Latency (ms, median)" },
        color: { field: "mode", type: "nominal", title: "Mode", sort: HET_MODE_ORDER, scale: { domain: HET_MODE_ORDER, range: ["#D55E00", "#E69F00", "#0072B2"] } },
        tooltip: [
          tip("group", "Case"),
          tip("mode", "Mode"),
          tip("median_ms", "median (ms)", ".3f"),
          tip("vs_raw_pct", "speedup vs per-group raw (%)", ".1f"),
          tip("max_abs_diff", "max |diff|", ".2e"),
        ],
      },
    },
    errorBars(x),
    { mark: { type: "text", dy: -8, fontSize: 12, fontWeight: "bold" }, encoding: { x, y: { field: "median_ms", type: "quantitative" }, text: { field: "vs_raw_label" } } },
  ];
  const dims = uniq(records.flatMap((r) => (Array.isArray(r.params.group_head_dims) ? r.params.group_head_dims.filter((d): d is number => typeof d === "number") : [])));
  const perGroup = uniq(records.map((r) => r.params.heads_per_group).filter((v) => typeof v === "number"));
  const subtitle = [
    uniq(records.map((r) => r.gpuLabel)).join(", "),
    dims.length > 0 ? `${dims.length} groups${perGroup.length === 1 ? ` × ${String(perGroup[0])} heads` : ""}, head_dims ${dims.join(", ")}` : "",
  ];
  const figures: Figure[] =
    measured.length === 0
      ? []
      : [
          {
            name: "het1-heterogeneous",
            title: "HET1: heterogeneous head dims",
            caption: `Heads with different dims run as one call per group at raw size, one call per group padded to a multiple of 8, or one call with every head padded to the largest; the label above a padded bar is its speedup over per-group raw; error bars p10-p90. ${env}`,
            spec: chart({
              title: "HET1: heterogeneous head dims",
              subtitle,
              rows: measured,
              layer,
              facetWrap: groups.length > 1 ? { field: "group", columns: 2 } : undefined,
              width: 380,
              height: 260,
            }),
          },
        ];
  const tableRows = rows.map((r) => [
    String(r.group),
    String(r.mode),
    r.median_ms === null ? "refused" : formatMs(Number(r.median_ms)),
    r.vs_raw_pct === null ? "-" : formatPct(Number(r.vs_raw_pct)),
    r.max_abs_diff === null ? "-" : Number(r.max_abs_diff).toExponential(2),
    String(r.error),
  ]);
  return {
    figures,
    tables: [
      makeTable(
        "het1-heterogeneous",
        "HET1: heterogeneous head dims",
        `Latency per execution mode and speedup against per-group raw. ${env}`,
        ["Case", "Mode", "Latency (ms)", "Speedup vs per-group raw", "max |diff|", "Note"],
        tableRows,
      ),
    ],
  };
}
