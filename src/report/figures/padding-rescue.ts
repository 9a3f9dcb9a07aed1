/**
 * P1: a logical head_dim run raw and padded (107 -> 112, 128): latency bars, memory overhead and the
 * max |diff| of the padded output against the raw one. HET1: heterogeneous per-head dims run per
 * group raw, per group padded, or as one padded call.
 */
import { alignmentClass, type AlignmentClass } from "../alignment.js";
import { barPanelHeight, gpuBarLayers } from "../bars.js";
import { environmentSentence } from "../environment.js";
import { formatMs, formatPct } from "../markdown-table.js";
import { environmentsOf, fixedShape, uniq, variantLabel, varyingKeys, type FlatRecord } from "../records.js";
import { chart, makeTable, tip, type Row } from "../spec.js";
import { ALIGNMENT_WORDS, alignmentFill, gpuPalette, legendValues, panelWidth } from "../style.js";
import type { Figure, Table } from "../types.js";

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
  const palette = gpuPalette(all.map((r) => r.gpuLabel));
  // One bar per GPU and physical size: strategies that pad to the same size run the same kernel (the table has each).
  const bars = new Map<string, Row>();
  for (const r of [...measured].sort((p, q) => Number(p.order) - Number(q.order))) {
    const key = `${String(r.group)}\u0000${String(r.physical)}`;
    const seen = bars.get(key);
    if (seen) seen.strategies = `${String(seen.strategies)}, ${String(r.config)}`;
    else bars.set(key, { ...r, strategies: String(r.config) });
  }
  const barRows: Row[] = [...bars.values()].map((r) => ({
    ...r,
    panel: `head_dim ${String(r.logical).replace(/^logical /, "")}`,
    category: r.physical === Number(String(r.logical).replace(/^logical /, "")) ? `raw ${String(r.physical)}` : `→ ${String(r.physical)}`,
    value: r.median_ms,
    p10: r.p10_ms,
    p90: r.p90_ms,
    fill_opacity: alignmentFill(r.alignment as AlignmentClass),
    label: r.speedup_label,
    label_at: Math.max(Number(r.median_ms), Number(r.p90_ms ?? 0)),
  }));
  const logicals = uniq(barRows.map((r) => String(r.panel)));
  const gpus = legendValues(
    palette.domain,
    barRows.map((r) => String(r.gpu)),
  );
  const categoriesPerPanel = Math.max(...logicals.map((l) => uniq(barRows.filter((r) => r.panel === l).map((r) => String(r.category))).length));
  const columns = Math.min(3, logicals.length);
  const xMax = Math.max(...barRows.map((r) => Number(r.label_at))) * 1.28;
  const layer = gpuBarLayers({
    palette,
    rows: barRows,
    valueTitle: "Latency (ms, median)",
    xMax,
    tooltip: [
      tip("gpu", "GPU"),
      tip("group", "Case"),
      tip("strategies", "Strategies"),
      tip("physical", "Physical head_dim", "d"),
      tip("median_ms", "median (ms)", ".3f"),
      tip("overhead_pct", "memory overhead (%)", ".1f"),
      tip("speedup_pct", "speedup vs raw (%)", ".1f"),
      tip("max_abs_diff", "max |diff|", ".2e"),
    ],
  });
  const figures: Figure[] =
    measured.length === 0
      ? []
      : [
          {
            name: "p1-padding-rescue",
            title: "P1: padding rescue",
            caption: `A misaligned head_dim run raw and zero-padded, one panel per logical head_dim: a row per physical size ("raw 107", "→ 112"), a bar per GPU in its colour; ${ALIGNMENT_WORDS.replace("marker", "bar")} (of the physical size); the number at a padded bar's end is its speedup over raw on that GPU; whiskers p10-p90. Strategies that pad to the same size (multiple_8 and multiple_16 of 107 both give 112) run the same kernel and share one bar; each is in the table, with the memory overhead and max |diff|. ${env}`,
            spec: chart({
              title: "P1: padding rescue",
              subtitle: [gpus.join(", "), fixedShape(records, ["batch", "heads", "q_len", "kv_len", "dtype"])],
              rows: barRows,
              layer,
              facetWrap: logicals.length > 1 ? { field: "panel", columns, order: logicals, independentX: false } : undefined,
              width: panelWidth(columns, 40),
              height: barPanelHeight(categoriesPerPanel, gpus.length),
              independent: ["yOffset"],
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
const HET_MODE_LABEL: Record<string, string> = { per_group_raw: "per-group raw", per_group_padded: "per-group padded", single_padded: "single padded" };
/** Params that tell HET1 cases apart when a run has several (the panel title names only those that vary). */
const HET_CASE_KEYS = ["batch", "heads_per_group", "q_len", "kv_len", "dtype", "causal", "backend", "pad_multiple", "group_head_dims"];

/** The worst alignment class among a mode's physical head dims (raw 114..125: misaligned; padded to 120/128: 8-aligned). */
function worstAlignment(dims: number[]): AlignmentClass {
  const classes = dims.map(alignmentClass);
  return classes.includes("misaligned") ? "misaligned" : classes.includes("8-aligned") ? "8-aligned" : "16-aligned";
}

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
  const caseKeys = varyingKeys(records, HET_CASE_KEYS);
  const rows: Row[] = records.map((r) => {
    const base = baseline.get(caseKey(r));
    const ms = r.stats?.median_ms ?? null;
    const physical = Array.isArray(r.extra?.physical_head_dims) ? r.extra.physical_head_dims.filter((d): d is number => typeof d === "number") : [];
    const alignment = physical.length > 0 ? worstAlignment(physical) : r.params.mode === "per_group_raw" ? "misaligned" : "8-aligned";
    return {
      group: caseKey(r),
      gpu: r.gpuLabel,
      panel: caseKeys.map((k) => `${k} ${Array.isArray(r.params[k]) ? (r.params[k] as unknown[]).join(",") : String(r.params[k])}`).join(", "),
      alignment,
      fill_opacity: alignmentFill(alignment),
      mode: String(r.params.mode ?? "unknown"),
      order: HET_MODE_ORDER.indexOf(String(r.params.mode)),
      median_ms: ms,
      p10_ms: r.stats?.p10_ms ?? null,
      p90_ms: r.stats?.p90_ms ?? null,
      vs_raw_pct: base !== undefined && ms !== null ? (base / ms - 1) * 100 : null,
      vs_raw_label: base !== undefined && ms !== null && r.params.mode !== "per_group_raw" ? `${(base / ms).toFixed(2)}×` : "",
      max_abs_diff: typeof r.extra?.max_abs_diff === "number" ? r.extra.max_abs_diff : null,
      error: r.error ? `${r.error.type}: ${r.error.message}` : "",
    };
  });
  const measured = rows.filter((r) => r.median_ms !== null);
  const palette = gpuPalette(all.map((r) => r.gpuLabel));
  const panels = uniq(measured.map((r) => String(r.panel)));
  const barRows: Row[] = measured.map((r) => ({
    ...r,
    category: HET_MODE_LABEL[String(r.mode)] ?? String(r.mode),
    value: r.median_ms,
    p10: r.p10_ms,
    p90: r.p90_ms,
    label: r.vs_raw_label,
    label_at: Math.max(Number(r.median_ms), Number(r.p90_ms ?? 0)),
  }));
  const gpus = legendValues(
    palette.domain,
    barRows.map((r) => String(r.gpu)),
  );
  const layer = gpuBarLayers({
    palette,
    rows: barRows,
    valueTitle: "Latency (ms, median)",
    xMax: Math.max(...barRows.map((r) => Number(r.label_at))) * 1.3,
    tooltip: [
      tip("gpu", "GPU"),
      tip("group", "Case"),
      tip("mode", "Mode"),
      tip("median_ms", "median (ms)", ".3f"),
      tip("vs_raw_pct", "speedup vs per-group raw (%)", ".1f"),
      tip("max_abs_diff", "max |diff|", ".2e"),
    ],
  });
  const dims = uniq(records.flatMap((r) => (Array.isArray(r.params.group_head_dims) ? r.params.group_head_dims.filter((d): d is number => typeof d === "number") : [])));
  const perGroup = uniq(records.map((r) => r.params.heads_per_group).filter((v) => typeof v === "number"));
  const groupsLine = dims.length > 0 ? `${dims.length} groups${perGroup.length === 1 ? ` × ${String(perGroup[0])} heads` : ""}, head_dims ${dims.join(", ")}` : "";
  const shape = fixedShape(records, ["batch", "q_len", "kv_len", "dtype", "pad_multiple"]);
  const modes = uniq(measured.map((r) => String(r.mode))).length;
  const columns = Math.min(2, panels.length);
  const figures: Figure[] =
    measured.length === 0
      ? []
      : [
          {
            name: "het1-heterogeneous",
            title: "HET1: heterogeneous head dims",
            caption: `Heads with different dims (${groupsLine || "per group"}; ${shape}) run as one call per group at raw size, one call per group padded to a multiple of ${String(records[0].params.pad_multiple ?? 8)}, or one call with every head padded to the largest. A bar per GPU in its colour; ${ALIGNMENT_WORDS.replace("marker", "bar")} (worst physical size of the mode); the number at a bar's end is its speedup over per-group raw; whiskers p10-p90.${panels.length > 1 ? ` One panel per case (${caseKeys.join(", ")}).` : ""} ${env}`,
            spec: chart({
              title: "HET1: heterogeneous head dims",
              subtitle: [gpus.join(", "), groupsLine],
              rows: barRows,
              layer,
              facetWrap: panels.length > 1 ? { field: "panel", columns, independentX: false } : undefined,
              width: panels.length > 1 ? panelWidth(columns, 60) : 520,
              height: barPanelHeight(modes, gpus.length),
              independent: ["yOffset"],
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
