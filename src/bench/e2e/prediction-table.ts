/**
 * Prediction beside measurement for every e2e grid point (src/profile/predict-e2e.ts), the ratio,
 * and for every point off by more than 15% an explanation only where the same run measured the
 * mechanism: a paired measurement (the same model in the configuration without it, or its
 * repair at an aligned head_dim) gives the mechanism's size, and the point is "explained" only when
 * the pair's prediction plus that size is within 15% of the measurement. The points a constant
 * was fitted on (calibration.ts) are printed as calibration and not counted. Used by `gac bench
 * e2e` and bench/e2e-check.ts.
 */
import { cudnnSdpaReplan } from "../../contract/rules/shape-dynamics.js";
import type { GpuId } from "../../contract/types.js";
import type { ModelSpec } from "../../model/types.js";
import { layerLinears, linearFactors } from "../../model/layer-linears.js";
import { backendFromKernels } from "../../profile/engine-steps.js";
import { predictE2ePoint, pointCalls, type E2ePrediction } from "../../profile/predict-e2e.js";
import type { GpuProfile } from "../../profile/types.js";
import { markdownTable, formatMs } from "../../report/markdown-table.js";
import { servingDtype } from "../../scan/serving-dtype.js";
import { cudnnAllowed, kvEvolution } from "./engines.js";
import { calibrate, calibrates, engineOf, hostFactor, probeOf, HOST_PROBE_KIND, type Calibration } from "./calibration.js";
import type { E2eMeasurement } from "./measurements.js";
import { gemmScaleFor, hostRegimeVerdict, NO_MEASURED_MECHANISMS, type MeasuredMechanisms } from "./measured-mechanisms.js";

/** Distinct decode attention shapes among the layers: each needs its own plan per KV length. */
export function distinctAttentionShapes(spec: ModelSpec): number {
  return new Set(spec.layers.map((l) => `${l.attn.numHeads}/${l.attn.numKvHeads}/${l.attn.headDim}/${l.attn.headDimV}`)).size;
}

/** Plan builds per decode step the re-plan rule charges at this point and configuration (0 when it does not apply). */
export function replanPlans(m: Pick<E2eMeasurement, "phase" | "batch" | "length" | "config" | "gpu">, spec: ModelSpec): number {
  if (m.phase !== "decode" || !cudnnAllowed(m.config)) return 0;
  const call = pointCalls(spec, { phase: "decode", batch: m.batch, length: m.length }, servingDtype(spec.dtype)).find((c) => c.kind === "attention");
  if (!call || !cudnnSdpaReplan.applies(call, "pytorch-sdpa", gpuIdFromName(m.gpu), kvEvolution(m.config))) return 0;
  return distinctAttentionShapes(spec);
}

/** The acceptance bound: a prediction further than this from the measurement must be explained. */
export const PREDICTION_TOLERANCE = 0.15;

export type Mechanism = "cudnn-replan" | "static-cache" | "eager-attention" | "masked-sdpa" | "misaligned-dims" | "host-spread" | "attention-part" | "host-regime";

export interface PredictionRow {
  model: string;
  config: string;
  point: string;
  gpu: string;
  measured_ms: number;
  predicted_ms: number | null;
  parts: Omit<E2ePrediction, "ms">;
  /** measured / predicted */
  ratio: number | null;
  /** The point's host speed against the calibration's (its probe / the reference); 1 where unrecorded. */
  host_factor: number;
  /** The constant this point was fitted into (not a check), or null. */
  calibration: string | null;
  off: boolean;
  /** What the run measured about the gap (or why nothing could be), for every off check; null otherwise. */
  explanation: string | null;
  /** The mechanism whose measured size closes the gap to within 15%; null when none does. */
  explained_by: Mechanism | null;
}

