/**
 * Predicted time of a kernel call from a GPU profile: take the profile's point whose swept dim is
 * the call's dim (or, failing that, the nearest dim of the same alignment class: a multiple of 16,
 * of 8, of 4, of 2, or odd), and scale its time by the ratio of work between the call and the
 * reference shape: FLOPs for prefill attention and GEMMs, KV-cache bytes for decode attention
 * (memory-bound). A GEMM takes the measured shape nearest to it in log space over M, N and K
 * (predictGemm), so with G5's real-size tables the remaining ratio is small. docs/prediction.md
 * has the method and its measured accuracy. Scaling is linear, which holds only near the measured shape: a call whose work
 * differs from the reference by more than MAX_WORK_RATIO either way gets no prediction (null)
 * rather than a number nobody measured (a decode GEMM with m=1 is launch- and bandwidth-bound, not
 * 1/4096 of a 4096-row GEMM). The basis says what was done so a reader can judge.
 */
import type { AttentionCall, GemmCall, KernelCall } from "../graph/types.js";
import type { GpuProfile, ProfileOp, ProfilePoint, ProfileSeries } from "./types.js";

/**
 * How far (as a work ratio, either way) a call may be from the measured reference shape and still be
 * predicted by linear scaling. 64x covers a 1x2048-token prefill GEMM against the 4096x4096 tables
 * (a 1/8 to 1/64 ratio for Llama-size layers) and refuses m=1 decode GEMMs against them (ratio
 * ~1/4096); G5's M=1 tables predict those within a few x.
 */
export const MAX_WORK_RATIO = 64;

function withinReach(ratio: number): boolean {
  return Number.isFinite(ratio) && ratio >= 1 / MAX_WORK_RATIO && ratio <= MAX_WORK_RATIO;
}

export interface Prediction {
  ms: number;
  /** One line: which table, which reference shape and point, how it was scaled. */
  basis: string;
}

/** 16, 8, 4, 2 or 1: the largest of these that divides d (kernels care up to 16). */
export function alignmentClass(d: number): number {
  for (const a of [16, 8, 4, 2]) if (d % a === 0) return a;
  return 1;
}

function benchDtype(call: KernelCall): "fp16" | "bf16" | null {
  return call.dtype === "F16" ? "fp16" : call.dtype === "BF16" ? "bf16" : null;
}

/** The point for `dim`: exact, else nearest of the same alignment class, else nearest. */
function pickPoint(points: readonly ProfilePoint[], dim: number): { point: ProfilePoint; how: string } | null {
  const plain = points.filter((p) => p.padded_dim === undefined || p.padded_dim === p.dim);
  if (plain.length === 0) return null;
  const exact = plain.find((p) => p.dim === dim);
  if (exact) return { point: exact, how: `dim ${dim} measured` };
  const byDistance = (a: ProfilePoint, b: ProfilePoint) => Math.abs(a.dim - dim) - Math.abs(b.dim - dim) || a.dim - b.dim;
  const sameClass = plain.filter((p) => alignmentClass(p.dim) === alignmentClass(dim)).sort(byDistance);
  if (sameClass.length > 0) return { point: sameClass[0], how: `nearest dim of the same alignment (${classText(dim)}): ${sameClass[0].dim}` };
  const nearest = [...plain].sort(byDistance)[0];
  return { point: nearest, how: `no dim of the same alignment (${classText(dim)}); nearest dim ${nearest.dim}` };
}

function classText(d: number): string {
  const a = alignmentClass(d);
  return a === 1 ? "odd" : `multiple of ${a}`;
}

function fmt(ms: number): string {
  return ms >= 1 ? ms.toFixed(3) : ms.toPrecision(3);
}

function sourceText(profile: GpuProfile, s: ProfileSeries): string {
  return `${profile.source} ${profile.gpu.name} ${s.experiments.join("+")}`;
}

