import { test } from "node:test";
import assert from "node:assert/strict";
import { padTarget } from "../../src/plan/pad-target.js";
import { RUNTIMES } from "../../src/contract/runtimes.js";
import { GacError } from "../../src/errors.js";

test("MINIMAL reproduces the seeds' PaLU mapping table (114..125 -> 120 or 128)", () => {
  const seeds: [number, number][] = [
    [114, 120],
    [116, 120],
    [117, 120],
    [118, 120],
    [120, 120],
    [121, 128],
    [122, 128],
    [123, 128],
    [124, 128],
    [125, 128],
  ];
  for (const [from, to] of seeds) assert.equal(padTarget(from, "MINIMAL"), to, `${from}`);
  assert.equal(padTarget(107, "MINIMAL"), 112);
});

test("OPTIMAL pads to 16 and leaves 16-multiples alone, but takes 8-only values on to 16", () => {
  assert.equal(padTarget(107, "OPTIMAL"), 112);
  assert.equal(padTarget(114, "OPTIMAL"), 128);
  assert.equal(padTarget(120, "OPTIMAL"), 128);
  assert.equal(padTarget(128, "OPTIMAL"), 128);
  assert.equal(padTarget(4096, "OPTIMAL"), 4096);
});

test("PREDEFINED picks the runtime's next compiled head size and falls back to 16 for GEMM dims", () => {
  const sdpa = RUNTIMES["pytorch-sdpa"].compiledHeadDims;
  assert.equal(padTarget(107, "PREDEFINED", { predefined: sdpa }), 128);
  assert.equal(padTarget(96, "PREDEFINED", { predefined: sdpa }), 96);
  assert.equal(padTarget(107, "PREDEFINED", { predefined: RUNTIMES["llama.cpp"].compiledHeadDims }), 112);
  assert.equal(padTarget(300, "PREDEFINED", { predefined: sdpa }), 304);
  assert.equal(padTarget(1638, "PREDEFINED"), 1648);
});

test("TRADEOFF takes the coarsest of 32/16/8 whose overhead stays under 10%", () => {
  assert.equal(padTarget(107, "TRADEOFF"), 112); // 128 costs 19.6%, 112 costs 4.7%
  assert.equal(padTarget(114, "TRADEOFF"), 120); // 128 costs 12.3% (both 32 and 16), 120 costs 5.3%
  assert.equal(padTarget(121, "TRADEOFF"), 128); // 5.8%
  assert.equal(padTarget(1638, "TRADEOFF"), 1664);
  assert.equal(padTarget(4096, "TRADEOFF"), 4096);
});

test("TRADEOFF falls back to the 8-multiple when nothing fits the budget, and honours a custom budget", () => {
  assert.equal(padTarget(20, "TRADEOFF"), 24); // 32: 60%, 32: 60%, 24: 20%
  assert.equal(padTarget(107, "TRADEOFF", { budgetPct: 25 }), 128);
  assert.equal(padTarget(107, "TRADEOFF", { budgetPct: 4 }), 112);
});

test("padTarget refuses a dimension that is not a positive integer", () => {
  assert.throws(() => padTarget(0, "MINIMAL"), GacError);
  assert.throws(() => padTarget(10.5, "OPTIMAL"), GacError);
});
