import { test } from "node:test";
import assert from "node:assert/strict";
import { causalAttention, kvHeadFor } from "../../src/verify/attention.js";
import { randomNormals } from "../../src/util/prng.js";

test("q head h reads kv head floor(h / (heads / kv_heads))", () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 7].map((h) => kvHeadFor(h, 8, 2)),
    [0, 0, 0, 0, 1, 1, 1, 1],
  );
  assert.deepEqual(
    [0, 1, 2, 3].map((h) => kvHeadFor(h, 4, 4)),
    [0, 1, 2, 3],
  );
});

test("position i attends to positions 0..i only: later keys and values leave it unchanged", () => {
  const [seq, H, KV, d] = [4, 2, 1, 3];
  const q = randomNormals(1, seq * H * d);
  const k = randomNormals(2, seq * KV * d);
  const v = randomNormals(3, seq * KV * d);
  const base = causalAttention(q, k, v, seq, H, KV, d, d, 0.5);
  const k2 = k.slice();
  const v2 = v.slice();
  for (let i = 3 * d; i < 4 * d; i++) {
    k2[i] += 100;
    v2[i] -= 100;
  }
  const changed = causalAttention(q, k2, v2, seq, H, KV, d, d, 0.5);
  assert.deepEqual(changed.subarray(0, 3 * H * d), base.subarray(0, 3 * H * d), "positions 0..2 ignore position 3");
  assert.notDeepEqual(changed.subarray(3 * H * d), base.subarray(3 * H * d), "position 3 sees itself");
  assert.deepEqual([...base.subarray(0, d)], [...v.subarray(0, d)], "position 0 can only copy its own value");
});

test("with grouped kv heads, each q head averages the values of its own kv head", () => {
  const [seq, H, KV, d] = [2, 4, 2, 1];
  const q = new Float64Array(seq * H * d); // zero scores: uniform weights over visible positions
  const k = randomNormals(4, seq * KV * d);
  const v = new Float64Array([1, 10, 3, 30]); // [pos][kvHead]
  const out = causalAttention(q, k, v, seq, H, KV, d, d, 1);
  assert.deepEqual([...out], [1, 1, 10, 10, 2, 2, 20, 20]);
});

test("scores are multiplied by the scale before the softmax", () => {
  const q = new Float64Array([0, 0, 1, 0]); // [pos][dim]; position 1 asks with (1, 0)
  const k = new Float64Array([0, 0, 2, 0]); // scores at position 1: [0, 2 * scale]
  const v = new Float64Array([0, 0, 1, 0]);
  const out = causalAttention(q, k, v, 2, 1, 1, 2, 2, 0.25);
  const p1 = Math.exp(0.5) / (1 + Math.exp(0.5));
  assert.ok(Math.abs(out[2] - p1) < 1e-15, `${out[2]} vs ${p1}`);
});

/** One query at a time, the textbook loops: what the blocked kernel must reproduce bit for bit. */
function oneQueryAtATime(q: Float64Array, k: Float64Array, v: Float64Array, seq: number, H: number, KV: number, d: number, scale: number): Float64Array {
  const out = new Float64Array(seq * H * d);
  const scores = new Float64Array(seq);
  for (let h = 0; h < H; h++) {
    const kvh = kvHeadFor(h, H, KV);
    for (let i = 0; i < seq; i++) {
      let max = -Infinity;
      for (let j = 0; j <= i; j++) {
        let dot = 0;
        for (let t = 0; t < d; t++) dot += q[(i * H + h) * d + t] * k[(j * KV + kvh) * d + t];
        scores[j] = dot * scale;
        if (scores[j] > max) max = scores[j];
      }
      let sum = 0;
      for (let j = 0; j <= i; j++) {
        scores[j] = Math.exp(scores[j] - max);
        sum += scores[j];
      }
      for (let j = 0; j <= i; j++) {
        const p = scores[j] / sum;
        for (let t = 0; t < d; t++) out[(i * H + h) * d + t] += p * v[(j * KV + kvh) * d + t];
      }
    }
  }
  return out;
}

test("queries blocked four at a time give bit-identical outputs to one query at a time, at every sequence remainder", () => {
  for (const seq of [1, 2, 3, 4, 5, 7, 9, 13]) {
    const [H, KV, d] = [4, 2, 6];
    const q = randomNormals(seq, seq * H * d);
    const k = randomNormals(seq + 100, seq * KV * d);
    const v = randomNormals(seq + 200, seq * KV * d);
    const got = causalAttention(q, k, v, seq, H, KV, d, d, 0.4);
    const want = oneQueryAtATime(q, k, v, seq, H, KV, d, 0.4);
    got.forEach((x, i) => assert.ok(Object.is(x, want[i]), `seq ${seq} index ${i}: ${x} vs ${want[i]}`));
  }
});
