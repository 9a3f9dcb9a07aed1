/**
 * The few constants of the whole-model prediction that no microbenchmark measures, fitted on a
 * declared subset of an e2e run's points. The subset's points are printed as calibration and not
 * counted as checks; every other point checks the fit.
 *
 *   host µs per kernel, transformers   the dense parent's transformers/sdpa-nocudnn/dynamic decode
 *                                      points (flash, no cuDNN re-plan: the step is the host's loop):
 *                                      median of measured ms / the kernels the step launches
 *   host µs per kernel, gac            the gac engine's eager decode points (eager, eager-nocudnn)
 *                                      whose recorded attention is not cuDNN (no re-plan): the same median
 *   cuDNN plan build, ms per plan      the dense parent's transformers/sdpa/dynamic decode points
 *                                      that recorded cuDNN, against their transformers/sdpa-nocudnn/
 *                                      dynamic twin (same point): median of (measured - twin) / plans
 *
 * A constant whose subset is empty keeps its default (fitted on results/20261201T215958Z-e2e).
 *
 * Host speed: where every point of an engine's host subset recorded the worker's host probe
 * (docs/e2e-protocol.md host_probe_us, kind HOST_PROBE_KIND), the host µs per kernel is fitted at
 * the subset's median probe reading (the reference), each point's value divided by its own reading
 * / the reference, and every point of the run is charged the constant x its own reading / the
 * reference (hostFactor): the host of the GPU machine runs in regimes ~2x apart
 * (results/20261202T091439Z-host-probe), and a host-bound step follows it.
 */
import type { ModelSpec } from "../../model/types.js";
import { backendFromKernels, parseStepConfig, type EngineName } from "../../profile/engine-steps.js";
import { DEFAULT_HOST_US_PER_KERNEL, predictE2ePoint } from "../../profile/predict-e2e.js";
import type { GpuProfile } from "../../profile/types.js";
import { servingDtype } from "../../scan/serving-dtype.js";
import type { E2eMeasurement } from "./measurements.js";
import type { HostProbeKind } from "./wire.js";
import { median } from "../../util/median.js";

/** Host time of one cuDNN SDPA plan build per decode step, when a run has no pairs to fit it (the committed run's fit). */
export const DEFAULT_CUDNN_REPLAN_MS_PER_PLAN = 58;

/**
 * The probe that sizes a point's host speed: host µs per kernel of a tiny RMSNorm module called
 * from Python (a module call, the dispatcher, the launch), the same mix of work as an eager step's
 * host loop; the bare launch and the pure-Python readings are recorded beside it.
 */
export const HOST_PROBE_KIND: HostProbeKind = "module";

export interface FittedConstant {
  value: number;
  /** "model config point" of each point it was fitted on; empty when it is the default. */
  fitted_on: string[];
  subset: string;
}

export interface Calibration {
  /** At the reference host speed where host_probe_ref_us has one, else as measured. */
  host_us_per_kernel: Record<EngineName, FittedConstant>;
  /**
   * The median probe reading (µs) of the engine's host subset: null (no host-speed sizing) where a
   * subset point has none, or where dividing by the readings does not narrow the subset's spread.
   */
  host_probe_ref_us: Record<EngineName, number | null>;
  /** Slowest / fastest µs per kernel over the engine's host subset, as measured and at the reference speed; null without readings. */
  host_subset_spread: Record<EngineName, { measured: number; at_reference: number } | null>;
  replan_ms_per_plan: FittedConstant;
}

/** A point's probe reading of the sizing kind, or null. */
export const probeOf = (m: Pick<E2eMeasurement, "host_probe_us">): number | null => m.host_probe_us?.[HOST_PROBE_KIND] ?? null;

/** The point's host speed against its engine's reference (its reading / the reference), or 1 where either is missing. */
export function hostFactor(m: Pick<E2eMeasurement, "host_probe_us" | "config">, cal: Pick<Calibration, "host_probe_ref_us">): number {
  const ref = cal.host_probe_ref_us[engineOf(m.config)];
  const own = probeOf(m);
  return ref !== null && own !== null ? own / ref : 1;
}

export const pointId = (m: Pick<E2eMeasurement, "model" | "config" | "point">) => `${m.model} ${m.config} ${m.point}`;

function fit(subset: string, pairs: readonly { m: E2eMeasurement; value: number }[], fallback: number): FittedConstant {
  if (pairs.length === 0) return { value: fallback, fitted_on: [], subset };
  return { value: median(pairs.map((p) => p.value)), fitted_on: pairs.map((p) => pointId(p.m)), subset };
}

export const SUBSETS = {
  transformers: "the dense parent's transformers/sdpa-nocudnn/dynamic decode points",
  gac: "the gac engine's eager and eager-nocudnn decode points whose recorded attention is not cuDNN",
  replan: "the dense parent's transformers/sdpa/dynamic decode points that recorded cuDNN, against their sdpa-nocudnn/dynamic twin",
} as const;

