import { test } from "node:test";
import assert from "node:assert/strict";
import { planWindows } from "../../src/eval/windows.js";
import { heldOutStart } from "../../src/eval/text-source.js";
import { sumRowsNll } from "../../src/eval/nll.js";
import { batchWindows } from "../../src/eval/cpu-perplexity.js";
import { GacError } from "../../src/errors.js";

test("non-overlapping windows of context + 1 tokens start at 0, context, 2 context, ... while they fit, and score every target once", () => {
  const p = planWindows(1000, 256, 256);
  assert.deepEqual(
    p.windows.map((w) => w.start),
    [0, 256, 512],
  ); // 768 + 257 > 1000
  assert.ok(p.windows.every((w) => w.length === 256 && w.scoreFrom === 0));
  assert.equal(p.targets, 768);
});

test("the training log's protocol on the held-out split: 64 windows are 16,384 targets", () => {
  const heldOut = 1_115_394 - heldOutStart(1_115_394);
  assert.equal(heldOut, 111_540);
  assert.equal(planWindows(heldOut, 256, 256).windows.length, 435); // floor((111540 - 1) / 256)
  const first64 = planWindows(heldOut, 256, 256, 16_384);
  assert.equal(first64.windows.length, 64);
  assert.equal(first64.targets, 16_384);
});

test("overlapping windows score only the targets the previous window did not", () => {
  const p = planWindows(20, 8, 4);
  assert.deepEqual(
    p.windows.map((w) => [w.start, w.length, w.scoreFrom]),
    [
      [0, 8, 0],
      [4, 8, 4],
      [8, 8, 4],
    ],
  );
  assert.equal(p.targets, 16); // targets 1..16, each once
});

test("--max-tokens shortens the last window to the targets still wanted", () => {
  const p = planWindows(1000, 256, 256, 300);
  assert.deepEqual(
    p.windows.map((w) => [w.start, w.length]),
    [
      [0, 256],
      [256, 44],
    ],
  );
  assert.equal(p.targets, 300);
});

test("a text shorter than one window is one window of all its tokens; one token is refused", () => {
  assert.deepEqual(planWindows(10, 256, 256).windows, [{ start: 0, length: 9, scoreFrom: 0 }]);
  assert.throws(
    () => planWindows(1, 256, 256),
    (e: unknown) => e instanceof GacError && /at least 2/.test(e.message),
  );
  assert.throws(
    () => planWindows(100, 0, 1),
    (e: unknown) => e instanceof GacError && /--context/.test(e.message),
  );
});

test("the NLL of uniform logits is ln(vocab) per target, and a confident right answer costs almost nothing", () => {
  const vocab = 256;
  const logits = new Float64Array(2 * vocab);
  logits[vocab + 7] = 50;
  const nll = sumRowsNll(logits, vocab, [3, 7], 0, 2);
  assert.ok(Math.abs(nll - (Math.log(vocab) + Math.log(1 + 255 * Math.exp(-50)))) < 1e-12, String(nll));
});

test("windows are batched only with consecutive windows of the same length", () => {
  const w = (start: number, length: number) => ({ start, length, scoreFrom: 0 });
  assert.deepEqual(
    batchWindows([w(0, 4), w(4, 4), w(8, 4), w(12, 2)], 2).map((b) => b.map((x) => x.start)),
    [[0, 4], [8], [12]],
  );
});
