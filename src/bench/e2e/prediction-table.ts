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
import type { E2eMeasurement } from "./measurements.js";

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
  const [engine, config, cache] = m.config.split("/");
  const kernels = m.kernels.join(" ").toLowerCase();
  if (m.phase === "decode" && engine === "transformers" && config.startsWith("sdpa") && config !== "sdpa-nocudnn" && cache === "dynamic") {
    const dtype = servingDtype(spec.dtype);
    const call = pointCalls(spec, { phase: "decode", batch: m.batch, length: m.length }, dtype).find((c) => c.kind === "attention");
    const gpu = gpuIdFromName(m.gpu);
    if (call && cudnnSdpaReplan.applies(call, "pytorch-sdpa", gpu, "kv-grows-per-step") && (kernels === "" || kernels.includes("cudnn"))) {
      return `${cudnnSdpaReplan.id}: ${cudnnSdpaReplan.summary}${config === "sdpa-avoid-recompile" ? " (TORCH_CUDNN_SDPA_AVOID_RECOMPILE=1 re-plans only at powers of two, where it applies)" : ""}`;
    }
  }
  if (m.phase === "decode" && kernels.includes("math")) return "decode attention ran SDPA's math backend (a static cache passes a mask: flash refuses masks, mem-efficient needs head_dim % 8); the profile timed the fused kernel";
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
      dtype: servingDtype(spec.dtype), config: m.config, ...(m.copy_bandwidth_gbps !== null ? { copyBandwidthGbps: m.copy_bandwidth_gbps } : {}),
    });
    const ratio = ms === null ? null : m.median_ms / ms;
    const off = ratio === null || Math.abs(ratio - 1) > PREDICTION_TOLERANCE;
    rows.push({
      model: m.model, config: m.config, point: m.point, gpu: m.gpu, measured_ms: m.median_ms, predicted_ms: ms, parts, ratio, off,
      explanation: off ? explainGap(m, spec, { ms, ...parts }) : null,
    });
  }
  return rows;
}

export function renderPredictionTable(rows: readonly PredictionRow[]): string {
  const body = rows.map((r) => [
    r.model, r.config, r.point, formatMs(r.measured_ms), r.predicted_ms === null ? "-" : formatMs(r.predicted_ms),
    `${formatMs(r.parts.gemm_ms)} / ${formatMs(r.parts.attention_ms)} / ${formatMs(r.parts.elementwise_ms)} / ${formatMs(r.parts.launch_ms)} (${r.parts.combine})`,
    r.ratio === null ? "-" : `${r.ratio.toFixed(2)}`,
    r.off ? `OFF >${Math.round(PREDICTION_TOLERANCE * 100)}%: ${r.explanation ?? "not explained"}` : "within 15%",
    r.gpu,
  ]);
  const off = rows.filter((r) => r.off);
  const unexplained = off.filter((r) => r.explanation === null).length;
  return markdownTable(["Model", "Configuration", "Point", "Measured ms", "Predicted ms", "GEMM / attention / elementwise / launch ms", "Measured / predicted", "Check", "GPU"], body) +
    `\n${rows.length - off.length} of ${rows.length} points within ${Math.round(PREDICTION_TOLERANCE * 100)}%; ${off.length - unexplained} off and explained, ${unexplained} off and not explained.\n`;
}