/** "9.0" -> sm90 for the GPUs the rules know; the measured GPU's generation (names carry no number). */
function gpuIdFromName(name: string): GpuId {
  return /H100|H200|H800|H20|GH200/i.test(name) ? "sm90" : /B200|GB200/i.test(name) ? "sm100" : /A100|A800|A30/i.test(name) ? "sm80" : "sm90";
}

export interface ModelWithSpec {
  label: string;
  spec: ModelSpec;
}

/** What a paired measurement says: the pair, the mechanism's measured size, and whether it closes the gap. */
export interface PairedEvidence {
  mechanism: Mechanism;
  what: string;
  pair: { model: string; config: string };
  /** measured - the pair's measured */
  measured_delta_ms: number;
  /** predicted - the pair's predicted: the size the model gives the same difference */
  modelled_delta_ms: number;
  /** the pair's prediction (with its attention part as measured alone, where the run measured it) + measured_delta_ms */
  corrected_ms: number;
  pair_attention_measured: boolean;
  /** measured / corrected_ms */
  ratio: number;
  closes: boolean;
}

interface Predicted {
  m: E2eMeasurement;
  spec: ModelSpec;
  prediction: E2ePrediction;
  /** The point's host speed against the calibration's (1 where unrecorded). */
  hostFactor?: number;
}

/** The dims of a spec that are not multiples of 8 (head_dim, MLP width, factor ranks), first few, for the text. */
export function misalignedDims(spec: ModelSpec): string[] {
  const out = new Set<string>();
  for (const l of spec.layers) {
    if (l.attn.headDim % 8 !== 0) out.add(`head_dim ${l.attn.headDim}`);
    if (l.mlp.intermediate % 8 !== 0) out.add(`MLP width ${l.mlp.intermediate}`);
    for (const { linear } of layerLinears(l))
      for (const w of linearFactors(linear)) if (w.in % 8 !== 0 || w.out % 8 !== 0) out.add(`${w.tensor.replace(/^model\.layers\.\d+\./, "").replace(/\.weight$/, "")} ${w.out}x${w.in}`);
  }
  return [...out].slice(0, 3);
}

