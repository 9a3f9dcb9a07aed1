/**
 * One look for every figure: the bundled DejaVu Sans everywhere (the PNG renderer loads no system
 * fonts), font sizes that stay readable at 900 px, and the alignment encoding shared by all plots:
 * colour AND shape, so the classes stay apart in greyscale and for colour-blind readers.
 */
import type { Config } from "vega-lite";
import { ALIGNMENT_CLASSES } from "./alignment.js";

export const FONT_FAMILY = "DejaVu Sans";

export const VEGA_CONFIG: Config = {
  font: FONT_FAMILY,
  background: "white",
  padding: 8,
  title: { font: FONT_FAMILY, fontSize: 15, anchor: "start", subtitleFontSize: 12, subtitleFont: FONT_FAMILY },
  axis: { labelFont: FONT_FAMILY, titleFont: FONT_FAMILY, labelFontSize: 12, titleFontSize: 13, gridColor: "#e6e6e6" },
  legend: { labelFont: FONT_FAMILY, titleFont: FONT_FAMILY, labelFontSize: 12, titleFontSize: 12, symbolSize: 90, orient: "right", labelLimit: 320, titleLimit: 320 },
  header: { labelFont: FONT_FAMILY, titleFont: FONT_FAMILY, labelFontSize: 12, titleFontSize: 13 },
  text: { font: FONT_FAMILY, fontSize: 11 },
  view: { stroke: "#cccccc" },
};

/** Okabe-Ito blue / orange / vermillion: distinct for the common colour-vision deficiencies. */
export const ALIGNMENT_COLOR = {
  domain: [...ALIGNMENT_CLASSES],
  range: ["#0072B2", "#E69F00", "#D55E00"],
};

export const ALIGNMENT_SHAPE = {
  domain: [...ALIGNMENT_CLASSES],
  range: ["circle", "square", "triangle-up"],
};

export const CHART_WIDTH = 620;
export const CHART_HEIGHT = 300;