/** Series of an op, best first: same dtype, then the callers' preferences, then more points. */
function rankSeries(profile: GpuProfile, op: ProfileOp, dtype: "fp16" | "bf16", score: (s: ProfileSeries) => number): ProfileSeries[] {
  return profile.series
    .filter((s) => s.op === op && s.points.length > 0)
    .map((s) => ({ s, score: (s.dtype === dtype ? 1000 : 0) + score(s) }))
    .sort((a, b) => b.score - a.score || b.s.points.length - a.s.points.length)
    .map((x) => x.s);
}

function attentionWork(call: AttentionCall): number {
  // Prefill: FLOPs of QK^T and PV (2 per MAC each). Decode: bytes of the KV cache read.
  if (call.qLen === 1) return call.batch * call.numKvHeads * call.kvLen * (call.headDimQk + call.headDimV);
  return 2 * call.batch * call.numHeads * call.qLen * call.kvLen * (call.headDimQk + call.headDimV);
}

function predictAttention(profile: GpuProfile, call: AttentionCall, dtype: "fp16" | "bf16"): Prediction | null {
  const op: ProfileOp = call.qLen === 1 ? "sdpa_decode" : "sdpa_prefill";
  const score = (s: ProfileSeries) => (s.causal === call.causal ? 100 : 0) + (s.backend === "AUTO" ? 10 : 0) + (s.shape.kv_heads === call.numKvHeads ? 1 : 0);
  const ranked = rankSeries(profile, op, dtype, score);
  // Among equally good series (same score, as many head_dims), the one whose measured shape is
  // nearest the call's work: a batch-32 decode takes the batch-32 table, not the batch-1 one (whose
  // time is latency, not KV bytes).
  const top = ranked.filter((s) => s.dtype === ranked[0]?.dtype && score(s) === score(ranked[0]) && s.points.length === ranked[0].points.length);
  const distance = (s: ProfileSeries) =>
    Math.abs(Math.log(attentionWork(call) / attentionWork({ ...call, batch: s.shape.batch, numHeads: s.shape.heads, numKvHeads: s.shape.kv_heads, qLen: s.shape.q_len, kvLen: s.shape.kv_len })));
  const series = [...top].sort((a, b) => distance(a) - distance(b))[0];
  if (!series) return null;
  const picked = pickPoint(series.points, call.headDimQk);
  if (!picked) return null;
  const sh = series.shape;
  const ref: AttentionCall = {
    ...call,
    batch: sh.batch,
    numHeads: sh.heads,
    numKvHeads: sh.kv_heads,
    qLen: sh.q_len,
    kvLen: sh.kv_len,
    headDimQk: picked.point.dim,
    headDimV: picked.point.dim,
  };
  const ratio = attentionWork(call) / attentionWork(ref);
  if (!withinReach(ratio)) return null;
  const notes = [picked.how];
  if (series.dtype !== dtype) notes.push(`${series.dtype} table used for ${dtype}`);
  if (series.causal !== call.causal) notes.push(`table is ${series.causal ? "causal" : "not causal"}`);
  const scaledBy = call.qLen === 1 ? "KV-cache bytes" : "FLOPs";
  return {
    ms: picked.point.median_ms * ratio,
    basis:
      `${sourceText(profile, series)} ${op} ${series.dtype} ${series.backend ?? ""} B=${sh.batch} H=${sh.heads}/${sh.kv_heads} L=${sh.q_len}x${sh.kv_len} ` +
      `d=${picked.point.dim}: ${fmt(picked.point.median_ms)} ms (${notes.join("; ")}), scaled by the ${scaledBy} ratio ${ratio.toPrecision(3)}`,
  };
}

type GemmAxis = "k" | "n";

interface GemmCandidate {
  series: ProfileSeries;
  axis: GemmAxis;
  point: ProfilePoint;
  how: string;
  /** The point's dim is of the call's alignment class (else it is the nearest dim of any class). */
  sameClass: boolean;
  /** The measured shape: the series' fixed M and N (or K) with the point's K (or N). */
  ref: { m: number; n: number; k: number };
  /** |ln(m/m')| + |ln(n/n')| + |ln(k/k')|: how far the call is from the measured shape. */
  distance: number;
  ratio: number;
}

