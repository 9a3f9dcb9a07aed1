/**
 * From a scan: how a model's dims are distributed (the seeds' PaLU per-head counts scatter: value
 * against how many heads/sites have it, alignment as the marker's fill, a panel per kind of dim with
 * several values and one strip for the kinds with a single value), named by model; a
 * per-role summary, and the collapsed kernel calls grouped by what collapses and why.
 */
import { ALIGNMENT_CLASSES, alignmentClass, type AlignmentClass } from "../alignment.js";
import { formatMs } from "../markdown-table.js";
import { uniq } from "../records.js";
import { chartTitle, makeTable, tip, type Row } from "../spec.js";
import { ALIGNMENT_WORDS, VEGA_CONFIG, alignmentEncoding, alignmentFill, panelWidth } from "../style.js";
import type { Figure, ScanCall, ScanDim, ScanDoc, Table } from "../types.js";

/** A scan's own name: the model's name, else its file's ("scan-palu.json" -> "palu"), else family and type. */
function baseScanLabel(scan: ScanDoc): string {
  const file = (scan.file.split(/[\\/]/).pop() ?? scan.file)
    .replace(/\.json$/, "")
    .replace(/^scan-/, "")
    .replace(/\.scan$/, "");
  return scan.model.name ?? (file && file !== "scan" ? file : [scan.model.family, scan.model.model_type].filter(Boolean).join(" ") || shortPath(scan.file));
}

export function scanLabel(scan: ScanDoc): string {
  return scan.label ?? baseScanLabel(scan);
}

/**
 * Every scan with a label no other scan of the report shares: its own name, or, when two scans
 * would read the same ("palu palullama" for two PaLU models), the name with the scan's path.
 */
export function labelScans(scans: ScanDoc[]): ScanDoc[] {
  const base = scans.map(baseScanLabel);
  const labels = scans.map((s, i) => (base.filter((b) => b === base[i]).length > 1 ? `${base[i]} (${shortPath(s.file)})` : base[i]));
  return scans.map((s, i) => ({ ...s, label: labels.filter((l) => l === labels[i]).length > 1 ? `${labels[i]} #${i + 1}` : labels[i] }));
}

/** A file-name-safe form of a label: "palu-llama3-8b", "llama3 (a/scan.json)" -> "llama3-a-scan-json". */
export function slug(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "") || "scan"
  );
}

/** The last two parts of a path ("demo-rep/gac-repair.json"): enough to tell inputs apart, free of the machine's layout. */
export function shortPath(file: string): string {
  return file.split(/[\\/]/).filter(Boolean).slice(-2).join("/");
}

export function scanSentence(scan: ScanDoc): string {
  const parts = [`Scan of ${scanLabel(scan)}`];
  if (scan.model.family) parts.push(`family ${scan.model.family}`);
  if (scan.gpu) parts.push(`GPU ${scan.gpu}`);
  if (scan.runtime) parts.push(`runtime ${scan.runtime}`);
  parts.push(scan.profile ? `times predicted from the ${scan.profile.gpu} profile (${scan.profile.source})` : "no GPU profile, so no predicted times");
  return `${parts.join(", ")} (${shortPath(scan.file)}).`;
}

/** Counts of attention heads are dims of the model but not widths a kernel tiles; they are not plotted. */
const NOT_WIDTHS = new Set(["heads", "kv_heads"]);

/**
 * The panel a dim is drawn in: its kind (head_dim, rank, intermediate, ...), and for ranks the
 * block without its layer index ("rank · self_attn", "rank · mlp"), as in the seeds' all-KV scatter.
 */
export function dimGroup(d: ScanDim): string {
  if (!d.name) return d.role;
  const block = d.role.replace(/^layers\.\d+\./, "").split(".")[0];
  return d.name === "rank" && block && block !== d.role ? `rank · ${block}` : d.name;
}

/** 10, 100, 1000, ... within [lo, hi]: the ticks of a log axis, without its minor grid. */
function powersOfTen(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let v = 10 ** Math.ceil(Math.log10(lo)); v <= hi; v *= 10) out.push(v);
  return out;
}

/** Colour of the marks of a scan figure: no GPU is drawn, so one neutral colour; alignment is the fill. */
const SCAN_INK = "#333333";