/** The pairs the run holds for an off point, each with the mechanism the pair isolates. */
function pairsFor(row: Predicted, all: readonly Predicted[]): { mechanism: Mechanism; what: string; pair: Predicted }[] {
  const { m } = row;
  const [engine, attn, cache] = m.config.split("/");
  const find = (model: string, config: string) => all.find((p) => p.m.model === model && p.m.config === config && p.m.point === m.point && p.m.gpu === m.gpu);
  const out: { mechanism: Mechanism; what: string; pair: Predicted }[] = [];
  const push = (mechanism: Mechanism, what: string, pair: Predicted | undefined) => {
    if (pair) out.push({ mechanism, what, pair });
  };
  const backend = backendFromKernels(m.kernels);
  if (engine === "transformers" && m.phase === "decode" && cache === "dynamic" && (attn === "sdpa" || attn === "sdpa-avoid-recompile") && backend === "cudnn") {
    push(
      "cudnn-replan",
      `${cudnnSdpaReplan.id} (cuDNN builds a plan per new KV length${attn === "sdpa-avoid-recompile" ? "; TORCH_CUDNN_SDPA_AVOID_RECOMPILE=1 set" : ""})`,
      find(m.model, "transformers/sdpa-nocudnn/dynamic"),
    );
  }
  if (engine === "gac" && m.phase === "decode" && attn === "eager" && backend === "cudnn") {
    push("cudnn-replan", `${cudnnSdpaReplan.id} (the gac engine's eager decode attends over a slice that grows by one position per step)`, find(m.model, "gac/eager-nocudnn/static"));
  }
  if (engine === "gac" && m.phase === "decode" && attn === "graph") {
    push(
      "masked-sdpa",
      `SDPA with a mask in the CUDA graph (${backend ?? "an unrecorded backend"}; cuDNN's fprop tiles only the query axis, so a step runs on batch x kv-head blocks), against the same graph with split-KV attention`,
      find(m.model, "gac/graph-splitkv/static"),
    );
  }
  if (engine === "transformers" && m.phase === "decode" && cache === "static") {
    push(
      "static-cache",
      `the static-cache step (a mask over the whole cache, so no GQA in SDPA: repeat_kv copies; SDPA with a mask ran ${backend ?? "an unrecorded backend"})`,
      find(m.model, "transformers/sdpa-nocudnn/dynamic"),
    );
  }
  if (engine === "transformers" && attn === "eager") {
    push(
      "eager-attention",
      "eager attention (scores materialised, matmul + softmax + matmul)",
      find(m.model, m.phase === "prefill" ? "transformers/sdpa/dynamic" : "transformers/sdpa-nocudnn/dynamic"),
    );
  }
  // The same step in another process: configurations that launch identical kernels (at a head_dim
  // cuDNN never takes, sdpa, sdpa-nocudnn and sdpa-avoid-recompile all run flash).
  if (engine === "transformers" && m.phase === "decode" && cache === "dynamic" && attn !== "eager" && backend !== null && backend !== "cudnn") {
    const twin = all.find(
      (p) =>
        p !== row &&
        p.m.model === m.model &&
        p.m.point === m.point &&
        p.m.gpu === m.gpu &&
        p.m.config.endsWith("/dynamic") &&
        !p.m.config.includes("/eager/") &&
        backendFromKernels(p.m.kernels) === backend &&
        p.prediction.kernels === row.prediction.kernels,
    );
    push("host-spread", `the host's speed between child processes (${twin?.m.config ?? ""} launches the same ${row.prediction.kernels} kernels with the same ${backend} attention)`, twin);
  }
  // The repair of the same checkpoint in the same configuration: what the misaligned dims cost here.
  if (m.variant === "none") {
    const repaired = ["MINIMAL", "OPTIMAL"].map((v) => find(`${m.model}/${v}`, m.config)).find((p) => p !== undefined);
    const dims = misalignedDims(row.spec);
    const hd = row.spec.layers.find((l) => l.attn.headDim % 8 !== 0)?.attn.headDim;
    const backendNote =
      hd === undefined
        ? ""
        : `; at head_dim ${hd} SDPA runs ${m.phase === "decode" ? (backend ?? "flash or math") : "flash with the head_dim padded (Flash_fwd_kernel_traits<128> recorded at decode)"}, not cuDNN`;
    if (dims.length > 0) push("misaligned-dims", `the misaligned dims (${dims.join(", ")}${backendNote}), sized by this checkpoint's repair ${repaired?.m.model ?? ""}`, repaired);
  }
  return out;
}

/** A graph decode point's prediction with its attention part as measured alone, where the run measured it; else its prediction. */
export function withMeasuredAttention(p: Pick<Predicted, "m" | "prediction">): { ms: number | null; measured: boolean } {
  const part = p.m.attention_part_ms;
  if (p.prediction.ms === null || part === undefined || p.prediction.combine !== "gpu + graph gaps") return { ms: p.prediction.ms, measured: false };
  return { ms: p.prediction.ms - p.prediction.attention_ms + part, measured: true };
}

export function pairedEvidence(row: Predicted, pair: Predicted, mechanism: Mechanism, what: string): PairedEvidence | null {
  const base = withMeasuredAttention(pair);
  if (row.prediction.ms === null || pair.prediction.ms === null || base.ms === null) return null;
  const measuredDelta = row.m.median_ms - pair.m.median_ms;
  const corrected = base.ms + measuredDelta;
  const ratio = row.m.median_ms / corrected;
  return {
    mechanism,
    what,
    pair: { model: pair.m.model, config: pair.m.config },
    measured_delta_ms: measuredDelta,
    modelled_delta_ms: row.prediction.ms - pair.prediction.ms,
    corrected_ms: corrected,
    pair_attention_measured: base.measured,
    ratio,
    closes: corrected > 0 && Math.abs(ratio - 1) <= PREDICTION_TOLERANCE,
  };
}

