/**
 * The few numbers per suite that tell its story (the seeds' headline comparisons: d=107 against 96
 * and 112, K=107 against 112, raw against padded), picked from finished records.
 */
import type { ParamValue } from "./suites.js";
import type { ResultRecord } from "../store/types.js";

interface HeadlineSpec {
  /** Records must match these params. */
  where: Record<string, ParamValue>;
  /** The param that labels a row. */
  by: string;
  /** Which values of `by` to show, in order (all, in record order, when absent). */
  values?: (string | number)[];
  /** The value of `by` every row is compared with. */
  baseline: string | number;
}

const HEADLINES: Record<string, HeadlineSpec> = {
  S1: { where: { dtype: "fp16", causal: false }, by: "head_dim", values: [64, 96, 104, 107, 112, 120, 128], baseline: 96 },
  S2: { where: { head_dim: 107 }, by: "backend", baseline: "AUTO" },
  C21: { where: { backend: "AUTO" }, by: "head_dim", values: [112, 113, 117, 120, 121], baseline: 112 },
  G3: { where: {}, by: "k", values: [96, 107, 112, 128], baseline: 112 },
  G4: { where: {}, by: "n", values: [96, 107, 112, 128], baseline: 112 },
  P1: { where: { head_dim: 107 }, by: "strategy", baseline: "raw" },
  HET1: { where: {}, by: "mode", baseline: "per_group_raw" },
  decode: { where: {}, by: "head_dim", values: [96, 107, 112, 128], baseline: 112 },
  GQA: { where: { q_len: 1 }, by: "head_dim", values: [96, 107, 112, 128], baseline: 112 },
};

interface HeadlineRow {
  suite: string;
  /** e.g. "head_dim=107" or "k=107 (m=8192)" when the suite has several shapes. */
  label: string;
  median_ms?: number;
  p10_ms?: number;
  p90_ms?: number;
  /** Outcome when there are no stats (backend_refused, oom...). */
  error?: string;
  /** median / baseline median - 1, when both were measured. */
  vsBaseline?: number;
  baselineLabel: string;
}

function matches(params: Record<string, ParamValue>, where: Record<string, ParamValue>): boolean {
  return Object.entries(where).every(([k, v]) => params[k] === v);
}

/** Params other than `by` that vary among the selected records: they split a suite into groups. */
function varyingKeys(records: ResultRecord[], by: string): string[] {
  const keys = new Set(records.flatMap((r) => Object.keys(r.params)));
  return [...keys].filter((k) => k !== by && k !== "op" && new Set(records.map((r) => JSON.stringify(r.params[k]))).size > 1).sort();
}

export function headlineRows(records: readonly ResultRecord[]): HeadlineRow[] {
  const rows: HeadlineRow[] = [];
  for (const [suite, spec] of Object.entries(HEADLINES)) {
    const selected = records.filter((r) => r.suite === suite && matches(r.params, spec.where) && (!spec.values || spec.values.includes(r.params[spec.by] as string | number)));
    if (selected.length === 0) continue;
    const splitBy = varyingKeys(selected, spec.by);
    const groups = new Map<string, ResultRecord[]>();
    for (const r of selected) {
      const key = splitBy.map((k) => `${k}=${String(r.params[k])}`).join(", ");
      groups.set(key, [...(groups.get(key) ?? []), r]);
    }
    for (const [groupLabel, group] of groups) {
      const order = spec.values ?? [...new Set(group.map((r) => r.params[spec.by]))];
      const baseline = group.find((r) => r.params[spec.by] === spec.baseline)?.stats?.median_ms;
      for (const value of order) {
        const r = group.find((x) => x.params[spec.by] === value);
        if (!r) continue;
        const label = `${spec.by}=${String(value)}${groupLabel ? ` (${groupLabel})` : ""}`;
        const row: HeadlineRow = { suite, label, baselineLabel: `${spec.by}=${String(spec.baseline)}` };
        if (r.stats) {
          row.median_ms = r.stats.median_ms;
          row.p10_ms = r.stats.p10_ms;
          row.p90_ms = r.stats.p90_ms;
          if (baseline !== undefined && value !== spec.baseline) row.vsBaseline = r.stats.median_ms / baseline - 1;
        } else {
          row.error = r.error?.type ?? "no result";
        }
        rows.push(row);
      }
    }
  }
  return rows;
}

/** Fixed-width text table of headline rows. */
export function renderHeadline(rows: readonly HeadlineRow[]): string {
  if (rows.length === 0) return "";
  const cells = rows.map((r) => [
    r.suite,
    r.label,
    r.median_ms !== undefined ? `${r.median_ms.toFixed(3)} ms` : (r.error ?? ""),
    r.p10_ms !== undefined && r.p90_ms !== undefined ? `[${r.p10_ms.toFixed(3)}-${r.p90_ms.toFixed(3)}]` : "",
    r.vsBaseline !== undefined ? `${r.vsBaseline >= 0 ? "+" : ""}${(r.vsBaseline * 100).toFixed(1)}% vs ${r.baselineLabel}` : "",
  ]);
  const header = ["suite", "case", "median", "p10-p90", ""];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) =>
    c
      .map((x, i) => x.padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  return [line(header), ...cells.map(line)].join("\n") + "\n";
}
