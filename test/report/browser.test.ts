/**
 * Opens the generated index.html in headless Chromium from disk (file://), as a reader would, and
 * checks what a reader would see: no console errors, no page errors, every chart drawn, nothing
 * fetched from the network, the page no wider than the window, no figure past the page column, and
 * every legend entry naming something drawn. A crafted page with a too-wide figure and a legend
 * entry without marks shows that these checks fail when they should. The page is the report of the
 * committed H200 runs (the end-to-end sweep, the full suite, the PaLU model run, the published
 * A100 profile, the accuracy runs and the compression study) when the checkout has them, else the crafted
 * sample. Screenshots (the whole page, each figure) are kept under test-artifacts/ (gitignored; CI
 * keeps them as artifacts). Skips when /usr/bin/chromium is absent (CI installs Debian's `chromium`).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser, Page } from "playwright-core";
import { buildReport, loadReportInputs, renderHtml, writeReport, type Figure, type Report } from "../../src/report/index.js";
import { VEGA_CONFIG } from "../../src/report/style.js";
import { COMMITTED_ACCURACY_INPUTS, COMMITTED_E2E_RUN, COMMITTED_INPUTS, COMMITTED_RUN, sampleInputs } from "./fixtures.js";
import { LEGEND_CHECK_SOURCE, OVERFLOW_CHECK_SOURCE, type LegendCheck } from "./page-checks.js";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = "test-artifacts";
const VIEWPORT = { width: 1200, height: 900 };

interface Overflow {
  column: number;
  scrollWidth: number;
  viewport: number;
  figures: { figure: string; width: number; over: number }[];
}

async function launch(): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** Opens a report page and waits until every figure's Vega view exists and drew an SVG. */
async function open(browser: Browser, html: string, names: string[]): Promise<{ page: Page; problems: string[]; external: string[] }> {
  const page = await browser.newPage({ viewport: VIEWPORT });
  const problems: string[] = [];
  const external: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("request", (r) => {
    if (!r.url().startsWith("file:") && !r.url().startsWith("data:")) external.push(r.url());
  });
  await page.goto(pathToFileURL(html).href, { waitUntil: "load" });
  await page.waitForFunction(
    (n) =>
      n.every((name) => {
        const views = (window as unknown as { gacViews?: Record<string, unknown> }).gacViews ?? {};
        const g = document.querySelector(`.chart[data-figure="${name}"] svg`);
        return name in views && g !== null && g.getBoundingClientRect().width > 100 && g.getBoundingClientRect().height > 50;
      }),
    names,
    { timeout: 60_000 },
  );
  return { page, problems, external };
}

async function overflow(page: Page): Promise<Overflow> {
  return page.evaluate(`(${OVERFLOW_CHECK_SOURCE})()`) as Promise<Overflow>;
}

async function legends(page: Page, names: string[]): Promise<Record<string, LegendCheck>> {
  return page.evaluate(`(function (names) {
    var check = ${LEGEND_CHECK_SOURCE};
    var out = {};
    names.forEach(function (n) { out[n] = check(window.gacViews[n].scenegraph().root); });
    return out;
  })(${JSON.stringify(names)})`) as Promise<Record<string, LegendCheck>>;
}

test("the offline report page draws every chart in headless Chromium, inside the page column, with no legend entry lacking marks", { timeout: 180_000 }, async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip(`${CHROMIUM} is absent (apt-get install -y chromium)`);
    return;
  }
  const root = await mkdtemp(join(tmpdir(), "gac-report-browser-"));
  const browser = await launch();
  try {
    // The report from the committed GPU results when the checkout has them; crafted data otherwise.
    // The end-to-end sweep joins it when present, so its figure leads the page as in docs/report/.
    const committed = [...(existsSync(COMMITTED_E2E_RUN) ? [COMMITTED_E2E_RUN] : []), ...COMMITTED_INPUTS, ...COMMITTED_ACCURACY_INPUTS.filter((p) => existsSync(p))];
    const inputs = existsSync(COMMITTED_RUN) ? await loadReportInputs(committed) : sampleInputs();
    const report = buildReport(inputs, { generated: "2026-11-21" });
    const out = join(root, "report");
    await writeReport(report, out);
    const names = report.figures.map((f) => f.name);
    const { page, problems, external } = await open(browser, join(out, "index.html"), names);
    await mkdir(join(ARTIFACTS, "report-figures"), { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, "report-page.png"), fullPage: true });
    for (const name of names) await page.locator(`#figure-${name}`).screenshot({ path: join(ARTIFACTS, "report-figures", `${name}.png`) });
    assert.deepEqual(problems, []);
    assert.deepEqual(external, []);

    const o = await overflow(page);
    assert.ok(o.scrollWidth <= o.viewport, `the page is ${o.scrollWidth} px wide in a ${o.viewport} px window`);
    assert.equal(o.figures.length, names.length);
    for (const f of o.figures) assert.ok(f.over <= 0 && f.width <= o.column, `${f.figure} is ${f.width} px wide, ${f.over} px past the ${o.column} px column`);

    const checks = await legends(page, names);
    for (const name of names) assert.deepEqual(checks[name].missing, [], `${name}: legend entries without marks`);
    assert.ok(Object.values(checks).reduce((n, c) => n + c.checked, 0) > 20, "the legend check saw the legends");
  } finally {
    await browser.close();
    await rm(root, { recursive: true, force: true });
  }
});

test("the page checks catch a figure wider than the column and a legend entry without marks", { timeout: 120_000 }, async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip(`${CHROMIUM} is absent (apt-get install -y chromium)`);
    return;
  }
  const root = await mkdtemp(join(tmpdir(), "gac-report-browser-bad-"));
  const browser = await launch();
  try {
    const points = [{ x: 1, y: 2, kind: "drawn" }];
    const wide: Figure = {
      name: "too-wide",
      title: "too wide",
      caption: "",
      spec: { config: VEGA_CONFIG, data: { values: points }, width: 1500, height: 100, mark: "point", encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" } } },
    };
    const ghost: Figure = {
      name: "ghost-legend",
      title: "ghost",
      caption: "",
      spec: {
        config: VEGA_CONFIG,
        data: { values: points },
        width: 300,
        height: 100,
        mark: "point",
        encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" }, color: { field: "kind", type: "nominal", scale: { domain: ["drawn", "ghost"] } } },
      },
    };
    const report: Report = { title: "bad", generated: "now", environments: [], figures: [wide, ghost], tables: [], notes: [] };
    const html = join(root, "index.html");
    await writeFile(html, renderHtml(report));
    const { page } = await open(browser, html, ["too-wide", "ghost-legend"]);
    const o = await overflow(page);
    assert.ok(o.figures.find((f) => f.figure === "too-wide")!.over > 0);
    assert.ok(o.figures.find((f) => f.figure === "ghost-legend")!.over <= 0);
    const checks = await legends(page, ["ghost-legend"]);
    assert.deepEqual(checks["ghost-legend"].missing, [{ legend: "kind", value: "ghost" }]);
  } finally {
    await browser.close();
    await rm(root, { recursive: true, force: true });
  }
});
