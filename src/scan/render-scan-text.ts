/**
 * renderScanText: the human summary of a ScanReport, in the spirit of the seeds' tables: the
 * model, the GPU profile times are predicted from (or the one line saying there is none), the
 * irregular values per family with their alignment shares, the collapsed calls grouped (identical
 * kind, shape, verdict and reason collapse into one block with a count, example ids and predicted
 * time), each strategy's overhead and predicted time, the applicability verdict and config
 * disagreements.
 */
import { escapeControls, truncateText } from "../errors.js";
import type { DimName } from "../model/dims.js";
import { STRATEGIES, type Strategy } from "../plan/types.js";
import { textTable } from "./text-table.js";
import type { FamilySummary, ScanCall, ScanProfile, ScanReport } from "./types.js";

const EXAMPLES_SHOWN = 3;
/** Distinct collapsed-call groups printed; the rest are counted (--json lists every call). */
const GROUPS_SHOWN = 20;
const VERDICT_ORDER = { refused: 0, slow: 1, fast: 2 } as const;
/** Run ids or tables named in the profile line; the rest are counted. */
const RUNS_SHOWN = 2;

function pct(share: number | null): string {
  return share === null ? "-" : `${(100 * share).toFixed(1)}%`;
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

/**
 * 12.346, 0.312, 0.0457, <0.001: three decimals from 0.1 ms, three significant digits down to 1 µs,
 * and below that only a bound (a kernel launch alone takes a few µs; --json has the exact value).
 */
function ms(v: number): string {
  if (v === 0) return "0";
  if (v < 0.001) return "<0.001";
  return v >= 0.1 ? v.toFixed(3) : v.toPrecision(3);
}

/** "+38.5%", "-0.8%", "0.0%": signed so that a slowdown and a speedup read differently. */
function signedPct(v: number): string {
  const text = `${Math.abs(v).toFixed(1)}%`;
  return text === "0.0%" ? text : `${v > 0 ? "+" : "-"}${text}`;
}

function profileLines(p: ScanProfile | null, gpuName: string): string[] {
  if (p === null) return [`Profile: no measured profile for ${gpuName}; run \`gac bench\` and \`gac profile\` on it, or pass --profile <file>`];
  const runs = p.runs.slice(0, RUNS_SHOWN).join(", ") + (p.runs.length > RUNS_SHOWN ? `, +${p.runs.length - RUNS_SHOWN} more` : "");
  const what = p.source === "measured" ? `measured on ${p.gpu} (${p.runs.length === 1 ? "run" : "runs"} ${runs})` : `published numbers for ${p.gpu}, not measured by gac (tables ${runs})`;
  return [`Profile: ${what}; ${p.path}`, ...p.notes.map((n) => `  note: ${n}`)];
}

/** The unrepaired total, split by phase, and the collapsed calls' share of it. */
function predictedTotalLine(report: ScanReport): string | null {
  const total = report.summary.predicted_ms;
  if (total === null) return null;
  const sum = (keep: (c: ScanCall) => boolean) => report.calls.reduce((a, c) => a + (keep(c) && c.predicted_ms !== null ? c.predicted_ms : 0), 0);
  const coverage = report.summary.predicted_calls === report.calls.length ? "every call" : `${report.summary.predicted_calls} of ${report.calls.length} calls`;
  return (
    `Predicted: ${ms(total)} ms per forward pass unrepaired (prefill ${ms(sum((c) => c.phase === "prefill"))} ms + one decode step ` +
    `${ms(sum((c) => c.phase === "decode"))} ms; ${coverage}), ${ms(sum((c) => c.verdict !== "fast"))} ms of it in collapsed calls`
  );
}

function shapeText(call: ScanCall): string {
  if (call.kind === "gemm") return `m=${call.shape.m} n=${call.shape.n} k=${call.shape.k}`;
  const s = call.shape;
  const d = s.head_dim_qk === s.head_dim_v ? `${s.head_dim_qk}` : `${s.head_dim_qk}/${s.head_dim_v}`;
  return `batch=${s.batch} q=${s.q_len} kv=${s.kv_len} heads=${s.heads}/${s.kv_heads} head_dim=${d}`;
}

/** "114 (x12), 121 (x4)": irregular values of the given dim names with their counts. */
function irregularValues(report: ScanReport, names: readonly DimName[]): string {
  const counts = new Map<number, number>();
  for (const d of report.dims) if (names.includes(d.name) && !d.aligned8) counts.set(d.value, (counts.get(d.value) ?? 0) + 1);
  if (counts.size === 0) return "-";
  return [...counts]
    .sort(([a], [b]) => a - b)
    .map(([v, n]) => `${v} (x${n})`)
    .join(", ");
}

function familyRow(name: string, f: FamilySummary, irregular: string): string[] {
  const values = f.unique_values.length > 6 ? `${f.unique_values.length} values, ${f.unique_values[0]}..${f.unique_values[f.unique_values.length - 1]}` : f.unique_values.join(", ") || "-";
  return [name, String(f.count), values, pct(f.share_aligned8), pct(f.share_aligned16), irregular];
}

function collapsedGroups(calls: readonly ScanCall[]): { calls: ScanCall[]; first: ScanCall }[] {
  const groups = new Map<string, ScanCall[]>();
  for (const c of calls) {
    if (c.verdict === "fast") continue;
    const key = JSON.stringify([c.kind, c.shape, c.verdict, c.reason]);
    const list = groups.get(key);
    if (list) list.push(c);
    else groups.set(key, [c]);
  }
  // Refusals first, attention before GEMMs, then the most frequent; ties keep forward order.
  return [...groups.values()]
    .flatMap((list) => (list[0] ? [{ calls: list, first: list[0] }] : []))
    .sort((a, b) => VERDICT_ORDER[a.first.verdict] - VERDICT_ORDER[b.first.verdict] || Number(a.first.kind === "gemm") - Number(b.first.kind === "gemm") || b.calls.length - a.calls.length);
}

/** The TP/PP lines: whose shapes the report shows, one GPU's share, what the runtime refuses to split. */
function parallelLines(report: ScanReport): string[] {
  const t = report.tensor_parallel;
  if (t === undefined || (t.tp === 1 && t.pp === 1)) return [];
  const out: string[] = [];
  if (t.tp > 1) {
    const g = t.per_gpu;
    const list = (xs: number[]) => (xs.length > 6 ? `${xs[0]}..${xs[xs.length - 1]} (${xs.length} values)` : xs.join("/"));
    const ranks = new Set(t.collapsed_calls_by_rank).size === 1 ? "every rank alike" : `collapsed calls by rank: ${t.collapsed_calls_by_rank.join(", ")}`;
    out.push(`Tensor parallel: TP ${t.tp}; calls and dims below are GPU ${t.rank}'s (${ranks})`);
    out.push(
      `  per GPU: heads ${list(g.num_heads)}, kv heads ${list(g.num_kv_heads)}${g.kv_head_replicas > 1 ? ` (each on ${g.kv_head_replicas} GPUs)` : ""}, ` +
        `intermediate ${list(g.intermediate)}, lm_head rows ${g.lm_head_rows}`,
    );
    if (t.rule !== null) out.push(`  rules: ${t.rule}`);
    if (t.note !== null) out.push(`  note: ${t.note}`);
    // One line per rule: "refused (29 layers): {23, 25, ...} attention heads do not split over TP 8 (...)".
    const byRule = new Map<string, { text: string; values: number[] }>();
    for (const r of t.refusals) {
      const text = r.reason.replace(new RegExp(`\\b${r.value}\\b`), "{v}");
      const key = `${r.id.replace(/^layers\.\d+\./, "")}\u0000${text}`;
      const entry = byRule.get(key) ?? { text, values: [] };
      entry.values.push(r.value);
      byRule.set(key, entry);
    }
    for (const { text, values } of byRule.values()) {
      const distinct = [...new Set(values)].sort((a, b) => a - b);
      const shown = distinct.length > 6 ? `${distinct.slice(0, 6).join(", ")}, ... (${distinct.length} values)` : distinct.join(", ");
      out.push(`  refused${values.length > 1 ? ` (${values.length} layers)` : ""}: ${text.replace("{v}", shown)}`);
    }
  }
  if (t.pp_note !== null) out.push(`Pipeline parallel: PP ${t.pp}; ${t.pp_note}`);
  return out;
}

export function renderScanText(report: ScanReport): string {
  const m = report.model;
  const w = report.workload;
  const out: string[] = [];
  out.push(
    `Model: ${m.family} (${escapeControls(truncateText(m.model_type, 80))}), ${m.layers} layers, hidden ${m.hidden_size}, heads ${m.num_heads}/${m.num_kv_heads}, ` +
      `head_dim ${m.head_dim}, vocab ${m.vocab_size}, ${m.dtype}${m.serving_dtype !== m.dtype ? ` (judged and predicted as ${m.serving_dtype} serving)` : ""}` +
      `${m.heterogeneous ? ", heterogeneous layers" : ""}`,
  );
  out.push(`Runtime: ${report.runtime} on ${report.gpu.name}; prefill ${w.prefill_batch}x${w.prefill_len}, decode ${w.decode_batch} at kv ${w.kv_len}; gac ${report.gac_version}`);
  out.push(...profileLines(report.profile, report.gpu.name));
  out.push(...parallelLines(report));

  const s = report.summary;
  out.push("", `Dimensions (${s.irregular_dims} not a multiple of 8; aligned to 8: ${pct(s.share_aligned8)}, to 16: ${pct(s.share_aligned16)})`);
  out.push(
    ...textTable(
      ["family", "dims", "values", "aligned8", "aligned16", "irregular values (count)"],
      [
        familyRow("head_dim", s.by_family.head_dim, irregularValues(report, ["head_dim", "head_dim_v"])),
        familyRow("rank", s.by_family.rank, irregularValues(report, ["rank"])),
        familyRow("intermediate", s.by_family.intermediate, irregularValues(report, ["intermediate"])),
      ],
      ["left", "right", "left", "right", "right", "left"],
    ).map((l) => `  ${l}`),
  );

  const groups = collapsedGroups(report.calls);
  out.push("", `Collapsed calls: ${s.collapsed_calls} of ${report.calls.length} (${groups.length} distinct)`);
  const total = predictedTotalLine(report);
  if (total !== null) out.push(total);
  for (const g of groups.slice(0, GROUPS_SHOWN)) {
    const c = g.first;
    const ids = g.calls
      .slice(0, EXAMPLES_SHOWN)
      .map((x) => x.id)
      .join(", ");
    const more = g.calls.length > EXAMPLES_SHOWN ? `, ... (+${g.calls.length - EXAMPLES_SHOWN})` : "";
    out.push(`  [${c.verdict}] ${g.calls.length}x ${c.kind} ${c.phase} ${shapeText(c)}`);
    out.push(`      kernel: ${c.kernel}`);
    if (c.reason !== "") out.push(`      why:    ${c.reason}`);
    if (c.predicted_ms !== null) {
      const each = g.calls.length === 1 ? `${ms(c.predicted_ms)} ms` : `${ms(c.predicted_ms)} ms each, ${ms(c.predicted_ms * g.calls.length)} ms for ${g.calls.length}`;
      out.push(`      time:   ${each} (predicted)`);
    }
    out.push(`      e.g.    ${ids}${more}`);
  }
  if (groups.length > GROUPS_SHOWN) out.push(`  ... ${groups.length - GROUPS_SHOWN} more groups (--json lists every call)`);

  const withPredictions = STRATEGIES.some((k) => report.strategies[k].predicted_ms !== null);
  const unrepaired = s.predicted_ms === null ? [] : [["unrepaired", "-", "-", "-", "-", ms(s.predicted_ms), ""]];
  out.push("", "Repair strategies");
  out.push(
    ...textTable(
      ["strategy", "dims changed", "param overhead", "bytes added", "refusals", ...(withPredictions ? ["predicted ms", "speedup"] : [])],
      [
        ...(withPredictions ? unrepaired : []),
        ...STRATEGIES.map((k) => {
          const st = report.strategies[k];
          const row = [k, String(st.dims_changed), `${st.param_overhead_pct.toFixed(2)}%`, bytes(st.bytes_added), String(st.refusals.length)];
          if (!withPredictions) return row;
          return [...row, st.predicted_ms === null ? "-" : ms(st.predicted_ms), st.predicted_speedup_pct === null ? "-" : signedPct(st.predicted_speedup_pct)];
        }),
      ],
      ["left", "right", "right", "right", "right", "right", "right"],
    ).map((l) => `  ${l}`),
  );
  const partial = STRATEGIES.map((k) => report.strategies[k]).find((st) => st.predicted_ms !== null && st.predicted_calls < report.calls.length);
  if (partial) out.push(`  predicted over the ${partial.predicted_calls} of ${report.calls.length} calls the profile has tables for; speedup against the unrepaired time of the same calls`);
  const refusals = new Map<string, number>();
  for (const k of STRATEGIES) for (const r of report.strategies[k].refusals) refusals.set(r.reason, (refusals.get(r.reason) ?? 0) + 1);
  for (const [reason] of refusals) out.push(`  refused: ${reason}`);

  out.push(...renderDynamicCosts(report));

  out.push("", `Applicability: ${s.applicability.verdict}`, `  ${s.applicability.explanation}`);

  for (const n of m.notes ?? []) out.push("", `note: ${n}`);
  if (m.config_disagreements.length > 0) {
    out.push("", "config.json disagrees with the tensor shapes (shapes win):");
    for (const d of m.config_disagreements) out.push(`  - ${d}`);
  }
  return out.join("\n") + "\n";
}

/**
 * Costs that depend on how shapes change between calls, for the unrepaired model and for each
 * strategy that introduces one (a repair can make decode slower in a stock runtime).
 */
export function renderDynamicCosts(report: Pick<ScanReport, "dynamic_costs" | "strategies">): string[] {
  const out: string[] = [];
  const introducedBy = new Map<string, Strategy[]>();
  for (const k of STRATEGIES) for (const rule of report.strategies[k]?.dynamic_costs_introduced ?? []) introducedBy.set(rule, [...(introducedBy.get(rule) ?? []), k]);
  const findings = [
    ...(report.dynamic_costs ?? []).map((d) => ({ d, who: "the unrepaired model" })),
    ...[...introducedBy].flatMap(([rule, strategies]) => {
      const d = STRATEGIES.map((k) => report.strategies[k]?.dynamic_costs?.find((x) => x.rule === rule)).find((x) => x !== undefined);
      return d ? [{ d, who: `after repair (${strategies.join(", ")}): the repair introduces it` }] : [];
    }),
  ];
  if (findings.length === 0) return out;
  out.push("", "Costs that depend on how shapes change between calls (decode as generate() runs it: a growing cache)");
  for (const { d, who } of findings) {
    out.push(`  ${d.phase}: ${d.rule}, ${who} (${d.calls} calls)`);
    out.push(`      why:    ${d.trigger}`);
    out.push(`      cost:   ${d.cost}`);
    for (const f of d.fixes) out.push(`      fix:    ${f}`);
  }
  return out;
}