/** Whether a measurement is in the host-µs subset of its engine. */
export function inHostSubset(m: E2eMeasurement): EngineName | null {
  if (m.phase !== "decode") return null;
  if (m.role === "parent" && m.config === "transformers/sdpa-nocudnn/dynamic") return "transformers";
  const backend = backendFromKernels(m.kernels);
  if ((m.config === "gac/eager/static" || m.config === "gac/eager-nocudnn/static") && backend !== null && backend !== "cudnn") return "gac";
  return null;
}

/** The sdpa-nocudnn/dynamic twin of the dense parent's transformers/sdpa/dynamic decode point that ran cuDNN, or null. */
export function replanTwin(m: E2eMeasurement, all: readonly E2eMeasurement[]): E2eMeasurement | null {
  if (m.role !== "parent" || m.phase !== "decode" || m.config !== "transformers/sdpa/dynamic" || backendFromKernels(m.kernels) !== "cudnn") return null;
  return all.find((t) => t.model === m.model && t.point === m.point && t.gpu === m.gpu && t.config === "transformers/sdpa-nocudnn/dynamic") ?? null;
}

export function calibrate(measurements: readonly E2eMeasurement[], specs: ReadonlyMap<string, ModelSpec>, profile: GpuProfile, plansOf: (m: E2eMeasurement, spec: ModelSpec) => number): Calibration {
  const host: Record<EngineName, { m: E2eMeasurement; value: number }[]> = { transformers: [], gac: [] };
  const replan: { m: E2eMeasurement; twin: E2eMeasurement; plans: number }[] = [];
  for (const m of measurements) {
    const spec = specs.get(m.model);
    if (!spec) continue;
    const engine = inHostSubset(m);
    if (engine) {
      const p = predictE2ePoint(spec, { phase: m.phase, batch: m.batch, length: m.length }, profile, {
        dtype: servingDtype(spec.dtype),
        config: m.config,
        decodeBackend: backendFromKernels(m.kernels) ?? undefined,
      });
      host[engine].push({ m, value: (m.median_ms * 1e3) / p.kernels });
    }
    const twin = replanTwin(m, measurements);
    const plans = plansOf(m, spec);
    if (twin && plans > 0) replan.push({ m, twin, plans });
  }
  // The probe sizes a point's host speed only where it is shown to: every subset point has a reading,
  // and the subset's µs per kernel, each at the reference speed, spread less than as measured.
  const spreadOf = (xs: readonly number[]) => Math.max(...xs) / Math.min(...xs);
  const sizing = (pts: readonly { m: E2eMeasurement; value: number }[]) => {
    const probes = pts.map((p) => probeOf(p.m));
    if (pts.length === 0 || !probes.every((x) => x !== null)) return { ref: null, spread: null };
    const r = median(probes as number[]);
    const spread = { measured: spreadOf(pts.map((p) => p.value)), at_reference: spreadOf(pts.map((p, i) => p.value / ((probes[i] as number) / r))) };
    return { ref: spread.at_reference < spread.measured ? r : null, spread };
  };
  const sized = { transformers: sizing(host.transformers), gac: sizing(host.gac) };
  const ref: Record<EngineName, number | null> = { transformers: sized.transformers.ref, gac: sized.gac.ref };
  const atRef = (engine: EngineName) => host[engine].map((p) => ({ m: p.m, value: p.value / hostFactor(p.m, { host_probe_ref_us: ref }) }));
  return {
    host_us_per_kernel: {
      transformers: fit(SUBSETS.transformers, atRef("transformers"), DEFAULT_HOST_US_PER_KERNEL.transformers),
      gac: fit(SUBSETS.gac, atRef("gac"), DEFAULT_HOST_US_PER_KERNEL.gac),
    },
    host_probe_ref_us: ref,
    host_subset_spread: { transformers: sized.transformers.spread, gac: sized.gac.spread },
    // Plan builds are host work too: each side at the reference host speed.
    replan_ms_per_plan: fit(
      SUBSETS.replan,
      replan.map(({ m, twin, plans }) => {
        const at = (x: E2eMeasurement) => x.median_ms / hostFactor(x, { host_probe_ref_us: ref });
        return { m, value: (at(m) - at(twin)) / plans };
      }),
      DEFAULT_CUDNN_REPLAN_MS_PER_PLAN,
    ),
  };
}

/** Which constant a point calibrates, or null when it is a check. */
export function calibrates(m: E2eMeasurement, cal: Calibration): string | null {
  const id = pointId(m);
  for (const engine of ["transformers", "gac"] as const) {
    if (cal.host_us_per_kernel[engine].fitted_on.includes(id)) return `host µs per kernel, ${engine}`;
  }
  return cal.replan_ms_per_plan.fitted_on.includes(id) ? "cuDNN plan build ms" : null;
}

/** The engine of a configuration id, for the host constant. */
export const engineOf = (config: string): EngineName => parseStepConfig(config).engine;