/** The point for `dim` nearest in log space among the same alignment class, else nearest of any class. */
function pickGemmPoint(points: readonly ProfilePoint[], dim: number): { point: ProfilePoint; how: string; sameClass: boolean } | null {
  if (points.length === 0) return null;
  const exact = points.find((p) => p.dim === dim);
  if (exact) return { point: exact, how: `dim ${dim} measured`, sameClass: true };
  const byLogDistance = (a: ProfilePoint, b: ProfilePoint) => Math.abs(Math.log(a.dim / dim)) - Math.abs(Math.log(b.dim / dim)) || a.dim - b.dim;
  const sameClass = points.filter((p) => alignmentClass(p.dim) === alignmentClass(dim)).sort(byLogDistance);
  if (sameClass.length > 0) return { point: sameClass[0], how: `nearest dim of the same alignment (${classText(dim)}): ${sameClass[0].dim}`, sameClass: true };
  const nearest = [...points].sort(byLogDistance)[0];
  return { point: nearest, how: `no dim of the same alignment (${classText(dim)}); nearest dim ${nearest.dim}`, sameClass: false };
}

/** Every (series, point) of the swept `axis` that may stand for the call, within MAX_WORK_RATIO. */
function gemmCandidates(profile: GpuProfile, call: GemmCall, axis: GemmAxis): GemmCandidate[] {
  const dim = axis === "k" ? call.k : call.n;
  const out: GemmCandidate[] = [];
  for (const series of profile.series) {
    if (series.op !== (axis === "k" ? "gemm_k" : "gemm_n")) continue;
    const picked = pickGemmPoint(series.points, dim);
    if (!picked) continue;
    const sh = series.shape;
    const ref = axis === "k" ? { m: sh.m, n: sh.n, k: picked.point.dim } : { m: sh.m, n: picked.point.dim, k: sh.k };
    const ratio = (call.m * call.n * call.k) / (ref.m * ref.n * ref.k);
    if (!withinReach(ratio)) continue;
    const distance = Math.abs(Math.log(call.m / ref.m)) + Math.abs(Math.log(call.n / ref.n)) + Math.abs(Math.log(call.k / ref.k));
    out.push({ series, axis, ...picked, ref, distance, ratio });
  }
  return out;
}

/**
 * A GEMM is predicted from the measured shape nearest to it: a series of the call's dtype first;
 * the swept axis is the call's misaligned one (K or N not a multiple of 8, whose penalty only a
 * sweep over that axis measures) where a series of it reaches the call, else either axis; then a
 * point of the call's alignment class; then the least log distance over M, N and K, so an M=1
 * decode call takes an M=1 series and a 2048-row prefill call a 2048-row one; then more points.
 * The point's time is scaled by the remaining FLOPs ratio.
 */
function predictGemm(profile: GpuProfile, call: GemmCall, dtype: "fp16" | "bf16", axis?: GemmAxis): Prediction | null {
  const misaligned = (["k", "n"] as const).filter((ax) => (ax === "k" ? call.k : call.n) % 8 !== 0);
  const axisGroups: GemmAxis[][] = axis ? [[axis]] : misaligned.length > 0 ? [misaligned, ["k", "n"]] : [["k", "n"]];
  for (const axes of axisGroups) {
    const ranked = axes
      .flatMap((ax) => gemmCandidates(profile, call, ax))
      .sort(
        (a, b) =>
          Number(b.series.dtype === dtype) - Number(a.series.dtype === dtype) ||
          Number(b.sameClass) - Number(a.sameClass) ||
          a.distance - b.distance ||
          b.series.points.length - a.series.points.length,
      );
    const best = ranked[0];
    if (!best) continue;
    const { series, ref, point } = best;
    const notes = [best.how];
    if (series.dtype !== dtype) notes.push(`${series.dtype} table used for ${dtype}`);
    const layout = series.layout === "linear" ? " linear" : "";
    return {
      ms: point.median_ms * best.ratio,
      basis: `${sourceText(profile, series)} ${series.op}${layout} ${series.dtype} M=${ref.m} N=${ref.n} K=${ref.k}: ${fmt(point.median_ms)} ms (${notes.join("; ")}), scaled by the FLOPs ratio ${best.ratio.toPrecision(3)}`,
    };
  }
  return null;
}

