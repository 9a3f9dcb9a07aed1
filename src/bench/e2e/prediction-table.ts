/**
 * Prediction beside measurement for every e2e grid point (src/profile/predict-e2e.ts), the ratio,
 * and for every point off by more than 15% the reason where gac can tell it: a shape-dynamics
 * rule (cuDNN re-planning per KV length), the kernels the step actually launched (math fallback),
 * or an engine the profile does not describe (eager attention). Used by `gac bench e2e` and
 * bench/e2e-check.ts.
 */
import { cudnnSdpaReplan } from "../../contract/rules/shape-dynamics.js";
import type { GpuId } from "../../contract/types.js";
import type { ModelSpec } from "../../model/types.js";
import { predictE2ePoint, pointCalls, type E2ePrediction } from "../../profile/predict-e2e.js";
import type { GpuProfile } from "../../profile/types.js";
import { markdownTable, formatMs } from "../../report/markdown-table.js";
import { servingDtype } from "../../scan/serving-dtype.js";
import { cudnnAllowed, kvEvolution } from "./engines.js";
import type { E2eMeasurement } from "./measurements.js";

/**
 * Host time of one cuDNN SDPA plan build on an H200, from the committed run 20261201T215958Z-e2e:
 * dense Llama-3-8B decode B1 ctx 4096 in stock transformers took 60.6 ms per step with cuDNN
 * eligible and 28.0 ms with cuDNN disabled: ~32 ms per step for the one plan all 32 layers share.
 * Calibrated on that one pair; every other point checks it.
 */
export const CUDNN_REPLAN_MS_PER_PLAN = 32;

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
  off: boolean;
  /** Why the measurement differs, where gac can tell; null when it cannot. */
  explanation: string | null;
}

/** "9.0" -> sm90 for the GPUs the rules know; the measured GPU's generation (names carry no number). */
function gpuIdFromName(name: string): GpuId {
  return /H100|H200|H800|H20|GH200/i.test(name) ? "sm90" : /B200|GB200/i.test(name) ? "sm100" : /A100|A800|A30/i.test(name) ? "sm80" : "sm90";
}

export function explainGap(m: E2eMeasurement, spec: ModelSpec, prediction: E2ePrediction): string | null {
  if (prediction.ms === null) return `the profile has no table for ${prediction.calls - prediction.predicted_calls} of the point's ${prediction.calls} GEMM/attention calls`;
  const [engine, config] = m.config.split("/");
  const kernels = m.kernels.join(" ").toLowerCase();
  const plans = replanPlans(m, spec);
  if (plans > 0 && (kernels === "" || kernels.includes("cudnn"))) {
    return `${cudnnSdpaReplan.id}: ${cudnnSdpaReplan.summary}; the prediction charges ${plans} plan build(s) of ${CUDNN_REPLAN_MS_PER_PLAN} ms per step, and the build time varies${config === "sdpa-avoid-recompile" ? " (TORCH_CUDNN_SDPA_AVOID_RECOMPILE=1 did not avoid it here)" : ""}`;
  }
  const fused = /flash|cudnn|fmha|sdpa/.test(kernels);
  if (m.phase === "decode" && !fused && /softmax/.test(kernels)) {
    return engine === "transformers" && config === "eager"
      ? "eager attention (matmul + softmax + matmul, scores materialised) is not the SDPA kernel the profile timed"
      : "decode attention ran SDPA's math backend (unfused softmax: with a mask, flash refuses and mem-efficient needs head_dim % 8); the profile timed a fused kernel";
  }
  if (engine === "transformers" && config === "eager") return "eager attention (matmul + softmax + matmul, scores materialised) is not the SDPA kernel the profile timed";
  return null;
}

export interface ModelWithSpec {
  label: string;
  spec: ModelSpec;
}

export function predictionRows(measurements: readonly E2eMeasurement[], models: readonly ModelWithSpec[], profile: GpuProfile): PredictionRow[] {
  const specs = new Map(models.map((m) => [m.label, m.spec]));
  const rows: PredictionRow[] = [];
  for (const m of measurements) {
    const spec = specs.get(m.model);
    if (!spec) continue;
    const { ms, ...parts } = predictE2ePoint(spec, { phase: m.phase, batch: m.batch, length: m.length }, profile, {
      dtype: servingDtype(spec.dtype),
      config: m.config,
      ...(m.copy_bandwidth_gbps !== null ? { copyBandwidthGbps: m.copy_bandwidth_gbps } : {}),
      extraHostMs: replanPlans(m, spec) * CUDNN_REPLAN_MS_PER_PLAN,
    });
    const ratio = ms === null ? null : m.median_ms / ms;
    const off = ratio === null || Math.abs(ratio - 1) > PREDICTION_TOLERANCE;
    rows.push({
      model: m.model,
      config: m.config,
      point: m.point,
      gpu: m.gpu,
      measured_ms: m.median_ms,
      predicted_ms: ms,
      parts,
      ratio,
      off,
      explanation: off ? explainGap(m, spec, { ms, ...parts }) : null,
    });
  }
  return rows;
}

export function renderPredictionTable(rows: readonly PredictionRow[]): string {
  const body = rows.map((r) => [
    r.model,
    r.config,
    r.point,
    formatMs(r.measured_ms),
    r.predicted_ms === null ? "-" : formatMs(r.predicted_ms),
    `${formatMs(r.parts.gemm_ms)} / ${formatMs(r.parts.attention_ms)} / ${formatMs(r.parts.elementwise_ms)} / ${formatMs(r.parts.launch_ms)}${r.parts.extra_host_ms > 0 ? ` + ${formatMs(r.parts.extra_host_ms)} re-plan` : ""} (${r.parts.combine})`,
    r.ratio === null ? "-" : `${r.ratio.toFixed(2)}`,
    r.off ? `OFF >${Math.round(PREDICTION_TOLERANCE * 100)}%: ${r.explanation ?? "not explained"}` : "within 15%",
    r.gpu,
  ]);
  const off = rows.filter((r) => r.off);
  const unexplained = off.filter((r) => r.explanation === null).length;
  return (
    markdownTable(["Model", "Configuration", "Point", "Measured ms", "Predicted ms", "GEMM / attention / elementwise / launch (+ re-plan) ms", "Measured / predicted", "Check", "GPU"], body) +
    `\n${rows.length - off.length} of ${rows.length} points within ${Math.round(PREDICTION_TOLERANCE * 100)}%; ${off.length - unexplained} off and explained, ${unexplained} off and not explained.\n`
  );
}
