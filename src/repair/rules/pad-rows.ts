/**
 * Zero-row padding, one block of whole rows at a time. Row padding is byte-level (+0.0 is all-zero
 * bits in every float format and in ints), so the rule needs only the row's byte width.
 *
 * Streaming: a tensor is fed in blocks of consecutive source rows. The block holding source rows
 * [a, b) emits destination rows [outputRowBoundary(a), outputRowBoundary(b)): the zero rows that
 * precede a source row travel with it, the trailing zeros with the last block. Concatenating the
 * blocks' outputs therefore gives the same bytes whatever the block sizes.
 */
import { GacError } from "../../errors.js";
import { destinationOf, runIndexOf, type PadLayout } from "./layout.js";

/** First destination row owned by the block that starts at source row i (i = from: the end). */
export function outputRowBoundary(layout: PadLayout, i: number): number {
  if (i === 0) return 0;
  if (i === layout.from) return layout.to;
  // The zeros between source rows i-1 and i belong to row i's block.
  return destinationOf(layout, i - 1) + 1;
}

/** Zeros shared by every zero segment (read-only: only ever handed to writes and hashes). */
const ZEROS = new Uint8Array(1 << 20);

/** `n` zero bytes as views of a shared read-only zero buffer, appended to `out`. */
export function zeroSegments(n: number, out: Uint8Array[]): void {
  for (; n > 0; n -= ZEROS.length) out.push(ZEROS.subarray(0, Math.min(n, ZEROS.length)));
}

/**
 * Pads the rows of one block without copying: the destination rows that block owns, zeros
 * included, as views of `block` and of a shared zero buffer, in order. `block` holds whole source
 * rows starting at `firstRow`. `padRow`, when given, supplies each padded row's bytes instead of
 * zeros (the neutral values of quantized tensors).
 */
export function padRowsSegments(block: Uint8Array, firstRow: number, layout: PadLayout, rowBytes: number, padRow?: (dstRow: number) => Uint8Array): Uint8Array[] {
  if (rowBytes <= 0 || block.length % rowBytes !== 0) {
    throw new GacError("UNSUPPORTED", `padRowsBlock: a block of ${block.length} bytes is not whole rows of ${rowBytes} bytes`);
  }
  const rows = block.length / rowBytes;
  const end = firstRow + rows;
  if (firstRow < 0 || end > layout.from) {
    throw new GacError("UNSUPPORTED", `padRowsBlock: rows [${firstRow}, ${end}) are outside the tensor's ${layout.from} rows`);
  }
  const outStart = outputRowBoundary(layout, firstRow);
  const outEnd = outputRowBoundary(layout, end);
  const segments: Uint8Array[] = [];
  const pad = (from: number, to: number) => {
    if (padRow === undefined) zeroSegments((to - from) * rowBytes, segments);
    else for (let r = from; r < to; r++) segments.push(padRow(r));
  };
  let cursor = outStart;
  if (rows > 0) {
    for (let k = runIndexOf(layout, firstRow); k < layout.runs.length; k++) {
      const r = layout.runs[k];
      if (r.src >= end) break;
      const a = Math.max(r.src, firstRow);
      const b = Math.min(r.src + r.len, end);
      const dst = r.dst + (a - r.src);
      pad(cursor, dst);
      segments.push(block.subarray((a - firstRow) * rowBytes, (b - firstRow) * rowBytes));
      cursor = dst + (b - a);
    }
  }
  pad(cursor, outEnd);
  return segments;
}

/** padRowsSegments gathered into one fresh array. */
export function padRowsBlock(block: Uint8Array, firstRow: number, layout: PadLayout, rowBytes: number): Uint8Array {
  const segments = padRowsSegments(block, firstRow, layout, rowBytes);
  const out = new Uint8Array(segments.reduce((n, s) => n + s.length, 0));
  let at = 0;
  for (const s of segments) {
    out.set(s, at);
    at += s.length;
  }
  return out;
}
