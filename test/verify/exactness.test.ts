/**
 * The exactness rules of repair, checked with the reference forward on in-memory float64 models:
 * padded models must compute the same logits, and the tempting wrong paddings must not.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { forwardLogits } from "../../src/verify/forward.js";
import { diffStats } from "../../src/verify/compare.js";
import { randomTokenIds } from "../../src/util/prng.js";
import { padHeadDim, padIntermediate, padRanks, tinyModel, type TinyModel } from "./tiny-model.js";

const TOKENS = randomTokenIds(7, 12, 24);

function rel(a: TinyModel, b: TinyModel, scale?: number): number {
  const la = forwardLogits(a, TOKENS);
  const lb = forwardLogits(b, TOKENS, scale === undefined ? undefined : { attentionScale: scale });
  return diffStats(la, lb, TOKENS.length).maxRelDiff;
}

test("padding every ASVD/SVD-LLM inner rank with zero rows and columns leaves the logits bit-identical", () => {
  const m = tinyModel({ kind: "lowrank", rank: 5, qkvBias: true });
  assert.equal(rel(m, padRanks(m, 3)), 0);
});

test("padding each PaLU group's rank with zero VT rows and zero U.g columns leaves the logits bit-identical", () => {
  const m = tinyModel({ kind: "grouped", rank: 3, qkvBias: true });
  const padded = padRanks(m, 5);
  const k = padded.spec.layers[0].attn.k;
  assert.ok(k.kind === "grouped");
  assert.deepEqual(k.ranks, [8, 9], "groups of unequal rank 3 and 4, each padded by 5");
  assert.equal(rel(m, padded), 0);
});

test("padding the MLP intermediate with zero gate/up rows and zero down columns leaves the logits bit-identical", () => {
  const m = tinyModel({ intermediate: 20 });
  assert.equal(rel(m, padIntermediate(m, 32)), 0);
});

test("padding head_dim per rotate-half half with theta^(D/d) and sqrt(D/d) folded into q matches within 1e-12 (GQA, q/k/v biases)", () => {
  const m = tinyModel({ headDim: 6, heads: 4, kvHeads: 2, qkvBias: true });
  const r = rel(m, padHeadDim(m, { to: 16, layout: "halves", foldScale: true, adjustTheta: true }));
  assert.ok(r < 1e-12, `max relative diff ${r}`);
});

test("the same padding holds under llama3 rope scaling and tied embeddings", () => {
  const scaling = { type: "llama3", factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 2000 } as const;
  // theta 500000, head_dim 10: wavelengths 6, 87, 1199, 16550, 2.3e5 -> kept, kept, interpolated, divided, divided.
  const m = tinyModel({ headDim: 10, theta: 500000, scaling, tied: true });
  const r = rel(m, padHeadDim(m, { to: 16, layout: "halves", foldScale: true, adjustTheta: true }));
  assert.ok(r < 1e-12, `max relative diff ${r}`);
});

test("the logical-scale variant (no fold, softmax scale d^-0.5 passed explicitly) matches within 1e-12", () => {
  const m = tinyModel({ headDim: 6, qkvBias: true });
  const padded = padHeadDim(m, { to: 8, layout: "halves", foldScale: false, adjustTheta: true });
  const r = rel(m, padded, Math.pow(6, -0.5));
  assert.ok(r < 1e-12, `max relative diff ${r}`);
  const unscaled = rel(m, padded);
  assert.ok(unscaled > 1e-6, `without the logical scale the padded model must differ (got ${unscaled})`);
});

test("padding head_dim at the end of each head instead of per half does NOT match: RoPE pairs dim i with i + D/2", () => {
  const m = tinyModel({ headDim: 6 });
  const r = rel(m, padHeadDim(m, { to: 16, layout: "end", foldScale: true, adjustTheta: true }));
  assert.ok(r > 1e-3, `max relative diff ${r}`);
});

test("keeping rope_theta unchanged does NOT match: the frequencies become theta^(-2j/D)", () => {
  const m = tinyModel({ headDim: 6 });
  const r = rel(m, padHeadDim(m, { to: 16, layout: "halves", foldScale: true, adjustTheta: false }));
  assert.ok(r > 1e-3, `max relative diff ${r}`);
});

test("forgetting the sqrt(D/d) fold does NOT match: the softmax would use D^-0.5", () => {
  const m = tinyModel({ headDim: 6 });
  const r = rel(m, padHeadDim(m, { to: 16, layout: "halves", foldScale: false, adjustTheta: true }));
  assert.ok(r > 1e-3, `max relative diff ${r}`);
});

test("per-layer attention scales are applied layer by layer", () => {
  const m = tinyModel({ headDim: 6, layers: 2 });
  const padded = padHeadDim(m, { to: 8, layout: "halves", foldScale: false, adjustTheta: true });
  const s = Math.pow(6, -0.5);
  const exact = diffStats(forwardLogits(m, TOKENS), forwardLogits(padded, TOKENS, { attentionScale: [s, s] }), TOKENS.length);
  assert.ok(exact.maxRelDiff < 1e-12);
  const wrongSecond = diffStats(forwardLogits(m, TOKENS), forwardLogits(padded, TOKENS, { attentionScale: [s, Math.pow(8, -0.5)] }), TOKENS.length);
  assert.ok(wrongSecond.maxRelDiff > 1e-6);
});
