import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildReport, renderHtml, toVegaSpec, writeReport, type Report } from "../../src/report/index.js";
import { GacError } from "../../src/errors.js";
import { sampleInputs } from "./fixtures.js";

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function pngSize(png: Buffer): { width: number; height: number } {
  // IHDR is the first chunk: width and height are big-endian u32 at bytes 16 and 20.
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

let cached: Promise<{ root: string; out: string; report: Report }> | undefined;
function written() {
  cached ??= (async () => {
    const root = await mkdtemp(join(tmpdir(), "gac-report-write-"));
    const report = buildReport(sampleInputs(), { generated: "2026-01-21" });
    const out = join(root, "report");
    await writeReport(report, out);
    return { root, out, report };
  })();
  return cached;
}

test.after(async () => {
  if (cached) await rm((await cached).root, { recursive: true, force: true });
});

test("every figure is written as a non-empty SVG and a PNG of sane size", async () => {
  const { out, report } = await written();
  assert.ok(report.figures.length >= 8);
  for (const f of report.figures) {
    const svg = await readFile(join(out, "figures", `${f.name}.svg`), "utf8");
    assert.match(svg, /^<svg[^>]*width="\d+"/);
    const png = await readFile(join(out, "figures", `${f.name}.png`));
    assert.deepEqual(png.subarray(0, 8), PNG_SIGNATURE, f.name);
    const { width, height } = pngSize(png);
    assert.ok(width >= 700 && width <= 4000, `${f.name} width ${width}`);
    assert.ok(height >= 200 && height <= 4000, `${f.name} height ${height}`);
  }
});

test("every table is written as Markdown whose rows match the data", async () => {
  const { out, report } = await written();
  for (const t of report.tables) {
    const md = await readFile(join(out, "tables", `${t.name}.md`), "utf8");
    const tableLines = md.split("\n").filter((l) => l.startsWith("|"));
    assert.equal(tableLines.length, t.rows.length + 2, t.name);
    assert.equal(tableLines[0], `| ${t.columns.map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`);
  }
  const s2 = await readFile(join(out, "tables", "s2-backend-matrix.md"), "utf8");
  assert.ok(s2.split("\n").some((l) => /^\| NVIDIA A100-SXM4-80GB \| 107 \| misaligned \| MEM_EFFICIENT \| refused \|/.test(l)));
});

test("a '|' inside a cell is escaped so it cannot add a column", async () => {
  const { out } = await written();
  const md = await readFile(join(out, "tables", "scan-collapsed-calls-llama3-8b-palu-r0-8.md"), "utf8");
  const line = md.split("\n").find((l) => l.includes("cuDNN needs"))!;
  assert.ok(line.includes("head_dim % 8 == 0 \\| got 117"));
});

test("report.md links every figure PNG and every table", async () => {
  const { out, report } = await written();
  const md = await readFile(join(out, "report.md"), "utf8");
  for (const f of report.figures) assert.ok(md.includes(`](figures/${f.name}.png)`), f.name);
  for (const t of report.tables) assert.ok(md.includes(`(tables/${t.name}.md)`), t.name);
  // One environment block per run, E1 and E2, with the commit the run recorded.
  assert.match(md, /\| E1 \| NVIDIA A100-SXM4-80GB \| 2026-01-19-a100 \| not recorded \| 550\.54\.15 \| 2\.5\.1 \| 12\.4 \| 90100 \| 0123456789ab \| 2026-01-19 \|/);
  assert.match(md, /\| E2 \| NVIDIA H100 80GB HBM3 \| 2026-01-20-h100 \|/);
});

test("index.html holds every spec and references no external script or URL", async () => {
  const { out, report } = await written();
  const html = await readFile(join(out, "index.html"), "utf8");
  const specs = JSON.parse(html.match(/<script type="application\/json" id="gac-specs">([\s\S]*?)<\/script>/)![1]) as Record<string, unknown>;
  assert.deepEqual(Object.keys(specs).sort(), report.figures.map((f) => f.name).sort());
  // The page draws the compiled Vega spec, the same one the PNG is rendered from.
  for (const f of report.figures) assert.deepEqual(specs[f.name], JSON.parse(JSON.stringify(toVegaSpec(f.spec))));
  assert.doesNotMatch(html, /<script[^>]+src=/i);
  assert.doesNotMatch(html, /<link[^>]+href=/i);
  assert.doesNotMatch(html, /(src|href)\s*=\s*["']?(https?:)?\/\//i);
  assert.doesNotMatch(JSON.stringify(specs), /https?:\/\//);
  // vega, vega-lite and vega-embed are inlined
  assert.ok(html.includes("/* vega */") && html.includes("/* vega-lite */") && html.includes("/* vega-embed */"));
  assert.equal((html.match(/class="chart" data-figure=/g) ?? []).length, report.figures.length);
});

test("a spec string containing </script> cannot close the page's script element", () => {
  const report = buildReport(sampleInputs());
  report.figures[0].caption = "x";
  (report.figures[0].spec as { title: unknown }).title = "</script><script>alert(1)</script>";
  const html = renderHtml(report);
  const json = html.match(/<script type="application\/json" id="gac-specs">([\s\S]*?)<\/script>/)![1];
  assert.ok(JSON.stringify((JSON.parse(json) as Record<string, unknown>)[report.figures[0].name]).includes("</script><script>alert(1)</script>"));
});

test("rewriting a report replaces it whole and leaves no temp directories", async () => {
  const root = await mkdtemp(join(tmpdir(), "gac-report-atomic-"));
  try {
    const out = join(root, "r");
    const small = buildReport({ runs: [], scans: [], repairs: [{ file: "m.json", strategy: "MINIMAL", changes: [], paramOverheadPct: 1 }], notes: [] });
    await writeReport(small, out);
    await writeFile(join(out, "figures", "stale.svg"), "<svg/>");
    await writeReport(small, out);
    assert.deepEqual((await readdir(out)).sort(), ["figures", "index.html", "report.md", "tables"]);
    assert.deepEqual(await readdir(join(out, "figures")), ["repair-tradeoff.png", "repair-tradeoff.svg"]);
    assert.deepEqual(await readdir(root), ["r"]);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test("a failed render leaves the earlier report untouched and no temp directory", async () => {
  const root = await mkdtemp(join(tmpdir(), "gac-report-fail-"));
  try {
    const out = join(root, "r");
    const good = buildReport({ runs: [], scans: [], repairs: [{ file: "m.json", strategy: "MINIMAL", changes: [], paramOverheadPct: 1 }], notes: [] });
    await writeReport(good, out);
    const before = await readFile(join(out, "report.md"), "utf8");
    const bad: Report = { ...good, figures: [{ ...good.figures[0], spec: { mark: "nope-not-a-mark" } as unknown as Report["figures"][0]["spec"] }] };
    await assert.rejects(writeReport(bad, out));
    assert.equal(await readFile(join(out, "report.md"), "utf8"), before);
    assert.deepEqual(await readdir(root), ["r"]);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test("an existing directory that is not a report is refused", async () => {
  const root = await mkdtemp(join(tmpdir(), "gac-report-exists-"));
  try {
    await mkdir(join(root, "src"));
    await writeFile(join(root, "src", "main.ts"), "keep me");
    const r = buildReport({ runs: [], scans: [], repairs: [{ file: "m.json", strategy: "MINIMAL", changes: [], paramOverheadPct: 1 }], notes: [] });
    await assert.rejects(writeReport(r, join(root, "src")), (e: unknown) => e instanceof GacError && e.code === "OUTPUT_EXISTS");
    assert.equal(await readFile(join(root, "src", "main.ts"), "utf8"), "keep me");
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
