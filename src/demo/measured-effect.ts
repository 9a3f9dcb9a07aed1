/**
 * The effect of each dim change as the profile MEASURED it, with no scaling: the kernel at the
 * profile's own reference shape, once at the original size and once at the padded size. For ranks
 * and MLP widths that is the GEMM K sweep (G3, M=N fixed); for head_dim the SDPA sweep (S1, AUTO).
 * A change whose sizes the profile did not measure gets no row.
 */
import type { DimChange } from "../plan/types.js";
import type { GpuProfile, ProfileSeries } from "../profile/types.js";

export interface MeasuredEffect {
  /** "GEMM K" or "SDPA head_dim". */
  kernel: string;
  from: number;
  to: number;
  /** How many dim changes of the model have this (kernel, from, to). */
  count: number;
  msFrom: number;
  msTo: number;
  /** msFrom / msTo. */
  speedup: number;
  /** The reference shape the two times were taken at, e.g. "M=N=4096 fp16". */
  reference: string;
}

function series(profile: GpuProfile, pick: (s: ProfileSeries) => boolean): ProfileSeries | undefined {
  return profile.series.filter(pick).sort((a, b) => b.points.length - a.points.length)[0];
}

function at(s: ProfileSeries, dim: number): number | undefined {
  return s.points.find((p) => p.dim === dim && (p.padded_dim === undefined || p.padded_dim === dim))?.median_ms;
}

export function measuredEffects(profile: GpuProfile, changes: readonly DimChange[]): MeasuredEffect[] {
  const gemm = series(profile, (s) => s.op === "gemm_k" && s.dtype === "fp16" && s.shape.m === 4096 && s.shape.n === 4096);
  const sdpa = series(profile, (s) => s.op === "sdpa_prefill" && s.dtype === "fp16" && s.causal === false && s.backend === "AUTO" && s.shape.kv_heads === s.shape.heads);
  const rows = new Map<string, MeasuredEffect>();
  for (const c of changes) {
    const isHead = c.site.kind === "head_dim";
    const s = isHead ? sdpa : gemm;
    if (!s) continue;
    const key = `${isHead}/${c.from}/${c.to}`;
    const row = rows.get(key);
    if (row) {
      row.count += 1;
      continue;
    }
    const msFrom = at(s, c.from);
    const msTo = at(s, c.to);
    if (msFrom === undefined || msTo === undefined) continue;
    const sh = s.shape;
    rows.set(key, {
      kernel: isHead ? "SDPA head_dim" : "GEMM K",
      from: c.from,
      to: c.to,
      count: 1,
      msFrom,
      msTo,
      speedup: msFrom / msTo,
      reference: isHead ? `B=${sh.batch} H=${sh.heads} S=${sh.q_len} ${s.dtype}` : `M=${sh.m} N=${sh.n} ${s.dtype}`,
    });
  }
  return [...rows.values()].sort((a, b) => a.kernel.localeCompare(b.kernel) || a.from - b.from || a.to - b.to);
}
