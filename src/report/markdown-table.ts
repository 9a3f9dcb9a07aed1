/** Markdown tables with cells escaped so a reason containing '|' cannot add a column. */
export function markdownTable(columns: string[], rows: string[][]): string {
  const esc = (s: string) => s.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
  const line = (cells: string[]) => `| ${cells.map(esc).join(" | ")} |`;
  return [line(columns), `|${columns.map(() => "---").join("|")}|`, ...rows.map(line)].join("\n") + "\n";
}

/** 2.1474 -> "2.147"; ms values keep 3 significant decimals, large ones fewer. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return "-";
  if (ms >= 100) return ms.toFixed(1);
  if (ms >= 10) return ms.toFixed(2);
  return ms.toFixed(3);
}

/** 0.305 -> "+30.5%"; signed so that a slowdown and a speedup read differently. */
export function formatPct(pct: number): string {
  if (!Number.isFinite(pct)) return "-";
  return `${pct >= 0 ? "+" : ""}${pct.toFixed(1)}%`;
}
