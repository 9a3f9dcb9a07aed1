import { test } from "node:test";
import assert from "node:assert/strict";
import { SUITES, caseId, estimateSeconds, expandSuite, expandSuites, resolveSuiteNames } from "../../src/bench/suites.js";
import { GacError } from "../../src/errors.js";

test("S1 covers every head_dim 64..160 in fp16 and the PaLU band plus multiples of 8 in bf16 and causal", () => {
  const cases = expandSuite("S1");
  const fp16 = cases.filter((c) => c.params.dtype === "fp16" && c.params.causal === false);
  assert.deepEqual(
    fp16.map((c) => c.params.head_dim),
    Array.from({ length: 97 }, (_, i) => 64 + i),
  );
  const bf16 = cases.filter((c) => c.params.dtype === "bf16");
  const causal = cases.filter((c) => c.params.causal === true);
  assert.equal(bf16.length, 41);
  assert.equal(causal.length, 41);
  assert.ok(bf16.some((c) => c.params.head_dim === 107) && !bf16.some((c) => c.params.head_dim === 65) && bf16.some((c) => c.params.head_dim === 72));
  assert.equal(cases.length, 179);
});

test("case ids are the suite and the sorted params without op, and stay the same across expansions", () => {
  const c = expandSuite("S1").find((x) => x.params.head_dim === 107 && x.params.dtype === "fp16" && x.params.causal === false);
  assert.equal(c?.case, "S1/backend=AUTO/batch=4/causal=false/dtype=fp16/head_dim=107/heads=32/kv_heads=32/kv_len=2048/q_len=2048");
  assert.deepEqual(
    expandSuite("G3").map((x) => x.case),
    expandSuite("G3").map((x) => x.case),
  );
  assert.equal(caseId("X", { op: "gemm", n: 2, k: 1, dims: [1, 2] }), "X/dims=1,2/k=1/n=2");
});

test("the job body carries the worker's parameters and no descriptive ones", () => {
  const p1 = expandSuite("P1").find((c) => c.params.head_dim === 107 && c.params.strategy === "multiple_8");
  assert.equal(p1?.job.op, "sdpa");
  assert.equal(p1?.job.params.pad_to, 112);
  assert.ok(Math.abs(Number(p1?.job.params.scale) - 1 / Math.sqrt(107)) < 1e-12);
  assert.equal(p1?.job.params.strategy, undefined);
  assert.equal(p1?.params.scale, "logical");
});

test("every suite's default counts match the documented budget of 655 cases for `all`, with G5 left out of it", () => {
  const counts = Object.fromEntries(SUITES.map((s) => [s.name, expandSuite(s.name).length]));
  assert.deepEqual(counts, { S1: 179, S2: 30, C21: 100, G3: 194, G4: 97, P1: 20, HET1: 3, decode: 12, GQA: 20, G5: 240 });
  const all = expandSuites(["all"]);
  assert.equal(all.length, 655);
  assert.ok(!all.some((c) => c.suite === "G5"));
  assert.ok(estimateSeconds(all) < 8 * 60, `estimate ${estimateSeconds(all)} s is over the 8-minute budget`);
});

test("G5 times F.linear at M=1 and 2048 in bf16 and fp16, sweeping K (N=4096) and N (K=4096) over every alignment class at each scale, in about two minutes", () => {
  const cases = expandSuite("G5");
  assert.ok(cases.every((c) => c.job.op === "linear" && c.params.op === "linear" && c.job.params.sweep === undefined));
  const kSweep = cases.filter((c) => c.params.sweep === "k" && c.params.dtype === "bf16" && c.params.m === 2048);
  assert.ok(kSweep.every((c) => c.params.n === 4096));
  assert.deepEqual(
    kSweep.filter((c) => Number(c.params.k) >= 14336).map((c) => c.params.k),
    [14336, 14337, 14338, 14340, 14344],
  );
  assert.deepEqual(new Set(kSweep.map((c) => Number(c.params.k) % 16)), new Set([0, 1, 2, 4, 8]));
  const nSweep = cases.filter((c) => c.params.sweep === "n" && c.params.dtype === "fp16" && c.params.m === 1);
  assert.ok(nSweep.every((c) => c.params.k === 4096) && nSweep.length === 30);
  assert.deepEqual(
    nSweep.slice(0, 5).map((c) => c.params.n),
    [128, 129, 130, 132, 136],
  );
  assert.equal(cases.find((c) => c.params.m === 1 && c.params.k === 1024 && c.params.dtype === "bf16" && c.params.sweep === "k")?.case, "G5/dtype=bf16/k=1024/m=1/n=4096/sweep=k");
  const seconds = estimateSeconds(cases);
  assert.ok(seconds >= 100 && seconds <= 180, `G5 estimate ${seconds} s is outside 2-3 minutes`);
});