const ms = (v: number) => `${v >= 0 ? "" : "-"}${formatMs(Math.abs(v))} ms`;

function evidenceText(e: PairedEvidence, row: Predicted): string {
  const pairName = e.pair.model === row.m.model ? e.pair.config : `${e.pair.model} (${e.pair.config})`;
  return (
    `${e.what}: measured as this point - ${pairName} at the same point = ${ms(e.measured_delta_ms)} (the model gives ${ms(e.modelled_delta_ms)}); ` +
    `the pair's prediction${e.pair_attention_measured ? " (with its attention as measured alone)" : ""} + the measured ${ms(e.measured_delta_ms)} = ${ms(e.corrected_ms)}, measured / that = ${e.ratio.toFixed(2)}: ` +
    (e.closes ? "within 15%" : "still more than 15% off")
  );
}

/**
 * attention-part for a gac CUDA-graph decode point whose run measured its attention alone (every
 * layer's attention replayed in a graph at the step's position): the prediction with that
 * measurement in place of the modelled attention part.
 */
export function attentionPartVerdict(row: Predicted): { text: string; closes: boolean } | null {
  const measured = row.m.attention_part_ms;
  const p = row.prediction;
  const corrected = withMeasuredAttention(row).ms;
  if (measured === undefined || corrected === null || p.combine !== "gpu + graph gaps") return null;
  const ratio = row.m.median_ms / corrected;
  const closes = Math.abs(ratio - 1) <= PREDICTION_TOLERANCE;
  return {
    closes,
    text:
      `the step's attention measured alone (every layer's, replayed in a CUDA graph at this point) took ${ms(measured)} where the model gives ${ms(p.attention_ms)} (${p.backend}); ` +
      `the prediction with the measured part = ${ms(corrected)}, measured / that = ${ratio.toFixed(2)}: ${closes ? "within 15%" : "still more than 15% off"}`,
  };
}

/**
 * Why an off check is off as far as the evidence can say, and whether a measured mechanism closes
 * it: first a pair of this run; then, for a run that did not record the host's speed per point, the
 * host's measured regimes (host-bound eager steps, "consistent with" only; measured-mechanisms.ts).
 */
export function explainGap(row: Predicted, all: readonly Predicted[], measured: MeasuredMechanisms = NO_MEASURED_MECHANISMS): { text: string; by: Mechanism | null } {
  const { prediction } = row;
  if (prediction.ms === null) return { text: `the profile has no table for ${prediction.calls - prediction.predicted_calls} of the point's ${prediction.calls} GEMM/attention calls`, by: null };
  const evidence = pairsFor(row, all)
    .map((p) => pairedEvidence(row, p.pair, p.mechanism, p.what))
    .filter((e): e is PairedEvidence => e !== null);
  const closing = evidence.find((e) => e.closes);
  if (closing) return { text: evidenceText(closing, row), by: closing.mechanism };
  const texts = evidence.map((e) => evidenceText(e, row));
  const part = attentionPartVerdict(row);
  if (part?.closes) return { text: part.text, by: "attention-part" };
  if (part) texts.push(part.text);
  if (prediction.extra_host_ms > 0 && !evidence.some((e) => e.mechanism === "cudnn-replan")) {
    texts.push(
      `${cudnnSdpaReplan.id}: the prediction charges ${ms(prediction.extra_host_ms)} of cuDNN plan builds per step (the calibrated cost per plan); no configuration of this run without cuDNN sizes it for this model`,
    );
  }
  const probe = probeOf(row.m);
  const sized = probe !== null && (row.hostFactor ?? 1) !== 1;
  if (sized) texts.push(`the host's speed at this point is in the prediction (${HOST_PROBE_KIND} probe ${probe.toFixed(2)} µs, x${(row.hostFactor ?? 1).toFixed(2)} the calibration's)`);
  const point = { gpu: row.m.gpu, config: row.m.config, measured_ms: row.m.median_ms };
  const ratios = [row.m.median_ms / prediction.ms, ...evidence.map((e) => e.ratio)];
  const regime = hostRegimeVerdict(point, prediction, engineOf(row.m.config), ratios, measured.hostRegime, sized);
  if (regime?.closes) return { text: [regime.text, ...texts].join("; "), by: "host-regime" };
  if (regime) texts.push(regime.text);
  return { text: texts.length > 0 ? texts.join("; ") : "no paired measurement in this run isolates a mechanism for this gap", by: null };
}

