import { test } from "node:test";
import assert from "node:assert/strict";
import { classifyComparisons, type GpuComparisonFigures, type GpuVerifyReport } from "../../src/verify/gpu-verify.js";
import { renderGpuVerifyReport } from "../../src/verify/render-gpu-report.js";

function fig(name: string, maxRel: number, a = "x", b = "y"): GpuComparisonFigures {
  return { name, a, b, count: 100, max_abs_diff: maxRel * 10, max_rel_diff: maxRel, mean_abs_diff: maxRel, max_abs_original: 10, argmax_agree: 4, rows: 4 };
}

test("each difference is named by what its two sides differ in, and zero is called exact zero", () => {
  const c = classifyComparisons(
    [fig("repair_fp32", 3e-3), fig("repair_fp32_unrounded_fold", 2e-7), fig("fold_storage_rounding_fp32", 3e-3), fig("repair_serving", 0), fig("noise_floor_serving", 1e-2)],
    { dtype: "BF16", scaleMode: "fold", foldedTensors: 32, serving: "bfloat16" },
  );
  const cause = Object.fromEntries(c.map((x) => [x.name, x.cause]));
  assert.match(cause.repair_fp32, /one bfloat16 rounding of a folded scale/);
  assert.match(cause.repair_fp32_unrounded_fold, /^fp32 rounding/);
  assert.match(cause.fold_storage_rounding_fp32, /^one bfloat16 rounding of a folded scale/);
  assert.equal(cause.repair_serving, "exact zero");
  assert.match(cause.noise_floor_serving, /noise floor/);
  assert.ok(c.every((x) => x.pass));
});

test("without a fold, fp32 differences are fp32 rounding and must stay under 1e-4; serving must stay within twice the noise floor", () => {
  const ctx = { dtype: "BF16", scaleMode: "logical", foldedTensors: 0, serving: "bfloat16" } as const;
  const ok = classifyComparisons([fig("repair_fp32", 5e-7), fig("repair_serving", 1.5e-2), fig("noise_floor_serving", 1e-2)], ctx);
  assert.match(ok[0].cause, /^fp32 rounding/);
  assert.match(ok[1].cause, /^kernel choice in bfloat16/);
  assert.ok(ok.every((x) => x.pass));
  const bad = classifyComparisons([fig("repair_fp32", 2e-3), fig("repair_serving", 2.5e-2), fig("noise_floor_serving", 1e-2)], ctx);
  assert.deepEqual(
    bad.map((x) => x.pass),
    [false, false, true],
  );
  assert.equal(bad[1].bound, 2e-2);
});

test("a fold's rounding deeper than the storage tolerance passes only up to the serving noise floor, and only when the unrounded fold was checked", () => {
  // The figures of a real-size fold (random-weight Llama-3-8B, head_dim 106 -> 112, BF16, H200 e2e run):
  // the fold's rounding 1.67e-2 is over BF16's 1e-2 but under the bf16 noise floor 7.03e-2.
  const ctx = { dtype: "BF16", scaleMode: "fold", foldedTensors: 32, serving: "bfloat16" } as const;
  const deep = [fig("repair_fp32", 1.67e-2), fig("repair_fp32_unrounded_fold", 2.1e-5), fig("fold_storage_rounding_fp32", 1.67e-2), fig("repair_serving", 7.0e-2), fig("noise_floor_serving", 7.03e-2)];
  const ok = classifyComparisons(deep, ctx);
  assert.ok(ok.every((x) => x.pass));
  const storage = ok.find((x) => x.name === "fold_storage_rounding_fp32")!;
  assert.equal(storage.bound, 7.03e-2);
  assert.match(storage.bound_reason, /noise floor/);
  // Past the floor it fails; a wrong edit fails the unrounded comparison whatever the floor.
  const over = classifyComparisons([fig("fold_storage_rounding_fp32", 8e-2), fig("repair_fp32_unrounded_fold", 2e-5), fig("noise_floor_serving", 7.03e-2)], ctx);
  assert.equal(over[0].pass, false);
  const wrong = classifyComparisons([fig("fold_storage_rounding_fp32", 1.6e-2), fig("repair_fp32_unrounded_fold", 5e-2), fig("noise_floor_serving", 7.03e-2)], ctx);
  assert.equal(wrong[1].pass, false);
  // Without the unrounded comparison the storage tolerance stays the bound.
  const alone = classifyComparisons([fig("fold_storage_rounding_fp32", 1.67e-2), fig("noise_floor_serving", 7.03e-2)], ctx);
  assert.equal(alone[0].pass, false);
  assert.equal(alone[0].bound, 1e-2);
});

test("an unknown comparison from the worker is an error, not a silent row", () => {
  assert.throws(() => classifyComparisons([fig("something_else", 0)], { dtype: "F32", scaleMode: null, foldedTensors: 0, serving: "bfloat16" }), /does not know/);
});

test("the report puts the serving difference beside the noise floor and names every cause", () => {
  const comparisons = classifyComparisons([fig("repair_fp32", 0), fig("repair_serving", 5e-3), fig("noise_floor_serving", 1e-2)], {
    dtype: "BF16",
    scaleMode: "logical",
    foldedTensors: 0,
    serving: "bfloat16",
  });
  const report: GpuVerifyReport = {
    schema: "gac-verify-gpu/1",
    gac_version: "0",
    original: "/o",
    repaired: "/r",
    weights: "random",
    scale_mode: "logical",
    dtype: "BF16",
    folded_tensors: 0,
    tokens: 4,
    seed: 0,
    serving: "bfloat16",
    gpu: "NVIDIA H200",
    torch: "2.11",
    params: [10, 12],
    comparisons,
    pass: true,
  };
  const text = renderGpuVerifyReport(report);
  assert.match(text, /repair 5\.000e-3 beside the noise floor 1\.000e-2 \(ratio 0\.500\)/);
  assert.match(text, /repair_fp32\s+x vs y\s+0\.000e\+0/);
  assert.match(text, /repair_fp32 +exact zero/);
  assert.match(text, /result +PASS/);
});
