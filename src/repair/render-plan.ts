/**
 * Text and JSON views of a repair proposal for `gac plan` and `gac repair`. Per-layer repeats are
 * folded: "model.layers.{0-31}.mlp.down_proj.weight [4096, 8806] -> [4096, 8808]" is one line with
 * the layer count and the bytes all of them add, not 32 lines.
 */
import { formatCount, escapeControls, truncateText } from "../errors.js";
import type { RepairProposal } from "./repair-checkpoint.js";
import { addedBytes } from "./tensor-edits.js";
import { foldRounding, foldRoundingLine } from "./fold-rounding.js";
import { textTable } from "../scan/text-table.js";

/** One line of output: every item whose name differs only in layer and PaLU group numbers. */
interface Group {
  pattern: string;
  layers: number[];
  groups: number[];
  details: string[];
  count: number;
  addedBytes: number;
}

const LAYER = /layers\.(\d+)\./;
const GROUP = /(\.U\.|\.g)(\d+)(?=\.|$)/;

function range(values: number[]): string {
  const sorted = [...new Set(values)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(",");
}

function fold(items: { name: string; detail: string; addedBytes: number }[]): Group[] {
  const groups = new Map<string, Group>();
  for (const it of items) {
    const l = LAYER.exec(it.name);
    const g = GROUP.exec(it.name);
    const pattern = it.name.replace(LAYER, "layers.{L}.").replace(GROUP, "$1{G}");
    const entry = groups.get(pattern) ?? { pattern, layers: [], groups: [], details: [], count: 0, addedBytes: 0 };
    if (l) entry.layers.push(Number(l[1]));
    if (g) entry.groups.push(Number(g[2]));
    if (!entry.details.includes(it.detail)) entry.details.push(it.detail);
    entry.count++;
    entry.addedBytes += it.addedBytes;
    groups.set(pattern, entry);
  }
  return [...groups.values()];
}

function groupName(g: Group): string {
  return g.pattern.replace("{L}", `{${range(g.layers)}}`).replace("{G}", `{${range(g.groups)}}`);
}

/** The detail when all items agree, else the first few and how many differ. */
function groupDetail(g: Group): string {
  const shown = g.details.slice(0, 3).join("; ");
  return g.details.length > 3 ? `${shown}; ... (${g.details.length} variants)` : shown;
}

export function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 3 : 1)} MiB`;
}

export function renderProposal(p: RepairProposal): string {
  const lines: string[] = [];
  lines.push(`${escapeControls(p.inDir)}: ${p.spec.family} ${escapeControls(truncateText(p.spec.modelType, 80))}, ${p.spec.numLayers} layers, ${p.spec.dtype}`);
  for (const n of p.notes) lines.push(`note: ${n}`);
  lines.push(`strategy ${p.plan.strategy}, softmax scale ${p.scaleMode === "fold" ? "folded into q_proj (stock loaders)" : "logical (runtime passes d^-0.5)"}`);
  lines.push("");
  if (p.changes.length === 0) {
    lines.push(
      p.skipped.length === 0
        ? "No dim to change: the checkpoint is already aligned for this strategy."
        : `No dim can be changed exactly: all ${p.skipped.length} misaligned dim(s) this strategy would pad are refused (below).`,
    );
  } else {
    lines.push(`Dim changes (${p.changes.length}):`);
    const dims = fold(p.changes.map((c) => ({ name: c.id, detail: `${c.from} -> ${c.to}`, addedBytes: 0 })));
    for (const g of dims) lines.push(`  ${groupName(g).padEnd(48)} ${groupDetail(g)}${g.count > 1 ? `  (${g.count} dims)` : ""}`);
    lines.push("");
    lines.push("Tensor edits (memory added):");
    const edits = fold(
      p.edits.map((e) => {
        const how = `[${e.from.join(", ")}] -> [${e.to.join(", ")}]${e.scale !== undefined ? ` x${e.scale.toFixed(6)}` : ""}`;
        return { name: e.tensor, detail: how, addedBytes: addedBytes(e) };
      }),
    );
    for (const g of edits) lines.push(`  ${groupName(g)}  ${groupDetail(g)}  +${mib(g.addedBytes)}${g.count > 1 ? ` (${g.count} tensors)` : ""}`);
    lines.push("");
    const added = p.bytesOut - p.bytesIn;
    lines.push(`Total: ${formatCount(p.bytesIn)} -> ${formatCount(p.bytesOut)} bytes (+${mib(added)}, +${((100 * added) / p.bytesIn).toFixed(2)}%)`);
    const folded = foldRounding(p.edits);
    if (folded) lines.push("", foldRoundingLine(folded));
  }
  if (p.config.changed.length > 0) {
    lines.push("", "config.json:");
    // PaLU/ASVD rank maps have an entry per module: show a few, count the rest.
    for (const c of p.config.changed.slice(0, 4)) lines.push(`  ${c.field}: ${JSON.stringify(c.from)} -> ${JSON.stringify(c.to)}`);
    if (p.config.changed.length > 4) lines.push(`  ... and ${p.config.changed.length - 4} more fields (all in gac-repair.json)`);
  }
  if (p.parallel.tp > 1 && p.parallel.byTp !== null) lines.push("", ...tpOverheadLines(p));
  else if (p.parallel.pp > 1) lines.push("", `Pipeline parallel: PP ${p.parallel.pp} places whole layers on each stage, so no shape changes: the plan is the one without it`);
  if (p.skipped.length > 0) {
    lines.push("", `Left as they are (${p.skipped.length}; cannot be padded exactly):`);
    for (const g of fold(p.skipped.map((s) => ({ name: s.id, detail: `${s.value}: ${s.reason}`, addedBytes: 0 })))) {
      lines.push(`  ${groupName(g)} = ${groupDetail(g)}`);
    }
  }
  return lines.join("\n") + "\n";
}

/** "Overhead per TP degree" table: what aligning every GPU's shard costs at TP 1/2/4/8 with this strategy. */
function tpOverheadLines(p: RepairProposal): string[] {
  const rows = p.parallel.byTp ?? [];
  const lines = [
    `Tensor parallel: planned for TP ${p.parallel.tp} on ${p.parallel.runtime}${p.parallel.pp > 1 ? ` (PP ${p.parallel.pp}: whole layers per stage, no shape changes)` : ""}; overhead per TP degree:`,
  ];
  const rows2 = rows.map((r) => {
    const per = r.intermediatePerGpu.length > 4 ? `${r.intermediatePerGpu[0]}..${r.intermediatePerGpu[r.intermediatePerGpu.length - 1]}` : r.intermediatePerGpu.join(", ");
    return [String(r.tp), per, String(r.dimsChanged), formatCount(r.paramsAdded), `${r.paramOverheadPct.toFixed(2)}%`, String(r.shardingRefusals)];
  });
  const header = ["TP", "intermediate per GPU", "dims changed", "params added", "overhead", "heads refused"];
  lines.push(...textTable(header, rows2, ["left", "left", "right", "right", "right", "right"]).map((l) => `  ${l}`));
  return lines;
}

/** The proposal as JSON-safe data (layouts left out: they follow from the changes). */
export function proposalJson(p: RepairProposal): Record<string, unknown> {
  return {
    input: p.inDir,
    family: p.spec.family,
    strategy: p.plan.strategy,
    scaleMode: p.scaleMode,
    changes: p.changes,
    skipped: p.skipped,
    notes: p.notes,
    tensors: p.edits.map((e) => ({ tensor: e.tensor, from: e.from, to: e.to, ...(e.scale !== undefined ? { scale: e.scale } : {}), reasons: e.reasons })),
    config: p.config.changed,
    foldRounding: foldRounding(p.edits) ?? null,
    bytesBefore: p.bytesIn,
    bytesAfter: p.bytesOut,
    overheadPct: (100 * (p.bytesOut - p.bytesIn)) / p.bytesIn,
    tensorParallel: { runtime: p.parallel.runtime, tp: p.parallel.tp, pp: p.parallel.pp, byTp: p.parallel.byTp },
  };
}
