/**
 * Opens the generated index.html in headless Chromium from disk (file://), as a reader would:
 * no console errors, no page errors, every chart drawn, and nothing fetched from the network.
 * The page is the report of the committed H200 run (plus the published A100 profile) when the
 * checkout has it, else the crafted sample. Skips when /usr/bin/chromium is absent (CI installs
 * Debian's `chromium` package).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { buildReport, loadReportInputs, writeReport } from "../../src/report/index.js";
import { COMMITTED_INPUTS, COMMITTED_RUN, sampleInputs } from "./fixtures.js";

const CHROMIUM = "/usr/bin/chromium";
const SCREENSHOT = join("test-artifacts", "report-screenshot.png");

test("the offline report page draws every chart in headless Chromium without errors", { timeout: 120_000 }, async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip(`${CHROMIUM} is absent (apt-get install -y chromium)`);
    return;
  }
  const { chromium } = await import("playwright-core");
  const root = await mkdtemp(join(tmpdir(), "gac-report-browser-"));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    // The report from the committed GPU results when the checkout has them; crafted data otherwise.
    const inputs = existsSync(COMMITTED_RUN) ? await loadReportInputs(COMMITTED_INPUTS) : sampleInputs();
    const report = buildReport(inputs, { generated: "2026-11-21" });
    const out = join(root, "report");
    await writeReport(report, out);
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const problems: string[] = [];
    const external: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("request", (r) => {
      if (!r.url().startsWith("file:") && !r.url().startsWith("data:")) external.push(r.url());
    });
    await page.goto(pathToFileURL(join(out, "index.html")).href, { waitUntil: "load" });
    const names = report.figures.map((f) => f.name);
    await page.waitForFunction(
      (n) =>
        n.every((name) => {
          const el = document.querySelector(`.chart[data-figure="${name}"]`);
          const g = el?.querySelector("svg, canvas");
          return g !== null && g !== undefined && g.getBoundingClientRect().width > 100 && g.getBoundingClientRect().height > 50;
        }),
      names,
      { timeout: 60_000 },
    );
    const marks = await page.evaluate((n) => n.map((name) => document.querySelectorAll(`.chart[data-figure="${name}"] svg path, .chart[data-figure="${name}"] svg text`).length), names);
    for (const [i, count] of marks.entries()) assert.ok(count > 10, `${names[i]} drew ${count} marks`);
    await mkdir("test-artifacts", { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    assert.deepEqual(problems, []);
    assert.deepEqual(external, []);
  } finally {
    await browser.close();
    await rm(root, { recursive: true, force: true });
  }
});
