/**
 * The report as one self-contained HTML page: vega, vega-lite and vega-embed's UMD builds are
 * inlined from node_modules, the specs travel as JSON in the page, and nothing is fetched, so the
 * file works opened from disk with no network. Interactive tooltips come from vega-embed.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { GacError } from "../errors.js";
import { environmentFields } from "./environment.js";
import { toVegaSpec } from "./render.js";
import { MAX_FIGURE_WIDTH } from "./style.js";
import type { Report, Table } from "./types.js";

/**
 * Packages inlined into the page, in load order. The page embeds each figure's compiled Vega spec
 * (the one the PNG is drawn from), but vega-embed's browser build expects vega-lite beside vega.
 */
const UMD_PACKAGES = ["vega", "vega-lite", "vega-embed"] as const;

/** The UMD build a package advertises to CDNs (`unpkg`), found from its resolved entry. */
function umdSource(pkg: string): string {
  let dir = dirname(fileURLToPath(import.meta.resolve(pkg)));
  for (let i = 0; i < 5; i++) {
    try {
      const meta: unknown = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
      if (typeof meta === "object" && meta !== null && "name" in meta && meta.name === pkg) {
        const rel = "unpkg" in meta && typeof meta.unpkg === "string" ? meta.unpkg : undefined;
        if (!rel) break;
        return readFileSync(join(dir, rel), "utf8");
      }
    } catch {
      // not the package root yet; keep walking up
    }
    dir = dirname(dir);
  }
  throw new GacError("MISSING_FILE", `cannot find the browser build of '${pkg}' in node_modules: reinstall gac's dependencies`);
}

let cachedLibraries: string | undefined;
function libraries(): string {
  cachedLibraries ??= UMD_PACKAGES.map((p) => `<script>/* ${p} */\n${inlineScript(umdSource(p))}\n</script>`).join("\n");
  return cachedLibraries;
}

/** "</script" inside inlined code would end the element early. */
function inlineScript(js: string): string {
  return js.replace(/<\/(script)/gi, "<\\/$1").replace(/<!--/g, "<\\!--");
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function htmlTable(t: Table): string {
  const head = t.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join("");
  // A number ("6.59e-3", "3,673,344") never breaks at its minus sign or comma.
  const cell = (c: string) => (/^[-+]?[\d.,]+(e[-+]?\d+)?$/.test(c) ? `<td class="num">${escapeHtml(c)}</td>` : `<td>${escapeHtml(c)}</td>`);
  const body = t.rows.map((r) => `<tr>${r.map(cell).join("")}</tr>`).join("\n");
  return `<section class="table" id="table-${t.name}"><h3>${escapeHtml(t.title)}</h3><p class="caption">${escapeHtml(t.caption)}</p>
<div class="scroll"><table><thead><tr>${head}</tr></thead><tbody>
${body}
</tbody></table></div><p class="links"><a href="tables/${t.name}.md">tables/${t.name}.md</a></p></section>`;
}

/** The page column; every figure is designed to fit it (style.ts MAX_FIGURE_WIDTH) and the browser test checks it. */
export const PAGE_COLUMN_PX = 1100;

const STYLE = `
body { font-family: "DejaVu Sans", Verdana, sans-serif; margin: 2rem auto; max-width: ${PAGE_COLUMN_PX}px; padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; } h3 { font-size: 1.05rem; }
.env table, .table table { border-collapse: collapse; font-size: 0.85rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
td.num { white-space: nowrap; }
.scroll { overflow-x: auto; max-height: 28rem; overflow-y: auto; }
figure { margin: 1.5rem 0; }
figcaption, .caption { font-size: 0.9rem; color: #444; max-width: 60rem; }
.chart { min-height: 120px; max-width: ${MAX_FIGURE_WIDTH}px; }
.env td.ref { font-weight: bold; }
.links { font-size: 0.8rem; }
.notes li { font-size: 0.9rem; }
`;

export function renderHtml(report: Report): string {
  const specs = Object.fromEntries(report.figures.map((f) => [f.name, toVegaSpec(f.spec)]));
  // JSON inside <script>: escape '<' so no string in the data can close the element.
  const specJson = JSON.stringify(specs).replace(/</g, "\\u003c");
  const envHead = ["", ...(report.environments[0] ? environmentFields(report.environments[0]).map(([k]) => k) : [])];
  const envRows = report.environments
    .map(
      (e) =>
        `<tr id="env-${escapeHtml(e.ref ?? "")}"><td class="ref">${escapeHtml(e.ref ?? "")}</td>${environmentFields(e)
          .map(([, v]) => `<td>${escapeHtml(v)}</td>`)
          .join("")}</tr>`,
    )
    .join("\n");
  const figures = report.figures
    .map(
      (f) => `<figure id="figure-${f.name}"><h2>${escapeHtml(f.title)}</h2>
<div class="chart" data-figure="${escapeHtml(f.name)}" role="img" aria-label="${escapeHtml(f.title)}"></div>
<figcaption>${escapeHtml(f.caption)}</figcaption>
<p class="links">Static: <a href="figures/${f.name}.svg">SVG</a> · <a href="figures/${f.name}.png">PNG</a></p></figure>`,
    )
    .join("\n");
  const notes = report.notes.length > 0 ? `<section class="notes"><h2>Notes</h2><ul>${report.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join("")}</ul></section>` : "";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(report.title)}</title>
<style>${STYLE}</style>
${libraries()}
</head>
<body>
<h1>${escapeHtml(report.title)}</h1>
<p>Generated ${escapeHtml(report.generated)}. ${report.figures.length} figure(s), ${report.tables.length} table(s). Hover a point for its numbers.</p>
<section class="env"><h2>Environment</h2>${envRows ? `<p class="caption">One block per run; captions name the blocks their numbers come from.</p><div class="scroll"><table><thead><tr>${envHead.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr></thead><tbody>\n${envRows}\n</tbody></table></div>` : "<p>No bench runs: figures come from scans and repair manifests only.</p>"}</section>
${notes}
${figures}
<h2>Tables</h2>
${report.tables.map(htmlTable).join("\n")}
<script type="application/json" id="gac-specs">${specJson}</script>
<script>
(function () {
  var specs = JSON.parse(document.getElementById("gac-specs").textContent);
  document.querySelectorAll(".chart[data-figure]").forEach(function (el) {
    var spec = specs[el.getAttribute("data-figure")];
    // Compiled Vega specs (the PNGs are drawn from the same); the views are kept for the browser test.
    window.gacViews = window.gacViews || {};
    vegaEmbed(el, spec, { mode: "vega", actions: false, renderer: "svg", tooltip: { theme: "light" } }).then(function (result) {
      window.gacViews[el.getAttribute("data-figure")] = result.view;
    }).catch(function (err) {
      el.textContent = "This figure could not be drawn: " + err.message;
      console.error(err);
    });
  });
})();
</script>
</body>
</html>
`;
}
