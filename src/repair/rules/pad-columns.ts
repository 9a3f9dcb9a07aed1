/**
 * Zero-column padding: every row of `from` elements becomes a row of `to` elements laid out by the
 * same PadLayout. Rows are independent, so any block of whole rows can be padded on its own.
 */
import { GacError } from "../../errors.js";
import type { PadLayout } from "./layout.js";

/** Bytes of the padded copy of a block of `blockBytes` bytes of whole rows. */
export function paddedColumnsBytes(blockBytes: number, layout: PadLayout, elemBytes: number): number {
  const inRow = layout.from * elemBytes;
  if (inRow <= 0 || blockBytes % inRow !== 0) {
    throw new GacError("UNSUPPORTED", `padColumnsBlock: a block of ${blockBytes} bytes is not whole rows of ${layout.from} x ${elemBytes} bytes`);
  }
  return (blockBytes / inRow) * layout.to * elemBytes;
}

/**
 * Pads the rows of `block` into the front of `out` and returns that part. Every byte of it is
 * written, zeros included, so `out` may be a reused buffer holding old bytes.
 */
export function padColumnsInto(block: Uint8Array, layout: PadLayout, elemBytes: number, out: Uint8Array): Uint8Array {
  const bytes = paddedColumnsBytes(block.length, layout, elemBytes);
  if (out.length < bytes) throw new RangeError(`padColumnsInto: ${bytes} bytes do not fit in ${out.length}`);
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
