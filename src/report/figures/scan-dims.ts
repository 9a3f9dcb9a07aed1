/**
 * From a scan: how a model's dims are distributed (the seeds' PaLU per-head counts scatter: value
 * against how many heads/sites have it, alignment by colour and shape, one panel per kind of dim), a
 * per-role summary, and the collapsed kernel calls grouped by what collapses and why.
 */
import { ALIGNMENT_CLASSES, alignmentClass } from "../alignment.js";
import { formatMs } from "../markdown-table.js";
import { uniq } from "../records.js";
import { chart, makeTable, tip, type Row } from "../spec.js";
import { ALIGNMENT_COLOR, ALIGNMENT_SHAPE } from "../theme.js";
import type { Figure, ScanCall, ScanDim, ScanDoc, Table } from "../types.js";

export function scanLabel(scan: ScanDoc): string {
  return scan.model.name ?? ([scan.model.family, scan.model.model_type].filter(Boolean).join(" ") || scan.file);
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

/** The `-2` style suffix that keeps names unique when several scans are given. */
function suffix(i: number, n: number): string {
  return n > 1 ? `-${i + 1}` : "";
}

export function buildScanDims(scans: ScanDoc[]): { figures: Figure[]; tables: Table[] } {
  const figures: Figure[] = [];
  const tables: Table[] = [];
  scans.forEach((scan, i) => {
    const sfx = suffix(i, scans.length);
    const widths = scan.dims.filter((d) => !NOT_WIDTHS.has(d.name ?? ""));
    if (widths.length > 0) {
      const counts = new Map<string, Row>();
      for (const d of widths) {
        const key = `${dimGroup(d)}\u0000${d.value}`;
        const row = counts.get(key) ?? { role: dimGroup(d), value: d.value, count: 0, zero: 0, alignment: alignmentClass(d.value) };
        row.count = Number(row.count) + 1;
        counts.set(key, row);
      }
      const rows = [...counts.values()].sort((a, b) => String(a.role).localeCompare(String(b.role)) || Number(a.value) - Number(b.value));
      const roles = uniq(rows.map((r) => String(r.role)));
      const layer = [
        { mark: { type: "rule", color: "#bbbbbb" }, encoding: { x: { field: "value", type: "quantitative" }, y: { field: "zero", type: "quantitative" }, y2: { field: "count" } } },
        {
          mark: { type: "point", filled: true, size: 80, opacity: 1 },
          encoding: {
            x: { field: "value", type: "quantitative", title: "Dimension value (elements)", scale: { zero: false, padding: 12 }, axis: { format: "d", tickMinStep: 1 } },
            y: { field: "count", type: "quantitative", title: "Sites (count)", scale: { zero: true, nice: true }, axis: { format: "d", tickMinStep: 1 } },
            color: { field: "alignment", type: "nominal", title: "Alignment", scale: ALIGNMENT_COLOR },
            shape: { field: "alignment", type: "nominal", title: "Alignment", scale: ALIGNMENT_SHAPE },
            tooltip: [tip("role", "Role"), tip("value", "Value", "d"), tip("count", "Count", "d"), tip("alignment", "Alignment")],
          },
        },
      ];
      const misaligned = widths.filter((d) => alignmentClass(d.value) === "misaligned").length;
      const title = `Dimension distribution: ${scanLabel(scan)}`;
      figures.push({
        name: `scan-dims${sfx}`,
        title,
        caption: `How many sites (heads, ranks, widths) have each dimension value, one panel per kind of dim; blue circles: multiple of 16, orange squares: of 8 only, red triangles: misaligned. ${misaligned} of ${widths.length} dims (${((100 * misaligned) / widths.length).toFixed(1)}%) are misaligned. ${scanSentence(scan)}`,
        spec: chart({
          title,
          rows,
          layer,
          facetWrap: roles.length > 1 ? { field: "role", columns: 2, independentX: true } : undefined,
          width: roles.length > 1 ? 380 : 620,
          height: roles.length > 1 ? 170 : 220,
        }),
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
  });
  return { figures, tables };
}

function formatShape(shape: unknown): string {
  if (Array.isArray(shape)) return `[${shape.join(", ")}]`;
  if (typeof shape === "object" && shape !== null)
    return Object.entries(shape)
      .map(([k, v]) => `${k}=${Array.isArray(v) ? `[${v.join(",")}]` : String(v)}`)
      .join(" ");
  return shape === undefined ? "" : String(shape);
}

/** Calls that collapse the same way are one row: same kind, phase, shape, verdict, kernel and reason. */
function groupCalls(calls: ScanCall[]): string[][] {
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
