import { test } from "node:test";
import assert from "node:assert/strict";
import { padAtEnd, padSegments, padHeadsAtEnd, padHeadsHalfSplit, repeatLayout, keepLayout, checkLayout } from "../../src/repair/rules/layout.js";
import { padRowsBlock, padRowsSegments, outputRowBoundary } from "../../src/repair/rules/pad-rows.js";
import { padColumnsBlock, padColumnsInto, padColumnsSegments } from "../../src/repair/rules/pad-columns.js";
import { GacError } from "../../src/errors.js";

/** Rows of one byte each make layouts readable: row i holds the byte i+1, so a 0 is an added row. */
function rows(n: number, rowBytes = 1): Uint8Array {
  const b = new Uint8Array(n * rowBytes);
  for (let i = 0; i < n; i++) b.fill(i + 1, i * rowBytes, (i + 1) * rowBytes);
  return b;
}

test("padding at the end appends zero rows after the last row", () => {
  assert.deepEqual([...padRowsBlock(rows(3), 0, padAtEnd(3, 5), 1)], [1, 2, 3, 0, 0]);
});

test("row padding moves whole rows of several bytes", () => {
  assert.deepEqual([...padRowsBlock(rows(2, 3), 0, padAtEnd(2, 3), 3)], [1, 1, 1, 2, 2, 2, 0, 0, 0]);
});

test("per-group segments put each group's zero rows right after that group's own rows (PaLU VT)", () => {
  // groups of rank 2 and 3 padded to 4 each: [g0 g0 0 0 g1 g1 g1 0]
  assert.deepEqual([...padRowsBlock(rows(5), 0, padSegments([2, 3], [4, 4]), 1)], [1, 2, 0, 0, 3, 4, 5, 0]);
});

test("a segment that does not grow keeps its rows in place", () => {
  assert.deepEqual([...padRowsBlock(rows(4), 0, padSegments([2, 2], [2, 3]), 1)], [1, 2, 3, 4, 0]);
});

test("v heads are padded each at its own end", () => {
  assert.deepEqual([...padRowsBlock(rows(6), 0, padHeadsAtEnd(2, 3, 4), 1)], [1, 2, 3, 0, 4, 5, 6, 0]);
});

test("q/k heads are padded per rotate-half half so RoPE pairs (i, i + d/2) land on (i, i + D/2)", () => {
  // d = 6 -> D = 8, two heads: head rows a0 a1 a2 | a3 a4 a5 become a0 a1 a2 0 | a3 a4 a5 0
  const out = padRowsBlock(rows(12), 0, padHeadsHalfSplit(2, 6, 8), 1);
  assert.deepEqual([...out], [1, 2, 3, 0, 4, 5, 6, 0, 7, 8, 9, 0, 10, 11, 12, 0]);
});

test("the half-split layout pairs every original dim with its partner at distance D/2", () => {
  const d = 10;
  const D = 16;
  const out = padRowsBlock(rows(d), 0, padHeadsHalfSplit(1, d, D), 1);
  for (let i = 0; i < d / 2; i++) {
    assert.equal(out[i], i + 1, `dim ${i} stays`);
    assert.equal(out[i + D / 2], i + d / 2 + 1, `partner of dim ${i} sits at ${i + D / 2}`);
  }
  assert.deepEqual([...out.subarray(d / 2, D / 2)], [0, 0, 0]);
  assert.deepEqual([...out.subarray(D / 2 + d / 2)], [0, 0, 0]);
});

test("an odd head_dim is refused because RoPE cannot pair its dims", () => {
  assert.throws(
    () => padHeadsHalfSplit(2, 7, 8),
    (e: unknown) => e instanceof GacError && e.code === "UNSUPPORTED" && /odd head_dim/.test(e.message),
  );
});

test("a repeated layout applies the per-head layout to every head of a PaLU group", () => {
  const layout = repeatLayout(padHeadsHalfSplit(1, 2, 4), 2);
  assert.deepEqual([...padRowsBlock(rows(4), 0, layout, 1)], [1, 0, 2, 0, 3, 0, 4, 0]);
});

test("column padding pads every row with the same layout", () => {
  // 2 rows x 3 cols (2 bytes per element) -> 2 rows x 4 cols, zeros in the last column
  const block = Uint8Array.from([1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]);
  const out = padColumnsBlock(block, padAtEnd(3, 4), 2);
  assert.deepEqual([...out], [1, 1, 2, 2, 3, 3, 0, 0, 4, 4, 5, 5, 6, 6, 0, 0]);
});

