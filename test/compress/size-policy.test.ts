import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { lowRankCost } from "../../src/compress/size-cost.js";
import { decideSize, energySize, keptFraction, type SizeProblem } from "../../src/compress/size-policy.js";
import { loadProfile, packagedProfilesDir } from "../../src/profile/profile-store.js";

const problem = (target: number, extra: Partial<SizeProblem> = {}): SizeProblem => ({ id: "layers.0.self_attn.q_proj.rank", full: 128, energy: null, step: 1, target, ...extra });

describe("size policy", () => {
  it("rounds a rank to a multiple of 8 down, up or to the nearest, and says so", () => {
    const at = (round: "down" | "up" | "nearest") => decideSize(problem(107), { kind: "multiple", of: 8, round });
    assert.equal(at("down").chosen, 104);
    assert.equal(at("up").chosen, 112);
    assert.equal(at("nearest").chosen, 104);
    assert.match(at("up").why, /rounded up to a multiple of 8/);
    assert.equal(decideSize(problem(112), { kind: "multiple", of: 16, round: "up" }).why, "already a multiple of 16");
  });

  it("never rounds past the full size or down to zero", () => {
    assert.equal(decideSize(problem(125), { kind: "multiple", of: 16, round: "up" }).chosen, 128);
    assert.equal(decideSize(problem(122, { full: 122 }), { kind: "multiple", of: 16, round: "up" }).chosen, 122);
    assert.equal(decideSize(problem(5), { kind: "multiple", of: 8, round: "down" }).chosen, 8);
  });

  it("an energy target keeps the fewest units holding that share of sigma^2, in steps of 2 for head_dim", () => {
    const energy = Float64Array.from([50, 30, 10, 5, 3, 2]);
    assert.equal(energySize(energy, 6, 0.8, 1), 2);
    assert.equal(energySize(energy, 6, 0.81, 1), 3);
    assert.equal(energySize(energy, 6, 0.81, 2), 4);
    assert.equal(energySize(energy, 6, 1, 1), 6);
    assert.equal(keptFraction(energy, 6, 3), 0.9);
    const d = decideSize(problem(3, { full: 6, energy }), { kind: "none" });
    assert.ok(Math.abs(d.error_target - Math.sqrt(0.1)) < 1e-12);
  });

  it("profile picks the cheapest predicted rank near the target within the error tolerance", async () => {
    const profile = await loadProfile(`${packagedProfilesDir()}/nvidia-h200.json`);
    const cost = lowRankCost(profile, 4096, 4096, "BF16");
    const d = decideSize({ id: "q", full: 4096, energy: null, step: 1, target: 1638, cost }, { kind: "profile", tolerance: 0.02 });
    assert.ok(d.chosen % 8 === 0, `chose ${d.chosen}`);
    assert.ok(Math.abs(d.chosen - 1638) <= 16);
    assert.ok(d.predicted_ms_chosen! < d.predicted_ms_target!);
    assert.ok(d.error_chosen <= d.error_target * 1.02 + 1e-12);
    const strict = decideSize({ id: "q", full: 4096, energy: null, step: 1, target: 1638, cost }, { kind: "profile", tolerance: 0 });
    assert.ok(strict.chosen >= 1638, "with no tolerance the rank never drops below the target");
  });

  it("profile falls back to the nearest multiple of 16 and says why when no size can be predicted", () => {
    const d = decideSize(problem(50, { cost: () => null }), { kind: "profile", tolerance: 0.02 });
    assert.equal(d.chosen, 48);
    assert.match(d.why, /predicts no size near 50/);
  });
});
