/**
 * Checks a reader would make by eye, as code that runs both in Node (on a headless Vega View) and in
 * the browser (page.evaluate): plain JavaScript source, so no bundler helper leaks into the page.
 *
 *   - legendEntriesWithoutMarks(root): every legend entry of a Vega scenegraph names a value some
 *     drawn mark carries (a legend "8-aligned" with no 8-aligned point is reported);
 *   - figureOverflows(): in the page, every chart's SVG lies inside the page column.
 */

import assert from "node:assert/strict";
import { figureView, renderSvg } from "../../src/report/index.js";
import { MAX_FIGURE_WIDTH } from "../../src/report/style.js";

/** Returns [{ legend, value }] for legend entries whose value no data mark carries, and how many entries were checked. */
export const LEGEND_CHECK_SOURCE = String.raw`function legendEntriesWithoutMarks(root) {
  var values = new Set();
  var entries = [];
  function visitItem(item, inLegend, legendTitle) {
    var marks = item.items || [];
    for (var m = 0; m < marks.length; m++) visitMark(marks[m], inLegend, legendTitle);
  }
  function visitMark(mark, inLegend, legendTitle) {
    var role = mark.role || "";
    var items = mark.items || [];
    var legend = inLegend || role === "legend";
    var skip = role.indexOf("axis") === 0 || role === "title" || role.indexOf("title") >= 0 && !legend;
    for (var i = 0; i < items.length; i++) {
      var it = items[i];
      var title = legendTitle;
      // A gradient legend (a continuous colour scale) has tick labels, not entries.
      if (role === "legend") title = hasRole(it, "legend-gradient") ? null : findTitle(it);
      if (role === "legend-label" && it.datum && title !== null) entries.push({ legend: title || "", value: it.datum.value, label: it.text });
      if (!legend && !skip && role === "mark" && mark.marktype !== "group" && it.datum) {
        for (var k in it.datum) {
          var v = it.datum[k];
          if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") values.add(String(v));
        }
      }
      if (mark.marktype === "group" && !skip) visitItem(it, legend, title);
    }
  }
  function hasRole(item, wanted) {
    var marks = item.items || [];
    for (var m = 0; m < marks.length; m++) {
      if (marks[m].role === wanted) return true;
      var items = marks[m].items || [];
      for (var i = 0; i < items.length; i++) if (marks[m].marktype === "group" && hasRole(items[i], wanted)) return true;
    }
    return false;
  }
  function findTitle(item) {
    var marks = item.items || [];
    for (var m = 0; m < marks.length; m++) if (marks[m].role === "legend-title" && marks[m].items[0]) return String(marks[m].items[0].text || "");
    return "";
  }
  if (root && root.marktype) visitMark(root, false, ""); else visitItem(root, false, "");
  var missing = entries.filter(function (e) { return !values.has(String(e.value)); }).map(function (e) { return { legend: e.legend, value: String(e.value) }; });
  return { checked: entries.length, missing: missing };
}`;

export interface LegendCheck {
  checked: number;
  missing: { legend: string; value: string }[];
}

/** The same check in Node, on `view.scenegraph().root`. */
export const legendEntriesWithoutMarks = new Function("root", `return (${LEGEND_CHECK_SOURCE})(root);`) as (root: unknown) => LegendCheck;

/**
 * In the page: for every chart, its SVG's width and how far its right edge passes the column's
 * (the body's content box); an entry with `over > 0` is a figure that overflows the column.
 */
export const OVERFLOW_CHECK_SOURCE = String.raw`function figureOverflows() {
  var body = document.body.getBoundingClientRect();
  var style = getComputedStyle(document.body);
  var right = body.right - parseFloat(style.paddingRight);
  var left = body.left + parseFloat(style.paddingLeft);
  var out = [];
  document.querySelectorAll(".chart[data-figure]").forEach(function (el) {
    var svg = el.querySelector("svg");
    if (!svg) return;
    var r = svg.getBoundingClientRect();
    out.push({ figure: el.getAttribute("data-figure"), width: Math.round(r.width), over: Math.round(Math.max(r.right - right, left - r.left)) });
  });
  return { column: Math.round(right - left), scrollWidth: document.documentElement.scrollWidth, viewport: window.innerWidth, figures: out };
}`;

/**
 * One figure as a reader sees it, without a browser: its SVG fits the page column and every legend
 * entry names something drawn (asserted); returns how many legend entries were checked.
 */
export async function assertFigureReadable(f: { name: string; spec: Parameters<typeof renderSvg>[0] }): Promise<number> {
  const svg = await renderSvg(f.spec);
  const width = Number(/width="(\d+)"/.exec(svg)?.[1]);
  assert.ok(width <= MAX_FIGURE_WIDTH, `${f.name} is ${width} px wide`);
  const view = await figureView(f.spec);
  try {
    const c = legendEntriesWithoutMarks(sceneRoot(view));
    assert.deepEqual(c.missing, [], f.name);
    return c.checked;
  } finally {
    view.finalize();
  }
}

/** The root mark of a Vega View's scenegraph (vega's types leave `root` out). */
export function sceneRoot(view: { scenegraph(): unknown }): unknown {
  return (view.scenegraph() as { root: unknown }).root;
}