test("o_proj columns follow the v heads' layout (per head, at each head's end)", () => {
  // one row, 2 heads of width 2 -> 3
  const out = padColumnsBlock(Uint8Array.from([1, 2, 3, 4]), padHeadsAtEnd(2, 2, 3), 1);
  assert.deepEqual([...out], [1, 2, 0, 3, 4, 0]);
});

test("column padding into a reused buffer overwrites its old bytes with the zeros too", () => {
  const dirty = new Uint8Array(20).fill(9);
  const out = padColumnsInto(Uint8Array.from([1, 2, 3, 4]), padHeadsAtEnd(2, 2, 3), 1, dirty);
  assert.deepEqual([...out], [1, 2, 0, 3, 4, 0]);
  assert.equal(out.buffer, dirty.buffer, "written in place, not copied");
  assert.equal(dirty[6], 9, "bytes past the padded block are left alone");
});

test("column padding as segments gives the copied bytes, rows as views of the block (shared or not, zeros longer than the zero buffer included)", () => {
  const layouts = [padAtEnd(3, 4), padAtEnd(5, 5), padSegments([2, 3], [4, 4]), padHeadsAtEnd(2, 2, 3), padAtEnd(2, 600_000)];
  for (const layout of layouts) {
    for (const shared of [false, true]) {
      const n = layout.from * 2 * 3;
      const block = shared ? new Uint8Array(new SharedArrayBuffer(n)) : new Uint8Array(n);
      block.forEach((_, i) => (block[i] = 1 + (i % 250)));
      const segments = padColumnsSegments(block, layout, 2);
      assert.deepEqual(Buffer.concat(segments), Buffer.from(padColumnsBlock(block, layout, 2)), `${layout.from}->${layout.to}`);
      assert.ok(
        segments.filter((s) => s.some((b) => b !== 0)).every((s) => s.buffer === block.buffer),
        "non-zero segments are views of the block",
      );
    }
  }
});

test("row padding as segments copies nothing: source rows are views of the block, in layout order", () => {
  const block = rows(6);
  const segments = padRowsSegments(block, 0, padHeadsAtEnd(2, 3, 4), 1);
  assert.deepEqual(
    segments.map((s) => [...s]),
    [[1, 2, 3], [0], [4, 5, 6], [0]],
  );
  assert.equal(segments[0].buffer, block.buffer);
  assert.equal(segments[2].buffer, block.buffer);
});

test("a tensor padded in many small row blocks gives the same bytes as in one block", () => {
  const layouts = [padAtEnd(13, 16), padSegments([3, 5, 5], [8, 8, 8]), padHeadsHalfSplit(3, 4, 8), padHeadsAtEnd(2, 5, 8), keepLayout(7)];
  for (const layout of layouts) {
    const rowBytes = 3;
    const src = rows(layout.from, rowBytes);
    const whole = padRowsBlock(src, 0, layout, rowBytes);
    assert.equal(whole.length, layout.to * rowBytes);
    for (const blockRows of [1, 2, 3, 5]) {
      const parts: number[] = [];
      for (let a = 0; a < layout.from; a += blockRows) {
        const b = Math.min(layout.from, a + blockRows);
        parts.push(...padRowsBlock(src.subarray(a * rowBytes, b * rowBytes), a, layout, rowBytes));
      }
      assert.deepEqual(parts, [...whole], `layout ${layout.from}->${layout.to} in blocks of ${blockRows} rows`);
    }
  }
});

test("the zero rows before a source row belong to that row's block, the trailing ones to the last block", () => {
  const layout = padSegments([2, 2], [4, 4]);
  assert.deepEqual(
    [0, 1, 2, 3, 4].map((i) => outputRowBoundary(layout, i)),
    [0, 1, 2, 5, 8],
  );
});

test("a block that is not whole rows is refused", () => {
  assert.throws(
    () => padRowsBlock(new Uint8Array(5), 0, padAtEnd(2, 3), 2),
    (e: unknown) => e instanceof GacError && e.code === "UNSUPPORTED",
  );
  assert.throws(
    () => padColumnsBlock(new Uint8Array(5), padAtEnd(2, 3), 2),
    (e: unknown) => e instanceof GacError && e.code === "UNSUPPORTED",
  );
});

test("a layout whose runs overlap is rejected before any byte moves", () => {
  assert.throws(
    () =>
      checkLayout({
        from: 4,
        to: 6,
        runs: [
          { src: 0, dst: 0, len: 2 },
          { src: 2, dst: 1, len: 2 },
        ],
      }),
    /overlaps/,
  );
});
