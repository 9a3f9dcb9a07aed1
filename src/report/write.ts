/**
 * writeReport: render every figure and write the report directory atomically. Everything goes into
 * a sibling temp directory first; only when all files are written does it take the output's name,
 * so a crash or a failed render leaves either the previous report or none, never half of one.
 */
import { mkdir, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { GacError } from "../errors.js";
import { renderHtml } from "./html.js";
import { renderMarkdown } from "./markdown.js";
import { renderPng, renderSvg } from "./render.js";
import type { Report } from "./types.js";

/** Files a gac report directory always has; an existing directory without them is not ours to replace. */
const REPORT_MARKERS = ["report.md", "index.html"];

export interface WriteOptions {
  /** Called once per file written, with its path relative to the output directory. */
  onFile?: (relPath: string) => void;
}

export interface WrittenReport {
  outDir: string;
  files: string[];
}

async function assertReplaceable(outDir: string): Promise<boolean> {
  const s = await stat(outDir).catch(() => undefined);
  if (!s) return false;
  if (!s.isDirectory()) throw new GacError("OUTPUT_EXISTS", `${outDir} exists and is not a directory; choose another --out`);
  const names = await readdir(outDir);
  if (names.length > 0 && !REPORT_MARKERS.every((m) => names.includes(m))) {
    throw new GacError("OUTPUT_EXISTS", `${outDir} exists and is not a gac report (no report.md and index.html); choose another --out`);
  }
  return true;
}

export async function writeReport(report: Report, outDir: string, opts: WriteOptions = {}): Promise<WrittenReport> {
  const target = resolve(outDir);
  const exists = await assertReplaceable(target);
  const tag = `${process.pid}-${Date.now().toString(36)}`;
  const tmp = join(dirname(target), `.${basename(target)}.partial-${tag}`);
  const files: string[] = [];
  const put = async (rel: string, data: string | Buffer) => {
    await writeFile(join(tmp, rel), data);
    files.push(rel);
    opts.onFile?.(rel);
  };
  await mkdir(dirname(target), { recursive: true });
  try {
    await mkdir(join(tmp, "figures"), { recursive: true });
    await mkdir(join(tmp, "tables"), { recursive: true });
    for (const f of report.figures) {
      const svg = await renderSvg(f.spec);
      await put(`figures/${f.name}.svg`, svg);
      await put(`figures/${f.name}.png`, renderPng(svg));
    }
    for (const t of report.tables) await put(`tables/${t.name}.md`, `# ${t.title}\n\n${t.caption}\n\n${t.markdown}`);
    await put("report.md", renderMarkdown(report));
    await put("index.html", renderHtml(report));
    if (exists) {
      const old = join(dirname(target), `.${basename(target)}.old-${tag}`);
      await rename(target, old);
      await rename(tmp, target);
      await rm(old, { recursive: true, force: true });
    } else {
      await rename(tmp, target);
    }
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return { outDir: target, files };
}