export interface PredictionTable {
  rows: PredictionRow[];
  calibration: Calibration;
}

export function predictionTable(
  measurements: readonly E2eMeasurement[],
  models: readonly ModelWithSpec[],
  profile: GpuProfile,
  measured: MeasuredMechanisms = NO_MEASURED_MECHANISMS,
): PredictionTable {
  const specs = new Map(models.map((m) => [m.label, m.spec]));
  const cal = calibrate(measurements, specs, profile, replanPlans);
  const predicted: Predicted[] = [];
  for (const m of measurements) {
    const spec = specs.get(m.model);
    if (!spec) continue;
    const host = hostFactor(m, cal);
    const scale = gemmScaleFor(m, measured.sustainedGemm);
    const prediction = predictE2ePoint(spec, { phase: m.phase, batch: m.batch, length: m.length }, profile, {
      dtype: servingDtype(spec.dtype),
      config: m.config,
      ...(m.copy_bandwidth_gbps !== null ? { copyBandwidthGbps: m.copy_bandwidth_gbps } : {}),
      extraHostMs: replanPlans(m, spec) * cal.replan_ms_per_plan.value * host,
      hostUsPerKernel: cal.host_us_per_kernel[engineOf(m.config)].value * host,
      ...(scale ? { gemmScale: scale.scale } : {}),
      ...(backendFromKernels(m.kernels) !== null ? { decodeBackend: backendFromKernels(m.kernels) ?? undefined } : {}),
    });
    predicted.push({ m, spec, prediction, hostFactor: host });
  }
  const rows = predicted.map((p): PredictionRow => {
    const { ms: pms, ...parts } = p.prediction;
    const ratio = pms === null ? null : p.m.median_ms / pms;
    const calibration = calibrates(p.m, cal);
    const off = calibration === null && (ratio === null || Math.abs(ratio - 1) > PREDICTION_TOLERANCE);
    const why = off ? explainGap(p, predicted, measured) : null;
    return {
      model: p.m.model,
      config: p.m.config,
      point: p.m.point,
      gpu: p.m.gpu,
      measured_ms: p.m.median_ms,
      predicted_ms: pms,
      parts,
      ratio,
      host_factor: p.hostFactor ?? 1,
      calibration,
      off,
      explanation: why?.text ?? null,
      explained_by: why?.by ?? null,
    };
  });
  return { rows, calibration: cal };
}

/** The rows alone (`gac bench e2e`'s table). */
export function predictionRows(measurements: readonly E2eMeasurement[], models: readonly ModelWithSpec[], profile: GpuProfile): PredictionRow[] {
  return predictionTable(measurements, models, profile).rows;
}

export interface PredictionSummary {
  checks: number;
  within: number;
  explained: number;
  by_mechanism: Partial<Record<Mechanism, number>>;
  not_explained: number;
  calibration: number;
}

export function summarise(rows: readonly PredictionRow[]): PredictionSummary {
  const checks = rows.filter((r) => r.calibration === null);
  const off = checks.filter((r) => r.off);
  const by: Partial<Record<Mechanism, number>> = {};
  for (const r of off) if (r.explained_by) by[r.explained_by] = (by[r.explained_by] ?? 0) + 1;
  const explained = off.filter((r) => r.explained_by !== null).length;
  return { checks: checks.length, within: checks.length - off.length, explained, by_mechanism: by, not_explained: off.length - explained, calibration: rows.length - checks.length };
}

