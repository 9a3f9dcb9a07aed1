import { test } from "node:test";
import assert from "node:assert/strict";
import { summarizeModelBench, type ModelBenchRecord } from "../../src/bench/model-summary.js";

/** A record of the model suite: a GEMM of width n in one variant and phase, standing for `count` calls. */
function rec(variant: string, phase: string, n: number, count: number, median: number | null, variantCalls = 3): ModelBenchRecord {
  const params = { op: "linear", m: phase === "decode" ? 1 : 2048, n, k: 4096, dtype: "fp16", model: "m1", variant, phase, count, variant_calls: variantCalls };
  return { suite: "model", case: `model/${variant}/${phase}/${n}`, params, gpu: "H200", ...(median === null ? { error: { type: "backend_refused" } } : { stats: { median_ms: median } }) };
}

test("totals are median x count over every call, split by phase, and the speedup compares them", () => {
  const [s] = summarizeModelBench([
    rec("unrepaired", "prefill", 107, 2, 1.0),
    rec("unrepaired", "decode", 107, 1, 0.5),
    rec("MINIMAL", "prefill", 112, 2, 0.75),
    rec("MINIMAL", "decode", 112, 1, 0.25),
  ]);
  assert.equal(s.model, "m1");
  assert.equal(s.variants.unrepaired.total_ms, 2.5);
  assert.equal(s.variants.MINIMAL.total_ms, 1.75);
  assert.deepEqual(s.variants.MINIMAL.phases, { prefill: { total_ms: 1.5, calls: 2, measured_calls: 2 }, decode: { total_ms: 0.25, calls: 1, measured_calls: 1 } });
  assert.equal(s.speedup_pct.MINIMAL, 100 * (2.5 / 1.75 - 1));
  assert.equal(s.phase_speedup_pct.MINIMAL.decode, 100);
});

test("a refused case or a case not run yet leaves the variant's total null and says which", () => {
  const [s] = summarizeModelBench([rec("unrepaired", "prefill", 107, 2, 1.0), rec("unrepaired", "decode", 107, 1, null), rec("MINIMAL", "prefill", 112, 2, 0.75)]);
  assert.equal(s.variants.unrepaired.total_ms, null);
  assert.deepEqual(s.variants.unrepaired.missing, ["model/unrepaired/decode/107 (backend_refused)"]);
  assert.equal(s.variants.unrepaired.measured_calls, 2);
  assert.equal(s.variants.MINIMAL.unrun_calls, 1);
  assert.equal(s.variants.MINIMAL.total_ms, null);
  assert.equal(s.variants.MINIMAL.phases.prefill.total_ms, null);
  assert.equal(s.speedup_pct.MINIMAL, null);
});

test("a shape measured in two variants costs the median of its measurements in both", () => {
  const [s] = summarizeModelBench([rec("unrepaired", "prefill", 4096, 1, 1.0, 1), rec("MINIMAL", "prefill", 4096, 1, 1.2, 1)]);
  assert.equal(s.variants.unrepaired.total_ms, 1.1);
  assert.equal(s.variants.MINIMAL.total_ms, 1.1);
  assert.equal(s.speedup_pct.MINIMAL, 0);
});

test("other suites are ignored and each model gets its own summary", () => {
  const other = { ...rec("unrepaired", "prefill", 8, 1, 1), params: { ...rec("unrepaired", "prefill", 8, 1, 1).params, model: "m2" } };
  const out = summarizeModelBench([rec("unrepaired", "prefill", 107, 3, 1), other, { ...rec("unrepaired", "prefill", 9, 1, 1), suite: "G3" }]);
  assert.deepEqual(
    out.map((s) => s.model),
    ["m1", "m2"],
  );
  assert.equal(out[0].variants.unrepaired.total_ms, 3);
});
