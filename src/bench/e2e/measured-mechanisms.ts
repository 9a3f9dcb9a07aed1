/**
 * Mechanisms an e2e run cannot size from its own pairs, sized by a separate committed measurement
 * on the same GPU, and what each says about one off prediction:
 *
 *   sustained-power  the profile times each GEMM shape alone (the GPU idles between samples); a
 *                    whole-model prefill runs its GEMMs back to back at the power cap. Measured by
 *                    bench/e2e_sustained_gemm.py: the dense Llama-3-8B's 224 prefill GEMMs back to
 *                    back against the sum of their isolated timings. A GPU-bound prefill point
 *                    whose GEMM part x the measured ratio comes within 15% is explained.
 *   host-regime      the host issuing an eager decode step runs in regimes: the same step of the
 *                    same model at the same point, in one process or across processes, measured
 *                    at medians up to ~2x apart (bench/e2e_host_probe.py). A host-bound point
 *                    whose ratio lies inside the measured band is consistent with it; the run does
 *                    not record which regime a point ran in, so this says "consistent with", not
 *                    "sized": the weakest explanation the check prints, counted apart.
 */
import type { EngineName } from "../../profile/engine-steps.js";
import type { E2ePrediction } from "../../profile/predict-e2e.js";

export interface SustainedGemmEvidence {
  gpu: string;
  /** Back-to-back time / the isolated sum, one per run. */
  ratios: number[];
  source: string;
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
 * sustained-power for a prefill point: the GEMM part scaled by the largest measured ratio (the
 * ratios of the runs are the mechanism's spread; the largest is the one most favourable to
 * closing, so a miss is a miss at every measured ratio).
 */
export function sustainedPowerVerdict(
  point: { phase: string; gpu: string; measured_ms: number },
  p: E2ePrediction,
  evidence: readonly SustainedGemmEvidence[],
  tolerance: number,
): MechanismVerdict | null {
  if (point.phase !== "prefill" || p.ms === null || !gpuBound(p)) return null;
  const e = evidence.find((x) => x.gpu === point.gpu && x.ratios.length > 0);
  if (!e) return null;
  const lo = Math.min(...e.ratios);
  const hi = Math.max(...e.ratios);
  const gpu = p.gemm_ms * hi + p.attention_ms + p.elementwise_ms;
  const corrected = p.combine === "gpu + graph gaps" ? gpu + p.launch_ms + p.extra_host_ms : Math.max(gpu, p.launch_ms + p.extra_host_ms);
  const ratio = point.measured_ms / corrected;
  const closes = Math.abs(ratio - 1) <= tolerance;
  return {
    closes,
    text:
      `sustained-power: GEMMs back to back at the power cap took ${lo.toFixed(3)}-${hi.toFixed(3)}x their isolated timings on this GPU (${e.source}); ` +
      `the GEMM part ${fmt(p.gemm_ms)} ms x ${hi.toFixed(3)} gives ${fmt(corrected)} ms, measured / that = ${ratio.toFixed(2)}: ${closes ? "within 15%" : "still more than 15% off"}`,
  };
}

/**
 * host-regime for a host-bound eager point: covered when every ratio still left (the bare one and
 * each pair-corrected one offered) puts the measurement within the band the probe measured for
 * this engine, i.e. some ratio r has 1/band <= r <= band.
 */
export function hostRegimeVerdict(
  point: { gpu: string; config: string; measured_ms: number },
  p: E2ePrediction,
  engine: EngineName,
  ratios: readonly number[],
  evidence: readonly HostRegimeEvidence[],
): MechanismVerdict | null {
  if (p.ms === null || !hostBound(p)) return null;
  const e = evidence.find((x) => x.gpu === point.gpu && x.engine === engine);
  if (!e || ratios.length === 0) return null;
  const best = ratios.reduce((a, b) => (Math.abs(Math.log(b)) < Math.abs(Math.log(a)) ? b : a));
  const closes = best >= 1 / e.band && best <= e.band;
  return {
    closes,
    text:
      `host-regime: the step is host-bound (host ${fmt(p.launch_ms + p.extra_host_ms)} ms > GPU ${fmt(p.gemm_ms + p.attention_ms + p.elementwise_ms)} ms), and the host of this machine ran ` +
      `the same ${engine} step of ${e.label} at medians from ${fmt(e.fastest_ms)} to ${fmt(e.slowest_ms)} ms (${e.band.toFixed(2)}x, ${e.medians} medians, ${e.source}); ` +
      `measured / prediction = ${best.toFixed(2)} ${closes ? "lies inside that band: consistent with the host's regime (not recorded per point, so not sized)" : "lies outside that band"}`,
  };
}
