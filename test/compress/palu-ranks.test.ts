import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { allocateGroupRanks, headGroupSize, paluBudgetRank } from "../../src/compress/palu-method.js";

describe("PaLU group ranks", () => {
  it("hands each next unit of rank to the group whose next singular value is largest", () => {
    const a = Float64Array.from([10, 9, 1, 0.5]);
    const b = Float64Array.from([8, 2, 1.5, 0.1]);
    // Both start at 1; then 9 (a), 2 (b), 1.5 (b): a=2, b=3.
    assert.deepEqual(allocateGroupRanks([a, b], [4, 4], { total: 5 }), [2, 3]);
  });

  it("stops at the energy target pooled over the groups", () => {
    const a = Float64Array.from([10, 9, 1, 0]);
    const b = Float64Array.from([8, 2, 0, 0]);
    // Total 30; 10 + 8 = 18 (60%), + 9 = 27 (90%).
    assert.deepEqual(allocateGroupRanks([a, b], [4, 4], { fraction: 0.9 }), [2, 1]);
  });

  it("deals units round-robin without energies and never passes a group's full rank", () => {
    assert.deepEqual(allocateGroupRanks([null, null, null], [2, 4, 4], { total: 8 }), [2, 3, 3]);
    assert.deepEqual(allocateGroupRanks([null, null], [2, 2], { total: 9 }), [2, 2]);
  });

  it("sizes a module's total rank so that VT and the U.{g} hold the budget's parameters", () => {
    // k_proj [128, 256], groups of 64: floor(0.7 * 128 * 256 / (256 + 64)) = 71.
    assert.equal(paluBudgetRank({ kind: "budget", fraction: 0.7 }, 128, 256, 64, 2), 71);
    assert.equal(paluBudgetRank({ kind: "budget", fraction: 0.001 }, 128, 256, 64, 2), 2);
  });

  it("takes PaLU's default of 4 heads per group, lowered to a divisor of the KV head count", () => {
    assert.equal(headGroupSize(8, undefined), 4);
    assert.equal(headGroupSize(2, undefined), 2);
    assert.equal(headGroupSize(6, undefined), 3);
    assert.equal(headGroupSize(8, 1), 1);
    assert.throws(() => headGroupSize(8, 3), /does not divide the model's 8 KV heads/);
  });
});
