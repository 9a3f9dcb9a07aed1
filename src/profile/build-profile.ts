/**
 * Condense bench results into a GPU profile: one series per op, dtype, causal, backend and fixed
 * shape, with one point per swept dim. Acceptance probes (C21's few-sample runs) contribute their
 * refusals only; HET1's multi-call cases are not a curve over one dim and are left out.
 */
import { GacError } from "../errors.js";
import type { ResultRecord, RunInfo } from "../store/types.js";
import type { ParamValue } from "../bench/suites.js";
import { PROFILE_SCHEMA, type GpuProfile, type ProfileOp, type ProfilePoint, type ProfileSeries } from "./types.js";

/** "NVIDIA H100 80GB HBM3" -> "nvidia-h100-80gb-hbm3": the profile's file name. */
export function gpuSlug(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "") || "gpu"
  );
}

function numParam(params: Record<string, ParamValue>, key: string): number | undefined {
  const v = params[key];
  return typeof v === "number" ? v : undefined;
}

interface Placement {
  op: ProfileOp;
  dim: number;
  paddedDim?: number;
  shape: Record<string, number>;
  causal?: boolean;
  backend?: string;
  layout?: "linear";
}

/** Where a record belongs, or null when it is not a point of any curve. */
function placeRecord(r: ResultRecord): Placement | null {
  const p = r.params;
  if (p.op === "sdpa") {
    const headDim = numParam(p, "head_dim");
    const shape: Record<string, number> = {};
    for (const key of ["batch", "heads", "kv_heads", "q_len", "kv_len"]) {
      const v = numParam(p, key);
      if (v === undefined) return null;
      shape[key] = v;
    }
    if (headDim === undefined) return null;
    const padTo = numParam(p, "pad_to");
    const op: ProfileOp = padTo !== undefined ? "sdpa_padded" : shape.q_len === 1 ? "sdpa_decode" : "sdpa_prefill";
    return { op, dim: headDim, ...(padTo !== undefined ? { paddedDim: padTo } : {}), shape, causal: p.causal === true, backend: String(p.backend ?? "AUTO") };
  }
  // G3/G4 time torch.matmul(x[m,k], w[k,n]); G5 times F.linear(x[m,k], w[n,k]) as nn.Linear serves
  // it. cuBLAS runs the two layouts with different kernels, so they are separate series. The
  // `model` suite's linear records carry no `sweep`: they are calls, not curves.
  if (p.op === "gemm" || p.op === "linear") {
    const [m, n, k] = [numParam(p, "m"), numParam(p, "n"), numParam(p, "k")];
    if (m === undefined || n === undefined || k === undefined) return null;
    const layout = p.op === "linear" ? { layout: "linear" as const } : {};
    if (p.sweep === "k") return { op: "gemm_k", dim: k, shape: { m, n }, ...layout };
    if (p.sweep === "n") return { op: "gemm_n", dim: n, shape: { m, k }, ...layout };
  }
  return null;
}

function seriesKey(op: ProfileOp, dtype: string, pl: Placement): string {
  const parts = [op, `dtype=${dtype}`];
  if (pl.causal !== undefined) parts.push(`causal=${pl.causal}`);
  if (pl.backend !== undefined) parts.push(`backend=${pl.backend}`);
  if (pl.layout !== undefined) parts.push(`layout=${pl.layout}`);
  for (const k of Object.keys(pl.shape).sort()) parts.push(`${k}=${pl.shape[k]}`);
  return parts.join("/");
}

function dtypeOf(r: ResultRecord): "fp16" | "bf16" | null {
  return r.params.dtype === "fp16" || r.params.dtype === "bf16" ? r.params.dtype : null;
}

interface BuildProfileOptions {
  created?: Date;
}

/**
 * One GPU's profile from its records (every record must come from that GPU) and the runs they
 * belong to (env and ids are taken from them).
 */
export function buildProfile(records: readonly ResultRecord[], runs: readonly RunInfo[], options: BuildProfileOptions = {}): GpuProfile {
  if (runs.length === 0) throw new GacError("BAD_RESULTS", "cannot build a profile without run.json: the GPU and software versions come from it");
  // run.json holds the first GPU's capability; a multi-GPU run's other GPUs share its software.
  const capability = runs[0].capability;
  const gpuName = records[0]?.gpu ?? capability.gpu.name;
  const gpuInfo = capability.gpu.name === gpuName ? capability.gpu : { name: gpuName, index: records[0]?.gpu_index ?? 0 };
  const foreign = records.find((r) => r.gpu !== gpuName);
  if (foreign) throw new GacError("BAD_RESULTS", `case '${foreign.case}' ran on '${foreign.gpu}', not '${gpuName}': build one profile per GPU`);
  const series = new Map<string, ProfileSeries>();
  for (const r of records) {
    const dtype = dtypeOf(r);
    const placement = placeRecord(r);
    if (!dtype || !placement) continue;
    const key = seriesKey(placement.op, dtype, placement);
    let s = series.get(key);
    if (!s) {
      s = {
        op: placement.op,
        key,
        dtype,
        ...(placement.causal !== undefined ? { causal: placement.causal } : {}),
        ...(placement.backend !== undefined ? { backend: placement.backend } : {}),
        ...(placement.layout !== undefined ? { layout: placement.layout } : {}),
        shape: placement.shape,
        experiments: [],
        points: [],
      };
      series.set(key, s);
    }
    if (!s.experiments.includes(r.suite)) s.experiments.push(r.suite);
    if (!r.stats) {
      if (r.error && !(s.refused ?? []).some((x) => x.dim === placement.dim)) s.refused = [...(s.refused ?? []), { dim: placement.dim, reason: `${r.error.type}: ${r.error.message}` }];
      continue;
    }
    if (r.params.probe === "acceptance") continue;
    if (s.points.some((p) => p.dim === placement.dim && p.padded_dim === placement.paddedDim)) continue;
    const point: ProfilePoint = { dim: placement.dim, median_ms: r.stats.median_ms, p10_ms: r.stats.p10_ms, p90_ms: r.stats.p90_ms, n: r.stats.n };
    if (placement.paddedDim !== undefined) point.padded_dim = placement.paddedDim;
    if (r.kernels && r.kernels.length > 0) point.kernels = r.kernels;
    s.points.push(point);
  }
  const out = [...series.values()].filter((s) => s.points.length > 0 || (s.refused ?? []).length > 0);
  for (const s of out) {
    s.points.sort((a, b) => a.dim - b.dim || (a.padded_dim ?? 0) - (b.padded_dim ?? 0));
    s.refused?.sort((a, b) => a.dim - b.dim);
  }
  out.sort((a, b) => a.key.localeCompare(b.key));
  const env: Record<string, string | null> = {};
  for (const key of ["driver", "torch", "cuda", "cudnn", "python", "triton"] as const) {
    const v = capability[key];
    env[key] = v === undefined || v === null ? null : String(v);
  }
  return {
    schema: PROFILE_SCHEMA,
    gpu: {
      name: gpuName,
      slug: gpuSlug(gpuName),
      ...(gpuInfo.compute_capability ? { compute_capability: gpuInfo.compute_capability } : {}),
      ...(gpuInfo.sm_count ? { sm_count: gpuInfo.sm_count } : {}),
      ...(gpuInfo.memory_bytes ? { memory_bytes: gpuInfo.memory_bytes } : {}),
    },
    env,
    source: "measured",
    source_runs: [...new Set(runs.map((r) => r.run_id))],
    created: (options.created ?? new Date()).toISOString(),
    series: out,
  };
}
