/**
 * Server-side rendering without a browser: vega-lite compile (+ the report's legend patch) -> headless vega View (renderer
 * "none") -> SVG; SVG -> PNG with resvg and the bundled DejaVu Sans (no system fonts are loaded,
 * so a machine without fonts renders the same text).
 */
import { fileURLToPath } from "node:url";
import { Resvg } from "@resvg/resvg-js";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { FONT_FAMILY, patchVegaSpec } from "./style.js";

export const FONT_FILE = fileURLToPath(new URL("../../assets/DejaVuSans.ttf", import.meta.url));

/** PNGs are rasterised at twice the chart's CSS size, for crisp text on high-density screens. */
export const PNG_SCALE = 2;

/**
 * A logger that never prints (the library writes nothing to the terminal); vega-lite's warnings
 * (a dropped sort, an unsupported channel) are collected for callers and tests instead.
 */
function collectingLogger(warnings: string[]) {
  const logger = vega.logger(vega.Warn);
  const text = (args: readonly unknown[]) => args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" ");
  logger.warn = (...args: readonly unknown[]) => {
    warnings.push(text(args));
    return logger;
  };
  logger.info = () => logger;
  logger.debug = () => logger;
  return logger;
}

/**
 * The Vega spec a figure draws: vega-lite's compilation with the report's legend styling applied
 * (style.ts `patchVegaSpec`); the HTML page embeds this, so browser and PNG draw the same.
 */
export function toVegaSpec(spec: TopLevelSpec, warnings: string[] = []): vega.Spec {
  // No $schema URL: the offline page references nothing outside itself.
  const { $schema: _schema, ...compiled } = compile(spec, { logger: collectingLogger(warnings) }).spec;
  return patchVegaSpec(compiled);
}

/** A headless Vega View of a figure, run to completion; the caller finalizes it. */
export async function figureView(spec: TopLevelSpec, warnings: string[] = []): Promise<vega.View> {
  const view = new vega.View(vega.parse(toVegaSpec(spec, warnings)), { renderer: "none", logger: collectingLogger(warnings) });
  await view.runAsync();
  return view;
}

export async function renderSvg(spec: TopLevelSpec, warnings: string[] = []): Promise<string> {
  const view = await figureView(spec, warnings);
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export function renderPng(svg: string, scale = PNG_SCALE): Buffer {
  const resvg = new Resvg(svg, {
    font: { fontFiles: [FONT_FILE], loadSystemFonts: false, defaultFontFamily: FONT_FAMILY },
    fitTo: { mode: "zoom", value: scale },
    background: "white",
  });
  return resvg.render().asPng();
}
