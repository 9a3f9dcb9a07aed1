/** report.md: the same report for reading on GitHub or in a terminal; figures link their PNG and SVG. */
import { environmentFields } from "./environment.js";
import { markdownTable } from "./markdown-table.js";
import type { Report } from "./types.js";

export function renderMarkdown(report: Report): string {
  const out: string[] = [`# ${report.title}`, "", `Generated ${report.generated}. Interactive version: [index.html](index.html).`, ""];
  out.push("## Environment", "");
  if (report.environments.length === 0) out.push("No bench runs: figures come from scans and repair manifests only.", "");
  if (report.environments.length > 0) {
    out.push("One block per run; captions name the blocks their numbers come from.", "");
    const head = ["", ...environmentFields(report.environments[0]).map(([k]) => k)];
    out.push(
      markdownTable(
        head,
        report.environments.map((e) => [e.ref ?? "", ...environmentFields(e).map(([, v]) => v)]),
      ),
    );
    for (const e of report.environments) if (e.command) out.push(`- ${e.ref ?? e.gpu}: \`${e.command}\``);
  }
  out.push("");
  if (report.notes.length > 0) {
    out.push("## Notes", "", ...report.notes.map((n) => `- ${n}`), "");
  }
  out.push("## Figures", "");
  for (const f of report.figures) {
    out.push(`### ${f.title}`, "", `![${f.title}](figures/${f.name}.png)`, "", f.caption, "", `[SVG](figures/${f.name}.svg) · [PNG](figures/${f.name}.png)`, "");
  }
  out.push("## Tables", "");
  for (const t of report.tables) {
    out.push(`### ${t.title}`, "", t.caption, "", t.markdown, `[tables/${t.name}.md](tables/${t.name}.md)`, "");
  }
  return out.join("\n");
}
