/**
 * A PadLayout says where each index of a padded axis goes: the `from` source indices are split into
 * runs that keep their order, each run lands at `dst`, and every destination index no run covers is
 * zero. Every exactness rule that only adds zeros is one of these layouts applied to rows or columns,
 * so the byte-moving code (pad-rows.ts, pad-columns.ts) is written once.
 */
import { GacError } from "../../errors.js";

export interface PadRun {
  /** First source index of the run. */
  src: number;
  /** Where that index lands in the padded axis. */
  dst: number;
  len: number;
}

export interface PadLayout {
  from: number;
  to: number;
  /** Sorted by src and by dst (order is kept), non-overlapping, covering [0, from) exactly. */
  runs: PadRun[];
}

/** The identity: nothing moves (used for the axis of a tensor that an edit leaves alone). */
export function keepLayout(n: number): PadLayout {
  return { from: n, to: n, runs: n > 0 ? [{ src: 0, dst: 0, len: n }] : [] };
}

/** [0, from) stays, zeros at [from, to): MLP intermediate, a low-rank dim, v heads when there is one head. */
export function padAtEnd(from: number, to: number): PadLayout {
  return checkLayout({ from, to, runs: from > 0 ? [{ src: 0, dst: 0, len: from }] : [] });
}

/**
 * Consecutive segments, each padded at its own end: segment g of size from[g] becomes to[g].
 * PaLU's VT rows are the groups' latent rows one after another, so group g's zeros go right after
 * group g's own rows, not at the end of the tensor.
 */
export function padSegments(from: readonly number[], to: readonly number[]): PadLayout {
  if (from.length !== to.length) throw new GacError("UNSUPPORTED", `padSegments: ${from.length} source segments but ${to.length} targets`);
  const runs: PadRun[] = [];
  let src = 0;
  let dst = 0;
  for (let g = 0; g < from.length; g++) {
    if (from[g] > 0) runs.push({ src, dst, len: from[g] });
    src += from[g];
    dst += to[g];
  }
  return checkLayout({ from: src, to: dst, runs });
}

/** `heads` heads of width d each padded at the end to D: v rows and the o_proj columns that read them. */
export function padHeadsAtEnd(heads: number, d: number, D: number): PadLayout {
  return padSegments(Array(heads).fill(d), Array(heads).fill(D));
}

/**
 * RoPE'd q/k heads of width d padded to D keeping rotate-half pairs together: HF pairs dim i with
 * i + d/2, so [0, d/2) stays and [d/2, d) moves to [D/2, D/2 + d/2); zeros fill [d/2, D/2) and
 * [D/2 + d/2, D). An odd d has no such pairing and is refused.
 */
export function padHeadsHalfSplit(heads: number, d: number, D: number): PadLayout {
  if (d % 2 !== 0 || D % 2 !== 0) {
    throw new GacError("UNSUPPORTED", `head_dim ${d} -> ${D}: RoPE pairs dim i with i + head_dim/2, so an odd head_dim cannot carry RoPE and cannot be split into halves`);
  }
  const runs: PadRun[] = [];
  for (let h = 0; h < heads; h++) {
    runs.push({ src: h * d, dst: h * D, len: d / 2 });
    runs.push({ src: h * d + d / 2, dst: h * D + D / 2, len: d / 2 });
  }
  return checkLayout({ from: heads * d, to: heads * D, runs });
}

/** Applies `inner` to each of `count` consecutive blocks: PaLU U.g rows hold heads_per_group heads. */
export function repeatLayout(inner: PadLayout, count: number): PadLayout {
  const runs: PadRun[] = [];
  for (let b = 0; b < count; b++) {
    for (const r of inner.runs) runs.push({ src: b * inner.from + r.src, dst: b * inner.to + r.dst, len: r.len });
  }
  return checkLayout({ from: inner.from * count, to: inner.to * count, runs });
}

export function isIdentity(layout: PadLayout): boolean {
  return layout.from === layout.to;
}

/** The destination index of source index i. */
export function destinationOf(layout: PadLayout, i: number): number {
  const r = layout.runs[runIndexOf(layout, i)];
  return r.dst + (i - r.src);
}

/** Index of the run holding source index i (binary search; runs are sorted). */
export function runIndexOf(layout: PadLayout, i: number): number {
  let lo = 0;
  let hi = layout.runs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (layout.runs[mid].src <= i) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** A layout that breaks its invariants is a bug in the caller, caught before any byte moves. */
export function checkLayout(layout: PadLayout): PadLayout {
  let src = 0;
  let dst = 0;
  for (const r of layout.runs) {
    if (r.src !== src || r.dst < dst || r.len <= 0) {
      throw new GacError("UNSUPPORTED", `invalid pad layout ${layout.from} -> ${layout.to}: run ${JSON.stringify(r)} overlaps, leaves a gap or goes backwards`);
    }
    src += r.len;
    dst = r.dst + r.len;
  }
  if (src !== layout.from || dst > layout.to) {
    throw new GacError("UNSUPPORTED", `invalid pad layout ${layout.from} -> ${layout.to}: runs cover ${src} source and reach ${dst} destination indices`);
  }
  return layout;
}