test("S2 forces five backends on six dims and C21 probes three backends cheaply plus AUTO with kernel profiling", () => {
  const s2 = expandSuite("S2");
  assert.deepEqual([...new Set(s2.map((c) => c.params.backend))], ["AUTO", "FLASH", "EFFICIENT", "CUDNN", "MATH"]);
  const c21 = expandSuite("C21");
  const probes = c21.filter((c) => c.params.probe === "acceptance");
  assert.equal(probes.length, 75);
  assert.ok(probes.every((c) => c.job.method !== undefined));
  assert.ok(c21.filter((c) => c.params.backend === "AUTO").every((c) => c.job.params.profile_kernels === true));
});

test("HET1 runs per-group raw, per-group padded to 8 and one padded call", () => {
  const cases = expandSuite("HET1");
  assert.deepEqual(
    cases.map((c) => c.job.params.mode),
    ["per_group_raw", "per_group_padded", "single_padded"],
  );
  assert.ok(cases.every((c) => c.job.op === "sdpa_hetero" && c.job.params.pad_multiple === 8 && c.job.params.heads_per_group === 4));
  assert.deepEqual(cases[0].job.params.group_head_dims, [114, 116, 117, 118, 120, 121, 122, 123, 124, 125]);
});

test("decode and GQA use one query token for decode and 8 KV heads for GQA", () => {
  assert.ok(expandSuite("decode").every((c) => c.params.q_len === 1 && c.params.kv_len === 4096));
  const gqa = expandSuite("GQA");
  assert.ok(gqa.every((c) => c.params.kv_heads === 8 && c.params.heads === 32));
  assert.equal(gqa.filter((c) => c.params.q_len === 1).length, 8);
});

test("quick expansions are tiny and overrides replace a setting of the same kind", () => {
  for (const s of SUITES) assert.ok(expandSuite(s.name, { quick: true }).length <= 4, s.name);
  const g3 = expandSuite("G3", { overrides: { mn: [1024], k_lo: 100, k_hi: 103 } });
  assert.deepEqual(
    g3.map((c) => c.params.k),
    [100, 101, 102, 103],
  );
});

test("unknown suites, unknown settings and wrong kinds are refused with BAD_SUITE", () => {
  assert.throws(
    () => resolveSuiteNames(["S9"]),
    (e) => e instanceof GacError && e.code === "BAD_SUITE" && /S9/.test(e.message),
  );
  assert.throws(
    () => expandSuite("G3", { overrides: { kk: 1 } }),
    (e) => e instanceof GacError && /no setting 'kk'/.test(e.message),
  );
  assert.throws(
    () => expandSuite("G3", { overrides: { mn: 5 } }),
    (e) => e instanceof GacError && /must be like/.test(e.message),
  );
  assert.throws(
    () => expandSuite("S2", { overrides: { head_dims: [96, 96] } }),
    (e) => e instanceof GacError && /twice/.test(e.message),
  );
});

test("suite names resolve case-insensitively and 'all' lists every suite once", () => {
  assert.deepEqual(resolveSuiteNames(["s1", "ALL"]), ["S1", "S2", "C21", "G3", "G4", "P1", "HET1", "decode", "GQA"]);
});