export function summaryLine(s: PredictionSummary): string {
  const by = Object.entries(s.by_mechanism)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
  return `${s.within} within 15%, ${s.explained} explained (by mechanism${by ? `: ${by}` : ""}), ${s.not_explained} not explained, of ${s.checks} checks; ${s.calibration} calibration points not counted.`;
}

export function renderCalibration(cal: Calibration): string {
  const line = (name: string, c: Calibration["replan_ms_per_plan"], unit: string) =>
    `- ${name}: ${c.value.toPrecision(3)} ${unit}, ${c.fitted_on.length > 0 ? `the median over ${c.subset} (${c.fitted_on.length}: ${c.fitted_on.join("; ")})` : `default (no point of this run is in ${c.subset})`}`;
  const ref = (engine: "transformers" | "gac") => {
    const r = cal.host_probe_ref_us[engine];
    const sp = cal.host_subset_spread[engine];
    if (!sp) return "";
    const spread = `the subset spreads ${sp.measured.toFixed(2)}x as measured, ${sp.at_reference.toFixed(2)}x at one host speed`;
    return r === null
      ? ` (host probe recorded, not used: ${spread})`
      : ` (at the subset's median ${HOST_PROBE_KIND} probe, ${r.toFixed(2)} µs; each point is charged it x its own probe / that; ${spread})`;
  };
  return [
    "Calibration (fitted on these points; they are not checks):",
    line("host time per kernel, transformers", cal.host_us_per_kernel.transformers, "µs") + ref("transformers"),
    line("host time per kernel, gac", cal.host_us_per_kernel.gac, "µs") + ref("gac"),
    line("cuDNN plan build per distinct attention shape per decode step", cal.replan_ms_per_plan, "ms"),
  ].join("\n");
}

export function renderPredictionTable(rows: readonly PredictionRow[], cal?: Calibration): string {
  const body = rows.map((r) => [
    r.model,
    r.config,
    r.point,
    formatMs(r.measured_ms),
    r.predicted_ms === null ? "-" : formatMs(r.predicted_ms),
    `${formatMs(r.parts.gemm_ms)}${r.parts.gemm_scale !== 1 ? ` (x${r.parts.gemm_scale.toFixed(3)})` : ""} / ${formatMs(r.parts.attention_ms)} (${r.parts.backend}) / ${formatMs(r.parts.elementwise_ms)} / ${formatMs(r.parts.launch_ms)}${r.parts.extra_host_ms > 0 ? ` + ${formatMs(r.parts.extra_host_ms)} re-plan` : ""} (${r.parts.combine})`,
    `${r.parts.kernels} x ${r.parts.us_per_kernel.toPrecision(3)} µs${r.host_factor !== 1 && r.parts.combine === "max(gpu, host)" ? ` (host x${r.host_factor.toFixed(2)})` : ""}`,
    r.ratio === null ? "-" : `${r.ratio.toFixed(2)}`,
    r.calibration !== null
      ? `calibration (${r.calibration})`
      : !r.off
        ? "within 15%"
        : r.explained_by
          ? `OFF, explained by ${r.explained_by}: ${r.explanation}`
          : `OFF, not explained: ${r.explanation ?? ""}`,
    r.gpu,
  ]);
  return (
    markdownTable(
      [
        "Model",
        "Configuration",
        "Point",
        "Measured ms",
        "Predicted ms",
        "GEMM (x measured scale) / attention (backend) / elementwise / launch (+ re-plan) ms",
        "Kernels x host (x host speed)",
        "Measured / predicted",
        "Check",
        "GPU",
      ],
      body,
    ) + `\n${cal ? `${renderCalibration(cal)}\n\n` : ""}${summaryLine(summarise(rows))}\n`
  );
}
