/**
 * Zero-column padding: every row of `from` elements becomes a row of `to` elements laid out by the
 * same PadLayout. Rows are independent, so any block of whole rows can be padded on its own.
 */
import { GacError } from "../../errors.js";
import type { PadLayout } from "./layout.js";

export function padColumnsBlock(block: Uint8Array, layout: PadLayout, elemBytes: number): Uint8Array {
  const inRow = layout.from * elemBytes;
  const outRow = layout.to * elemBytes;
  if (inRow <= 0 || block.length % inRow !== 0) {
    throw new GacError("UNSUPPORTED", `padColumnsBlock: a block of ${block.length} bytes is not whole rows of ${layout.from} x ${elemBytes} bytes`);
  }
  const rows = block.length / inRow;
  const out = new Uint8Array(rows * outRow);
  for (let row = 0; row < rows; row++) {
    const s = row * inRow;
    const d = row * outRow;
    for (const r of layout.runs) {
      out.set(block.subarray(s + r.src * elemBytes, s + (r.src + r.len) * elemBytes), d + r.dst * elemBytes);
    }
  }
  return out;
}
