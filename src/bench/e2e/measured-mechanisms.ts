/**
 * Measurements of the GPU and host that no pair of an e2e run sizes, taken by their own committed
 * scripts on the same GPU, and how the whole-model prediction uses them:
 *
 *   GEMM scale       the profile times each GEMM shape alone (L2 flushed, the GPU idle between
 *                    samples). bench/e2e_sustained_gemm.py runs a whole model's GEMMs as the
 *                    engines do, against the sum of their isolated timings:
 *                      - prefill: the 224 GEMMs of a Llama-3-8B prefill back to back, at the power
 *                        cap, take 1.10-1.13x their isolated sum on the H200 (sustained power);
 *                      - decode in a CUDA graph (--graph --tokens M): the GEMVs replayed back to back
 *                        stream at ~0.75x their isolated sum at M = 1 (no launch gaps, no cold ramp).
 *                    The prediction multiplies its GEMM part by the median ratio measured for the
 *                    point's phase (and, in a graph, its M = batch); where none was measured, by 1,
 *                    and says so. Eager decode is not scaled: its GEMMs are issued one by one behind
 *                    the host.
 *   host-regime      the host issuing an eager step runs in regimes ~2x apart
 *                    (bench/e2e_host_probe.py). Runs whose decode points record the worker's host
 *                    probe (docs/e2e-protocol.md host_probe_us) are sized per point in
 *                    calibration.ts; for older runs without it, a host-bound point whose ratio lies
 *                    inside the measured band is only "consistent with" the host's regime, the
 *                    weakest explanation the check prints, counted apart.
 */
import { gacGraph, parseStepConfig, type EngineName } from "../../profile/engine-steps.js";
import type { E2ePrediction } from "../../profile/predict-e2e.js";
import { median } from "../../util/median.js";

export interface SustainedGemmEvidence {
  gpu: string;
  /** Rows of the GEMMs measured (M): a prefill's tokens, or a decode batch. */
  tokens: number;
  /** Replayed from one CUDA graph (decode) rather than launched eagerly back to back (prefill). */
  graph: boolean;
  /** Whole-model GEMM time / the isolated sum, one per run. */
  ratios: number[];
  source: string;
}

/** The factor a point's GEMM part gets, and where it comes from. */
export interface GemmScale {
  scale: number;
  ratios: number[];
  what: string;
  source: string;
}

/**
 * The measured GEMM scale for a point, or null (scale 1) when none applies: prefill points take
 * the prefill runs' (eager, M > 1); decode points of a CUDA-graph configuration take the graph runs'
 * at M = the point's batch; eager decode takes none.
 */
export function gemmScaleFor(point: { phase: "prefill" | "decode"; batch: number; gpu: string; config: string }, evidence: readonly SustainedGemmEvidence[]): GemmScale | null {
  const graph = gacGraph(parseStepConfig(point.config), point.phase);
  const runs = evidence.filter((e) => e.gpu === point.gpu && e.ratios.length > 0 && (point.phase === "prefill" ? !e.graph && e.tokens > 1 : graph && e.graph && e.tokens === point.batch));
  if (runs.length === 0) return null;
  const ratios = runs.flatMap((e) => e.ratios);
  const what = point.phase === "prefill" ? "prefill GEMMs back to back at the power cap" : `decode GEMMs (M = ${point.batch}) replayed in a CUDA graph`;
  return { scale: median(ratios), ratios, what, source: [...new Set(runs.map((e) => e.source))].join(", ") };
}

export interface HostRegimeEvidence {
  gpu: string;
  engine: EngineName;
  /** Slowest / fastest median of the same step (same model and point) the probe measured. */
  band: number;
  /** The step whose medians span the band: model label, fastest and slowest medians (ms). */
  label: string;
  fastest_ms: number;
  slowest_ms: number;
  /** Step medians measured (halves of processes) for this engine. */
  medians: number;
  source: string;
}

export interface MeasuredMechanisms {
  sustainedGemm: SustainedGemmEvidence[];
  hostRegime: HostRegimeEvidence[];
}

export const NO_MEASURED_MECHANISMS: MeasuredMechanisms = { sustainedGemm: [], hostRegime: [] };

/** What one piece of evidence says about a point: its text and whether it closes (or, for host-regime, covers) the gap. */
export interface MechanismVerdict {
  text: string;
  closes: boolean;
}

const fmt = (x: number) => (x >= 100 ? x.toFixed(1) : x >= 10 ? x.toFixed(2) : x.toFixed(3));

/** Where a prediction's GPU part dominates its host part (the launch part cannot hide it). */
export function gpuBound(p: E2ePrediction): boolean {
  return p.combine === "gpu + graph gaps" || p.gemm_ms + p.attention_ms + p.elementwise_ms >= p.launch_ms + p.extra_host_ms;
}

/** An eager step whose host part (launches, plan builds) exceeds its GPU part. */
export function hostBound(p: E2ePrediction): boolean {
  return p.combine === "max(gpu, host)" && p.launch_ms + p.extra_host_ms > p.gemm_ms + p.attention_ms + p.elementwise_ms;
}

/**
 * host-regime for a host-bound eager point: covered when some ratio still left (the bare one and
 * each pair-corrected one offered) lies within the band the probe measured for this engine's same
 * step, i.e. 1/band <= r <= band. sized: the point's own host speed is already in the prediction
 * (the worker's probe), and this covers what is left of the gap.
 */
export function hostRegimeVerdict(
  point: { gpu: string; config: string; measured_ms: number },
  p: E2ePrediction,
  engine: EngineName,
  ratios: readonly number[],
  evidence: readonly HostRegimeEvidence[],
  sized = false,
): MechanismVerdict | null {
  if (p.ms === null || !hostBound(p)) return null;
  const e = evidence.find((x) => x.gpu === point.gpu && x.engine === engine);
  if (!e || ratios.length === 0) return null;
  const best = ratios.reduce((a, b) => (Math.abs(Math.log(b)) < Math.abs(Math.log(a)) ? b : a));
  const closes = best >= 1 / e.band && best <= e.band;
  const what = sized
    ? "what is left after the probe lies inside that band: consistent with the host's regime, which the probe only partly sizes (not sized)"
    : "lies inside that band: consistent with the host's regime (not recorded per point, so not sized)";
  return {
    closes,
    text:
      `host-regime: the step is host-bound (host ${fmt(p.launch_ms + p.extra_host_ms)} ms > GPU ${fmt(p.gemm_ms + p.attention_ms + p.elementwise_ms)} ms), and the host of this machine ran ` +
      `the same ${engine} step of ${e.label} at medians from ${fmt(e.fastest_ms)} to ${fmt(e.slowest_ms)} ms (${e.band.toFixed(2)}x, ${e.medians} medians, ${e.source}); ` +
      `measured / prediction = ${best.toFixed(2)} ${closes ? what : "lies outside that band"}`,
  };
}