/** Predicted time of a call, or null when the profile has no table for its kind or dtype is not 16-bit. */
export function predictCall(profile: GpuProfile, call: KernelCall): Prediction | null {
  const dtype = benchDtype(call);
  if (!dtype) return null;
  return call.kind === "attention" ? predictAttention(profile, call, dtype) : predictGemm(profile, call, dtype);
}

/**
 * Predicted time of the call with its collapsed dim zero-padded to `paddedDim`: the head_dim of an
 * attention call (V too when it equals QK), or for a GEMM `axis` (default: K if K is not a multiple
 * of 8, else N if N is not, else K). A published or measured padded run of the same logical dim
 * and padded size is used when the profile has one.
 */
export function predictPadded(profile: GpuProfile, call: KernelCall, paddedDim: number, axis?: GemmAxis): Prediction | null {
  const dtype = benchDtype(call);
  if (!dtype) return null;
  if (call.kind === "attention") {
    const padded: AttentionCall = { ...call, headDimQk: paddedDim, headDimV: call.headDimV === call.headDimQk ? paddedDim : call.headDimV };
    if (call.qLen > 1) {
      const direct = paddedRun(profile, padded, call.headDimQk, dtype);
      if (direct) return direct;
    }
    const p = predictAttention(profile, padded, dtype);
    return p && { ms: p.ms, basis: `head_dim ${call.headDimQk} padded to ${paddedDim}: ${p.basis}` };
  }
  const ax: GemmAxis = axis ?? (call.k % 8 !== 0 ? "k" : call.n % 8 !== 0 ? "n" : "k");
  const padded: GemmCall = { ...call, [ax]: paddedDim };
  const p = predictGemm(profile, padded, dtype, ax);
  return p && { ms: p.ms, basis: `${ax.toUpperCase()} ${ax === "k" ? call.k : call.n} padded to ${paddedDim}: ${p.basis}` };
}

/** A measured run of logical `dim` at padded_dim (P1, C4), scaled to the call by FLOPs at the padded size. */
function paddedRun(profile: GpuProfile, padded: AttentionCall, logicalDim: number, dtype: "fp16" | "bf16"): Prediction | null {
  for (const series of rankSeries(profile, "sdpa_padded", dtype, (s) => (s.causal === padded.causal ? 100 : 0))) {
    if (series.dtype !== dtype || series.causal !== padded.causal) continue;
    const point = series.points.find((p) => p.dim === logicalDim && p.padded_dim === padded.headDimQk);
    if (!point) continue;
    const sh = series.shape;
    const ref: AttentionCall = { ...padded, batch: sh.batch, numHeads: sh.heads, numKvHeads: sh.kv_heads, qLen: sh.q_len, kvLen: sh.kv_len, headDimV: padded.headDimQk };
    const ratio = attentionWork(padded) / attentionWork(ref);
    if (!withinReach(ratio)) continue;
    return {
      ms: point.median_ms * ratio,
      basis:
        `head_dim ${logicalDim} padded to ${padded.headDimQk}: ${sourceText(profile, series)} padded run B=${sh.batch} H=${sh.heads} L=${sh.q_len}x${sh.kv_len}: ` +
        `${fmt(point.median_ms)} ms, scaled by the FLOPs ratio ${ratio.toPrecision(3)}`,
    };
  }
  return null;
}