export function buildScanDims(scans: ScanDoc[]): { figures: Figure[]; tables: Table[] } {
  const figures: Figure[] = [];
  const tables: Table[] = [];
  for (const scan of scans) {
    const sfx = `-${slug(scanLabel(scan))}`;
    const widths = scan.dims.filter((d) => !NOT_WIDTHS.has(d.name ?? ""));
    if (widths.length > 0) {
      const counts = new Map<string, Row>();
      for (const d of widths) {
        const key = `${dimGroup(d)}\u0000${d.value}`;
        const cls = alignmentClass(d.value);
        const row = counts.get(key) ?? { role: dimGroup(d), value: d.value, count: 0, zero: 0, alignment: cls, fill_opacity: alignmentFill(cls) };
        row.count = Number(row.count) + 1;
        counts.set(key, row);
      }
      const all = [...counts.values()].sort((a, b) => String(a.role).localeCompare(String(b.role)) || Number(a.value) - Number(b.value));
      const roles = uniq(all.map((r) => String(r.role)));
      // A kind with one value is one point: those share a strip ("vocab 32000 ×1"), the others get a panel each.
      const spread = new Set(roles.filter((role) => all.filter((r) => r.role === role).length > 1));
      const rows: Row[] = all.map((r) => ({ ...r, spread: spread.has(String(r.role)), label: `${String(r.value)} ×${String(r.count)}` }));
      const present = rows.map((r) => r.alignment as AlignmentClass);
      const align = alignmentEncoding(present);
      const pointMark = { type: "point", filled: true, size: 70, strokeWidth: 1.5, fill: SCAN_INK, stroke: SCAN_INK };
      const tooltip = [tip("role", "Kind"), tip("value", "Value", "d"), tip("count", "Sites", "d"), tip("alignment", "Alignment")];
      const parts: unknown[] = [];
      const spreadRoles = roles.filter((r) => spread.has(r));
      const singleRoles = roles.filter((r) => !spread.has(r));
      if (spreadRoles.length > 0) {
        const columns = Math.min(2, spreadRoles.length);
        parts.push({
          transform: [{ filter: "datum.spread" }],
          facet: { field: "role", type: "nominal", title: null, sort: spreadRoles },
          columns,
          spec: {
            width: panelWidth(columns, 70),
            // Counts of 1 or 2 need no tall axis (a pruned model's 32 distinct intermediate sizes).
            height: Math.max(...rows.filter((r) => r.spread).map((r) => Number(r.count))) <= 2 ? 70 : 150,
            layer: [
              { mark: { type: "rule", color: "#bbbbbb" }, encoding: { x: { field: "value", type: "quantitative" }, y: { field: "zero", type: "quantitative" }, y2: { field: "count" } } },
              {
                mark: pointMark,
                encoding: {
                  x: { field: "value", type: "quantitative", title: "Dimension value (elements)", scale: { zero: false, padding: 12 }, axis: { format: "d", tickMinStep: 1 } },
                  y: { field: "count", type: "quantitative", title: "Sites (count)", scale: { zero: true, nice: true }, axis: { format: "d", tickMinStep: 1 } },
                  ...align,
                  tooltip,
                },
              },
            ],
          },
          resolve: { scale: { x: "independent", y: "independent" } },
        });
      }
      if (singleRoles.length > 0) {
        const values = rows.filter((r) => !r.spread).map((r) => Number(r.value));
        const lo = Math.min(...values);
        const hi = Math.max(...values);
        parts.push({
          transform: [{ filter: "!datum.spread" }],
          title: { text: spreadRoles.length > 0 ? "Kinds with one value" : "One value per kind", fontSize: 12, anchor: "start" },
          width: panelWidth(1, 100),
          height: 22 * singleRoles.length,
          layer: [
            {
              mark: pointMark,
              encoding: {
                y: { field: "role", type: "nominal", title: null, sort: singleRoles },
                x: {
                  field: "value",
                  type: "quantitative",
                  title: "Dimension value (elements, log scale)",
                  scale: { type: "log", domain: [lo / 1.6, hi * 6], nice: false },
                  axis: { format: "d", values: powersOfTen(lo / 1.6, hi * 6) },
                },
                ...align,
                tooltip,
              },
            },
            {
              mark: { type: "text", align: "left", baseline: "middle", dx: 9, fontSize: 11, color: SCAN_INK },
              encoding: { y: { field: "role", type: "nominal", sort: singleRoles }, x: { field: "value", type: "quantitative" }, text: { field: "label" } },
            },
          ],
        });
      }
      const misaligned = widths.filter((d) => alignmentClass(d.value) === "misaligned").length;
      const title = `Dimension distribution: ${scanLabel(scan)}`;
      const subtitle = `${misaligned} of ${widths.length} dims misaligned (${((100 * misaligned) / widths.length).toFixed(1)}%)`;
      const spec = { title: chartTitle(title, subtitle), config: VEGA_CONFIG, data: { values: rows }, vconcat: parts, resolve: { scale: { opacity: "shared" } } };
      figures.push({
        name: `scan-dims${sfx}`,
        title,
        caption: `How many sites (heads, ranks, widths) have each dimension value: ${[spreadRoles.length > 0 ? "a panel per kind of dim with more than one value" : "", singleRoles.length > 0 ? "the kinds with a single value on one strip (value ×sites, log scale)" : ""].filter(Boolean).join(", and ")}; ${ALIGNMENT_WORDS}. ${misaligned} of ${widths.length} dims (${((100 * misaligned) / widths.length).toFixed(1)}%) are misaligned. ${scanSentence(scan)}`,
        // Plain JSON, checked by vega-lite when it compiles.
        spec: spec as Figure["spec"],
      });
      const summary = roles.map((role) => {
        const ds = widths.filter((d) => dimGroup(d) === role);
        const pct = (cls: string) => `${((100 * ds.filter((d) => alignmentClass(d.value) === cls).length) / ds.length).toFixed(1)}%`;
        return [
          role,
          String(ds.length),
          uniq(ds.map((d) => d.value))
            .sort((a, b) => a - b)
            .join(", "),
          ...ALIGNMENT_CLASSES.map(pct),
        ];
      });
      tables.push(
        makeTable(
          `scan-dims${sfx}`,
          `${title}: per role`,
          `Per role: sites, distinct values and the share in each alignment class. ${scanSentence(scan)}`,
          ["Role", "Sites", "Distinct values", "16-aligned", "8-aligned only", "Misaligned"],
          summary,
        ),
      );
    }
    const collapsed = scan.calls.filter((c) => c.verdict !== "fast");
    if (scan.calls.length > 0) {
      tables.push(
        makeTable(
          `scan-collapsed-calls${sfx}`,
          `Collapsed kernel calls: ${scanLabel(scan)}`,
          `${collapsed.length} of ${scan.calls.length} kernel calls leave the fast path, grouped by kind, phase, shape, verdict and kernel; predicted time summed over the group where the scan had a profile. ${scanSentence(scan)}`,
          ["Kind", "Phase", "Shape", "Verdict", "Kernel", "Reason", "Calls", "Example", "Predicted (ms)"],
          groupCalls(collapsed),
        ),
      );
    }
  }
  return { figures, tables };
}

