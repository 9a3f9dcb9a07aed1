/**
 * The Markdown tables of an e2e run (docs/e2e.md "Reading the tables"):
 *   speedup   per checkpoint, configuration and grid point: the unrepaired model, each repair's
 *             time and speedup with its spread (p10-p90 of both sides), and the dense parent;
 *   roofline  decode steps against the memory roofline, with tokens/s and the attention kernels;
 *   refused   every configuration or point that did not run, with its one-line reason;
 *   logits    original against repaired beside the noise floor, in words.
 */
import { markdownTable, formatMs } from "../../report/markdown-table.js";
import type { ModelSpec } from "../../model/types.js";
import { speedup, type E2eData, type E2eLogitsResult, type E2eMeasurement } from "./measurements.js";
import type { LogitsComparison } from "./wire.js";

/** What the tables need to know of a model besides its rows. */
export interface TableModel {
  label: string;
  name: string;
  variant: string;
  role: string;
  scale: string;
  same_as: string | null;
  spec: Pick<ModelSpec, "hiddenSize" | "vocabSize" | "numLayers" | "numHeads" | "headDim">;
}

/** Attention kernels as a reader scans them: each family once, without template arguments. */
export function kernelNames(kernels: readonly string[]): string {
  const short = kernels.map((k) =>
    k
      .replace(/^void /, "")
      .replace(/<.*$/, "")
      .replace(/\(.*$/, "")
      .slice(0, 80),
  );
  return [...new Set(short)].join(", ");
}

const x2 = (v: number) => `${v.toFixed(2)}×`;
const msSpread = (m: Pick<E2eMeasurement, "median_ms" | "p10_ms" | "p90_ms">) => `${formatMs(m.median_ms)} (${formatMs(m.p10_ms)}-${formatMs(m.p90_ms)})`;
const speedText = (before: E2eMeasurement, after: E2eMeasurement) => {
  const s = speedup(before, after);
  return `${x2(s.x)} (${s.lo.toFixed(2)}-${s.hi.toFixed(2)})`;
};

function shapeKey(spec: TableModel["spec"]): string {
  return `${spec.hiddenSize}/${spec.vocabSize}/${spec.numLayers}/${spec.numHeads}`;
}

function uniq<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

function pointText(m: Pick<E2eMeasurement, "phase" | "batch" | "length">): string {
  return m.phase === "prefill" ? `prefill ${m.batch}x${m.length}` : `decode B${m.batch} ctx ${m.length}`;
}

/** Repairs in the order strategies are usually given. */
const VARIANT_ORDER = ["MINIMAL", "OPTIMAL", "PREDEFINED", "TRADEOFF"];

export function speedupTable(data: E2eData, models: readonly TableModel[]): string {
  const find = (label: string | undefined, cfg: string, point: string, gpu: string) =>
    label === undefined ? undefined : data.measurements.find((m) => m.model === label && m.config === cfg && m.point === point && m.gpu === gpu);
  const checkpoints = models.filter((m) => m.role === "checkpoint");
  const names = uniq(checkpoints.map((m) => m.name));
  const variants = uniq(checkpoints.map((m) => m.variant))
    .filter((v) => v !== "none")
    .sort((a, b) => VARIANT_ORDER.indexOf(a) - VARIANT_ORDER.indexOf(b));
  const rows: string[][] = [];
  for (const name of names) {
    const base = checkpoints.find((m) => m.name === name && m.variant === "none");
    if (!base) continue;
    const parent = models.find((m) => m.role === "parent" && shapeKey(m.spec) === shapeKey(base.spec));
    const mine = data.measurements.filter((m) => m.model === base.label);
    for (const b of mine) {
      const cells = variants.map((v) => {
        const model = checkpoints.find((m) => m.name === name && m.variant === v);
        if (!model) return "-";
        const asLabel = model.same_as !== null ? checkpoints.find((m) => m.name === name && m.variant === model.same_as)?.label : model.label;
        const after = find(asLabel, b.config, b.point, b.gpu);
        const note = model.same_as === "none" ? " (no change)" : model.same_as !== null ? ` (as ${model.same_as})` : "";
        return after ? `${msSpread(after)}, ${speedText(b, after)}${note}` : `not measured${note}`;
      });
      const p = find(parent?.label, b.config, b.point, b.gpu);
      const best = variants
        .map((v) => checkpoints.find((m) => m.name === name && m.variant === v))
        .map((m) => (m ? find(m.same_as !== null ? checkpoints.find((c) => c.name === name && c.variant === m.same_as)?.label : m.label, b.config, b.point, b.gpu) : undefined))
        .filter((m): m is E2eMeasurement => m !== undefined)
        .sort((a, c) => a.median_ms - c.median_ms)[0];
      rows.push([name, b.config, pointText(b), msSpread(b), ...cells, p ? msSpread(p) : "-", p ? x2(p.median_ms / b.median_ms) : "-", p && best ? x2(p.median_ms / best.median_ms) : "-", b.gpu]);
    }
  }
  if (rows.length === 0) return "";
  const columns = [
    "Model",
    "Configuration",
    "Point",
    "Unrepaired ms (p10-p90)",
    ...variants.map((v) => `${v}: ms (p10-p90), speedup (spread)`),
    "Dense parent ms",
    "Unrepaired vs parent",
    "Best repair vs parent",
    "GPU",
  ];
  return markdownTable(columns, rows);
}

export function rooflineTable(data: E2eData): string {
  const rows = data.measurements
    .filter((m) => m.phase === "decode")
    .map((m) => [
      m.model,
      m.config,
      pointText(m),
      formatMs(m.median_ms),
      m.tokens_per_s !== null ? m.tokens_per_s.toFixed(0) : "-",
      m.roofline ? `${(m.roofline.bytes / 1e9).toFixed(2)} GB` : "-",
      m.roofline ? formatMs(m.roofline.ms) : "-",
      m.roofline ? `${(100 * m.roofline.fraction).toFixed(0)}%` : "-",
      m.kernels.length > 0 ? kernelNames(m.kernels) : "-",
      m.gpu,
    ]);
  return rows.length === 0 ? "" : markdownTable(["Model", "Configuration", "Point", "ms / step", "tokens/s", "bytes / step", "roofline ms", "of roofline", "attention kernels", "GPU"], rows);
}

export function refusedTable(data: E2eData): string {
  const rows = data.failures.map((f) => [f.model, f.config, f.point, f.type, f.message.split("\n")[0], f.gpu]);
  return rows.length === 0 ? "" : markdownTable(["Model", "Configuration", "Point", "Outcome", "Reason", "GPU"], rows);
}

/**
 * Relative differences up to this are float32 rounding of the same math in another order: the
 * committed H200 run (results/20261201T215958Z-e2e, 32 layers) measured 1.9e-5 between the two
 * engines and 2.5e-5 for the exact logical-scale repair (research/end_to_end.md: 7e-6 with 8
 * layers), against 1.7e-2 for one 16-bit rounding of a folded scale: 1e-4 separates them.
 */
export const FP32_ROUNDING_REL = 1e-4;

export type LogitsReading = "exact zero" | "fp32 rounding" | "one 16-bit rounding of a folded scale" | "kernel choice" | "not explained";

/**
 * A difference in words. `folded`: the repair folded sqrt(D/d) into a 16-bit q_proj (one rounding
 * of every q weight), which fp32 math does not undo; anything else above fp32 rounding in the
 * serving dtype comes from the kernels the padded shapes select; in fp32 it is not explained.
 */
export function logitsReading(kind: "fp32" | "serving", c: LogitsComparison, folded: boolean): LogitsReading {
  if (c.max_abs_diff === 0) return "exact zero";
  if (c.rel_to_max <= FP32_ROUNDING_REL) return "fp32 rounding";
  if (folded) return "one 16-bit rounding of a folded scale";
  return kind === "serving" ? "kernel choice" : "not explained";
}

function comparisonCells(c: LogitsComparison): string[] {
  return [c.max_abs_diff.toExponential(2), c.rel_to_max.toExponential(2), `${(100 * c.argmax_agree).toFixed(1)}%`];
}

/** Whether a model's repair folded the softmax scale into 16-bit weights: head_dim grew, fold mode. */
export function foldedScale(result: Pick<E2eLogitsResult, "model" | "checkpoint" | "scale">, models: readonly TableModel[]): boolean {
  const repaired = models.find((m) => m.label === result.model);
  const original = models.find((m) => m.name === result.checkpoint && m.variant === "none");
  return result.scale === "fold" && repaired !== undefined && original !== undefined && repaired.spec.headDim !== original.spec.headDim;
}

/** Words for the gac engine's decode paths (python/gac_worker/e2e/run.py DECODE_PATHS). */
const DECODE_PATH_WORDS: Record<string, string> = {
  eager: "eager decode (SDPA over the filled slice)",
  masked_sdpa: "graph step, SDPA with a mask",
  masked_splitkv: "graph step, split-KV attention",
};

/**
 * The gac engine's decode step against its own prefill on the original model: one row per dtype and
 * path. In fp32 a path that computes the same function differs by fp32 rounding; in the serving
 * dtype the reading names the noise floor of the same original.
 */
export function decodePathRows(r: Pick<E2eLogitsResult, "checkpoint" | "model" | "decode_paths" | "noise_floor" | "gpu">): string[][] {
  const rows: string[][] = [];
  const noise = r.noise_floor.gac;
  for (const [kind, paths] of Object.entries(r.decode_paths ?? {})) {
    for (const [path, c] of Object.entries(paths)) {
      const serving = kind !== "fp32";
      const reading = logitsReading(serving ? "serving" : "fp32", c, false);
      const vsNoise = serving && noise && c.max_abs_diff > 0 ? (c.rel_to_max <= noise.rel_to_max ? ", below the noise floor" : ", above the noise floor") : "";
      rows.push([
        `${r.checkpoint || r.model} (original)`,
        "gac",
        `${DECODE_PATH_WORDS[path] ?? path} vs prefill, ${serving ? "serving dtype" : "fp32 (TF32 off)"}`,
        ...comparisonCells(c),
        serving && noise ? noise.rel_to_max.toExponential(2) : "-",
        `${reading}${vsNoise}`,
        r.gpu,
      ]);
    }
  }
  return rows;
}

export function logitsTable(data: E2eData, models: readonly TableModel[]): string {
  const rows: string[][] = [];
  for (const r of data.logits) {
    const folded = foldedScale(r, models);
    for (const engine of uniq([...Object.keys(r.repair_fp32), ...Object.keys(r.repair_serving)])) {
      const noise = r.noise_floor[engine];
      const noiseText = noise ? noise.rel_to_max.toExponential(2) : "-";
      for (const [kind, c] of [
        ["fp32", r.repair_fp32[engine]],
        ["serving", r.repair_serving[engine]],
      ] as const) {
        if (!c) continue;
        const reading = logitsReading(kind, c, folded);
        const vsNoise = kind === "serving" && noise && c.max_abs_diff > 0 ? (c.rel_to_max <= noise.rel_to_max ? ", below the noise floor" : ", above the noise floor") : "";
        rows.push([r.model, engine, kind === "fp32" ? "repair, fp32 (TF32 off)" : "repair, serving dtype", ...comparisonCells(c), noiseText, `${reading}${vsNoise}`, r.gpu]);
      }
    }
    if (r.engines_fp32) rows.push([r.model, "transformers vs gac", "original, fp32", ...comparisonCells(r.engines_fp32), "-", logitsReading("fp32", r.engines_fp32, false), r.gpu]);
    rows.push(...decodePathRows(r));
    for (const [engine, why] of Object.entries(r.unsupported)) rows.push([r.model, engine, "not compared", "-", "-", "-", "-", why, r.gpu]);
  }
  return rows.length === 0 ? "" : markdownTable(["Model", "Engine", "Comparison", "max |diff|", "rel. to max |logit|", "argmax agree", "noise floor (rel.)", "Reading", "GPU"], rows);
}

/** Every table with a heading, for stdout and docs. */
export function renderE2eTables(data: E2eData, models: readonly TableModel[]): string {
  const parts: string[] = [];
  const add = (title: string, body: string, note: string) => {
    if (body !== "") parts.push(`### ${title}\n\n${note}\n\n${body}`);
  };
  add(
    "End to end: speedup of each repair",
    speedupTable(data, models),
    "Median ms (p10-p90) per configuration and grid point; speedup = unrepaired / repaired median, spread = unrepaired p10 / repaired p90 to unrepaired p90 / repaired p10. Prefill is one forward of the whole prompt (time to first token); decode is one step of one token per sequence.",
  );
  add(
    "Decode against the memory roofline",
    rooflineTable(data),
    "bytes / step = weights read (an untied embedding table left out) + batch x KV length x KV bytes per token; roofline = bytes / the measured copy bandwidth.",
  );
  add("Logits: original against repaired", logitsTable(data, models), "Same random tokens, every position. Noise floor: the original in the serving dtype against itself in fp32.");
  add("What did not run", refusedTable(data), "Every configuration or grid point that did not run, with its reason.");
  return parts.join("\n");
}
