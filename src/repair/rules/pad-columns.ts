/**
 * Zero-column padding: every row of `from` elements becomes a row of `to` elements laid out by the
 * same PadLayout. Rows are independent, so any block of whole rows can be padded on its own.
 */
import { GacError } from "../../errors.js";
import type { PadLayout } from "./layout.js";
import { zeroSegments } from "./pad-rows.js";

/** Bytes of the padded copy of a block of `blockBytes` bytes of whole rows. */
export function paddedColumnsBytes(blockBytes: number, layout: PadLayout, elemBytes: number): number {
  const inRow = layout.from * elemBytes;
  if (inRow <= 0 || blockBytes % inRow !== 0) {
    throw new GacError("UNSUPPORTED", `padColumnsBlock: a block of ${blockBytes} bytes is not whole rows of ${layout.from} x ${elemBytes} bytes`);
  }
  return (blockBytes / inRow) * layout.to * elemBytes;
}

/** Reused by padColumnsInto (synchronous, one per thread): an unshared copy of a shared block. */
let staging = new Uint8Array(0);

/**
 * `bytes` on a plain ArrayBuffer: V8's TypedArray set/fill on SharedArrayBuffer views take a slow
 * path (~0.6-1.5 GB/s in row-sized pieces against ~6 GB/s unshared), while one whole-block copy
 * out of shared memory runs at memcpy speed. The pooled read blocks are shared (the hash worker
 * reads them in place), so a block to be padded row by row is first copied out whole.
 */
function unshared(bytes: Uint8Array): Uint8Array {
  if (!(bytes.buffer instanceof SharedArrayBuffer)) return bytes;
  if (staging.length < bytes.length) staging = new Uint8Array(bytes.length);
  staging.set(bytes);
  return staging.subarray(0, bytes.length);
}

/**
 * Pads the rows of `block` into the front of `out` and returns that part. Every byte of it is
 * written, zeros included, so `out` may be a reused buffer holding old bytes. `out` should be on a
 * plain ArrayBuffer (a shared one works, slowly); `block` may be shared.
 */
export function padColumnsInto(sourceBlock: Uint8Array, layout: PadLayout, elemBytes: number, out: Uint8Array): Uint8Array {
  const bytes = paddedColumnsBytes(sourceBlock.length, layout, elemBytes);
  if (out.length < bytes) throw new RangeError(`padColumnsInto: ${bytes} bytes do not fit in ${out.length}`);
  const block = unshared(sourceBlock);
  const inRow = layout.from * elemBytes;
  const outRow = layout.to * elemBytes;
  // The zero gaps of one row, in bytes: runs are sorted by dst, so they are what lies between them.
  const gaps: [number, number][] = [];
  let covered = 0;
  for (const r of layout.runs) {
    if (r.dst > covered) gaps.push([covered * elemBytes, r.dst * elemBytes]);
    covered = r.dst + r.len;
  }
  if (layout.to > covered) gaps.push([covered * elemBytes, outRow]);
  const rows = block.length / inRow;
  for (let row = 0; row < rows; row++) {
    const s = row * inRow;
    const d = row * outRow;
    for (const r of layout.runs) out.set(block.subarray(s + r.src * elemBytes, s + (r.src + r.len) * elemBytes), d + r.dst * elemBytes);
    for (const [a, b] of gaps) out.fill(0, d + a, d + b);
  }
  return out.subarray(0, bytes);
}

export function padColumnsBlock(block: Uint8Array, layout: PadLayout, elemBytes: number): Uint8Array {
  return padColumnsInto(block, layout, elemBytes, new Uint8Array(paddedColumnsBytes(block.length, layout, elemBytes)));
}

/** Column layouts with at most this many runs per row are padded as views (padColumnsSegments). */
export const MAX_VIEW_RUNS = 2;

/**
 * Pads the rows of `block` without copying: each row's runs as views of `block` and its zero gaps
 * as views of a shared zero buffer, in order, for one writev (libuv splits it at IOV_MAX). For
 * layouts of few runs per row (MAX_VIEW_RUNS: a dim padded at its end), where a row-by-row copy
 * would cost two memcpys per byte; `block` must stay unchanged until the write is done.
 */
export function padColumnsSegments(block: Uint8Array, layout: PadLayout, elemBytes: number): Uint8Array[] {
  paddedColumnsBytes(block.length, layout, elemBytes);
  const inRow = layout.from * elemBytes;
  const rows = block.length / inRow;
  const segments: Uint8Array[] = [];
  for (let row = 0; row < rows; row++) {
    const s = row * inRow;
    let covered = 0;
    for (const r of layout.runs) {
      zeroSegments((r.dst - covered) * elemBytes, segments);
      segments.push(block.subarray(s + r.src * elemBytes, s + (r.src + r.len) * elemBytes));
      covered = r.dst + r.len;
    }
    zeroSegments((layout.to - covered) * elemBytes, segments);
  }
  return segments;
}

/**
 * Pads the columns of `block` with `element` (one element's bytes) at every padded position instead
 * of zeros: a fresh array (quantized stored tensors: neutral scales, int4 codes at zero-point 8).
 */
export function padColumnsFilled(block: Uint8Array, layout: PadLayout, element: Uint8Array): Uint8Array {
  const elemBytes = element.length;
  const out = new Uint8Array(paddedColumnsBytes(block.length, layout, elemBytes));
  const inRow = layout.from * elemBytes;
  const outRow = layout.to * elemBytes;
  const template = repeatElement(element, layout.to);
  for (let row = 0; row < block.length / inRow; row++) {
    const s = row * inRow;
    const d = row * outRow;
    out.set(template, d);
    for (const r of layout.runs) out.set(block.subarray(s + r.src * elemBytes, s + (r.src + r.len) * elemBytes), d + r.dst * elemBytes);
  }
  return out;
}

/** `count` copies of one element's bytes. */
export function repeatElement(element: Uint8Array, count: number): Uint8Array {
  const out = new Uint8Array(element.length * count);
  for (let i = 0; i < count; i++) out.set(element, i * element.length);
  return out;
}