export function formatShape(shape: unknown): string {
  if (Array.isArray(shape)) return `[${shape.join(", ")}]`;
  if (typeof shape === "object" && shape !== null)
    return Object.entries(shape)
      .map(([k, v]) => `${k}=${Array.isArray(v) ? `[${v.join(",")}]` : String(v)}`)
      .join(" ");
  return shape === undefined ? "" : String(shape);
}

/** Calls that collapse the same way are one row: same kind, phase, shape, verdict, kernel and reason. */
export function groupCalls(calls: ScanCall[]): string[][] {
  const groups = new Map<string, { key: string[]; ids: string[]; ms: number; hasMs: boolean }>();
  for (const c of calls) {
    const key = [c.kind, c.phase ?? "", formatShape(c.shape), c.verdict, c.kernel ?? "", c.reason ?? ""];
    const k = key.join("\u0000");
    const g = groups.get(k) ?? { key, ids: [], ms: 0, hasMs: false };
    g.ids.push(c.id);
    if (typeof c.predicted_ms === "number") {
      g.ms += c.predicted_ms;
      g.hasMs = true;
    }
    groups.set(k, g);
  }
  return [...groups.values()]
    .sort((a, b) => b.ids.length - a.ids.length || a.key.join().localeCompare(b.key.join()))
    .map((g) => [...g.key, String(g.ids.length), g.ids[0] ?? "", g.hasMs ? formatMs(g.ms) : "-"]);
}
