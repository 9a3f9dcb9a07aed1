import { test } from "node:test";
import assert from "node:assert/strict";
import { applyRope, ropeInvFreq, ropeTables } from "../../src/verify/rope.js";
import type { RopeSpec } from "../../src/model/types.js";
import { GacError } from "../../src/errors.js";

const rope = (theta: number, scaling: RopeSpec["scaling"] = { type: "default" }): RopeSpec => ({ theta, scaling, partialRotaryFactor: 1 });

test("inv_freq is 1 / theta^(2j/dim) as HF's default rope parameters compute it", () => {
  const f = ropeInvFreq(4, rope(10000));
  assert.deepEqual([...f], [1, 1 / 100]);
  const g = ropeInvFreq(8, rope(10000));
  assert.equal(g.length, 4);
  assert.ok(Math.abs(g[3] - Math.pow(10000, -6 / 8)) < 1e-18);
});

test("rotates dim i with dim i + head_dim/2 (rotate_half) at hand-computed angles", () => {
  const x = new Float64Array([1, 2, 3, 4]);
  // positions 0 and 1 are placeholders; the row at position 2 is checked.
  const seq = new Float64Array([...x, ...x, ...x]);
  applyRope(seq, 3, 1, 4, ropeTables(ropeInvFreq(4, rope(10000)), 3));
  const [c0, s0, c1, s1] = [Math.cos(2), Math.sin(2), Math.cos(0.02), Math.sin(0.02)];
  const want = [1 * c0 - 3 * s0, 2 * c1 - 4 * s1, 3 * c0 + 1 * s0, 4 * c1 + 2 * s1];
  want.forEach((w, i) => assert.ok(Math.abs(seq[8 + i] - w) < 1e-15, `dim ${i}: ${seq[8 + i]} vs ${w}`));
  assert.deepEqual([...seq.subarray(0, 4)], [1, 2, 3, 4], "position 0 is not rotated");
});

test("linear scaling divides every frequency by the factor", () => {
  const base = ropeInvFreq(8, rope(10000));
  const lin = ropeInvFreq(8, rope(10000, { type: "linear", factor: 4 }));
  base.forEach((f, j) => assert.equal(lin[j], f / 4));
});

/** Meta's reference `apply_scaling` (llama-models), written per frequency, independent of the source's code path. */
function metaLlama3Scaling(freqs: number[], factor: number, low: number, high: number, oldContext: number): number[] {
  return freqs.map((freq) => {
    const wavelen = (2 * Math.PI) / freq;
    if (wavelen < oldContext / high) return freq;
    if (wavelen > oldContext / low) return freq / factor;
    const smooth = (oldContext / wavelen - low) / (high - low);
    return ((1 - smooth) * freq) / factor + smooth * freq;
  });
}

test("llama3 scaling keeps high frequencies, divides low ones by factor and interpolates between (Llama-3.1-8B parameters)", () => {
  const scaling = { type: "llama3", factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 } as const;
  const got = ropeInvFreq(128, rope(500000, scaling));
  const plain = [...ropeInvFreq(128, rope(500000))];
  const want = metaLlama3Scaling(plain, 8, 1, 4, 8192);
  want.forEach((w, j) => assert.ok(Math.abs(got[j] - w) <= 1e-16 * Math.abs(w), `j=${j}: ${got[j]} vs ${w}`));
  assert.equal(got[0], 1, "the highest frequency is kept");
  assert.equal(got[63], plain[63] / 8, "the lowest frequency is divided by the factor");
  const medium = plain.filter((f, j) => got[j] !== f && got[j] !== f / 8);
  assert.ok(medium.length > 0, "some frequencies fall in the interpolated band");
});

test("rope_theta' = theta^(D/d) restores the first d/2 frequencies of a head padded to D, for default, linear and llama3", () => {
  const d = 80;
  const D = 128;
  const scalings: RopeSpec["scaling"][] = [{ type: "default" }, { type: "linear", factor: 2 }, { type: "llama3", factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 }];
  for (const s of scalings) {
    const orig = ropeInvFreq(d, rope(500000, s));
    const padded = ropeInvFreq(D, rope(Math.pow(500000, D / d), s));
    orig.forEach((f, j) => assert.ok(Math.abs(padded[j] - f) <= 1e-13 * f, `${s.type} j=${j}: ${padded[j]} vs ${f}`));
  }
});

test("refuses yarn and other rope types with an UNSUPPORTED error naming the type", () => {
  assert.throws(
    () => ropeInvFreq(64, rope(10000, { type: "other", name: "yarn", raw: {} })),
    (e: unknown) => e instanceof GacError && e.code === "UNSUPPORTED" && e.message.includes("'yarn'"),
  );
});

test("refuses an odd head_dim and a partial rotary factor", () => {
  const t = ropeTables(ropeInvFreq(6, rope(10000)), 1);
  assert.throws(
    () => applyRope(new Float64Array(5), 1, 1, 5, t),
    (e: unknown) => e instanceof GacError && e.code === "UNSUPPORTED",
  );
  const partial = ropeTables(ropeInvFreq(8, { theta: 10000, scaling: { type: "default" }, partialRotaryFactor: 0.5 }), 1);
  assert.throws(() => applyRope(new Float64Array(8), 1, 1, 8, partial), /partial_rotary_factor/);
});
