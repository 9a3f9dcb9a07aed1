import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { scratchDir } from "../helpers/scratch.js";
import { join } from "node:path";
import { buildProfile } from "../../src/profile/build-profile.js";
import { predictCall, predictPadded, alignmentClass, MAX_WORK_RATIO } from "../../src/profile/predict.js";
import { findProfile, loadProfile, packagedProfilesDir, writeProfile } from "../../src/profile/profile-store.js";
import { expandSuite } from "../../src/bench/suites.js";
import type { ResultRecord, RunInfo } from "../../src/store/types.js";
import type { AttentionCall, GemmCall } from "../../src/graph/types.js";
import { GacError } from "../../src/errors.js";
import { checkPredictions, renderAccuracy } from "../../src/profile/prediction-accuracy.js";

const GPU = "NVIDIA H100 80GB HBM3";
const run: RunInfo = {
  run_id: "r1",
  created: "2026-01-31T00:00:00.000Z",
  command: "gac bench all",
  git_commit: null,
  host: "h",
  capability: { type: "capability", ok: true, gpu: { name: GPU, index: 0, compute_capability: "9.0", sm_count: 132 }, driver: "550.54", torch: "2.9.1", cuda: "12.8", cudnn: 91000 },
  suites: ["S1", "S2", "G3"],
  gpus: [0],
  quick: false,
};

/** A record for a suite case, with a synthetic time (aligned dims 1 ms, others 1.5 ms) or an error. */
function recordFor(suite: string, pick: (p: Record<string, unknown>) => boolean, ms?: (p: Record<string, unknown>) => number, error?: string): ResultRecord[] {
  return expandSuite(suite)
    .filter((c) => pick(c.params))
    .map((c) => ({
      suite,
      case: c.case,
      params: c.params,
      gpu: GPU,
      gpu_index: 0,
      time: "t",
      wall_ms: 1,
      ...(error ? { error: { type: error, message: "needs % 8" } } : { stats: { median_ms: ms!(c.params), p10_ms: 0.9, p90_ms: 1.1, n: 30 } }),
    }));
}

const staircase = (p: Record<string, unknown>) => (Number(p.head_dim) % 8 === 0 ? 1 : 1.5);

test("S1 records become one prefill series per dtype and causal, points sorted by head_dim", () => {
  const records = recordFor("S1", () => true, staircase);
  const profile = buildProfile(records, [run], { created: new Date("2026-02-01T00:00:00Z") });
  assert.equal(profile.gpu.slug, "nvidia-h100-80gb-hbm3");
  assert.equal(profile.source, "measured");
  assert.deepEqual(profile.source_runs, ["r1"]);
  assert.equal(profile.env.cudnn, "91000");
  const keys = profile.series.map((s) => `${s.op} ${s.dtype} causal=${s.causal} ${s.points.length}`);
  assert.deepEqual(keys.sort(), ["sdpa_prefill bf16 causal=false 41", "sdpa_prefill fp16 causal=false 97", "sdpa_prefill fp16 causal=true 41"]);
  const fp16 = profile.series.find((s) => s.dtype === "fp16" && !s.causal);
  assert.deepEqual(
    fp16?.points.slice(42, 45).map((p) => [p.dim, p.median_ms]),
    [
      [106, 1.5],
      [107, 1.5],
      [108, 1.5],
    ],
  );
  assert.deepEqual(fp16?.shape, { batch: 4, heads: 32, kv_heads: 32, q_len: 2048, kv_len: 2048 });
});

test("refusals land in the series' refused list and acceptance probes give no points", () => {
  const records = [
    ...recordFor("S2", (p) => p.backend === "EFFICIENT" && p.head_dim !== 107, staircase),
    ...recordFor("S2", (p) => p.backend === "EFFICIENT" && p.head_dim === 107, undefined, "backend_refused"),
    ...recordFor("C21", (p) => p.probe === "acceptance" && p.backend === "EFFICIENT", staircase),
  ];
  const profile = buildProfile(records, [run]);
  const eff = profile.series.find((s) => s.backend === "EFFICIENT");
  assert.deepEqual(
    eff?.points.map((p) => p.dim),
    [96, 104, 112, 120, 128],
  );
  assert.deepEqual(eff?.refused, [{ dim: 107, reason: "backend_refused: needs % 8" }]);
  assert.deepEqual(eff?.experiments, ["S2", "C21"]);
});

test("GEMM sweeps become gemm_k per (M,N) and gemm_n per (M,K); P1 becomes padded points", () => {
  const records = [
    ...recordFor(
      "G3",
      () => true,
      (p) => Number(p.m) / 4096,
    ),
    ...recordFor(
      "G4",
      () => true,
      () => 2,
    ),
    ...recordFor(
      "P1",
      (p) => p.head_dim === 107,
      (p) => (p.strategy === "raw" ? 2.2 : 1.5),
    ),
  ];
  const profile = buildProfile(records, [run]);
  assert.deepEqual(
    profile.series.filter((s) => s.op === "gemm_k").map((s) => [s.shape.m, s.points.length]),
    [
      [4096, 97],
      [8192, 97],
    ],
  );
  assert.deepEqual(profile.series.find((s) => s.op === "gemm_n")?.shape, { m: 4096, k: 4096 });
  const padded = profile.series.find((s) => s.op === "sdpa_padded");
  // multiple_8 and multiple_16 both pad 107 to 112: the first record is kept.
  assert.deepEqual(
    padded?.points.map((p) => [p.dim, p.padded_dim, p.median_ms]),
    [
      [107, 112, 1.5],
      [107, 128, 1.5],
    ],
  );
  assert.equal(profile.series.find((s) => s.op === "sdpa_prefill")?.points[0].median_ms, 2.2);
});

test("records of another GPU or without run.json are refused", () => {
  const mixed = recordFor(
    "G4",
    (p) => p.n === 64 || p.n === 65,
    () => 1,
  ).map((r, i) => (i === 1 ? { ...r, gpu: "Other" } : r));
  assert.throws(
    () => buildProfile(mixed, [run]),
    (e) => e instanceof GacError && /one profile per GPU/.test(e.message),
  );
  assert.throws(
    () => buildProfile([], []),
    (e) => e instanceof GacError && e.code === "BAD_RESULTS",
  );
});

const attention = (over: Partial<AttentionCall> = {}): AttentionCall => ({
  id: "a",
  kind: "attention",
  phase: "prefill",
  layer: 0,
  role: "attn",
  batch: 4,
  qLen: 2048,
  kvLen: 2048,
  numHeads: 32,
  numKvHeads: 32,
  headDimQk: 107,
  headDimV: 107,
  causal: false,
  dtype: "F16",
  ...over,
});
const gemm = (over: Partial<GemmCall> = {}): GemmCall => ({ id: "g", kind: "gemm", phase: "prefill", layer: 0, role: "k_proj.VT", tensor: "t", m: 4096, n: 4096, k: 107, dtype: "F16", ...over });

test("a call of the reference shape is predicted at the measured point, with the basis saying so", async () => {
  const { profile } = (await findProfile("NVIDIA A100-SXM4-80GB", [packagedProfilesDir()]))!;
  const p = predictCall(profile, attention());
  assert.equal(p?.ms, 2.147);
  assert.match(p!.basis, /published NVIDIA A100-80GB S1 sdpa_prefill fp16 AUTO B=4 H=32\/32 L=2048x2048 d=107: 2\.147 ms \(dim 107 measured\), scaled by the FLOPs ratio 1\.00/);
});

test("prediction scales by the FLOPs ratio and falls back to the nearest dim of the same alignment", async () => {
  const profile = await loadProfile(join(packagedProfilesDir(), "a100-published.json"));
  const half = predictCall(profile, attention({ batch: 2 }));
  assert.ok(Math.abs(half!.ms - 2.147 / 2) < 1e-12);
  const odd = predictCall(profile, attention({ headDimQk: 109, headDimV: 109 }));
  assert.ok(Math.abs(odd!.ms - 2.147 * (109 / 107)) < 1e-9);
  assert.match(odd!.basis, /nearest dim of the same alignment \(odd\): 107/);
  const g = predictCall(profile, gemm({ m: 2048 }));
  assert.ok(Math.abs(g!.ms - 0.089 / 2) < 1e-12);
  assert.match(g!.basis, /gemm_k fp16 M=4096 N=4096 K=107: 0\.0890 ms \(dim 107 measured\), scaled by the FLOPs ratio 0\.500/);
  assert.equal(alignmentClass(120), 8);
  assert.equal(predictCall(profile, gemm({ dtype: "F32" })), null);
});

test("padded predictions use a padded run of the same logical dim when the profile has one", async () => {
  const profile = await loadProfile(join(packagedProfilesDir(), "a100-published.json"));
  const padded = predictPadded(profile, attention(), 112);
  // C4 (more points) is preferred to P1 when both have 107 -> 112.
  assert.ok(padded!.basis.startsWith("head_dim 107 padded to 112: published NVIDIA A100-80GB C4 padded run"), padded!.basis);
  assert.equal(padded!.ms, 1.49);
  const noRun = predictPadded(profile, attention({ headDimQk: 105, headDimV: 105 }), 112);
  assert.equal(noRun!.ms, 1.545);
  const k = predictPadded(profile, gemm(), 112);
  assert.equal(k!.ms, 0.05);
  assert.match(k!.basis, /^K 107 padded to 112/);
});

test("decode calls scale by KV-cache bytes and GQA by the KV heads", () => {
  const records = recordFor("decode", (p) => p.batch === 1, staircase);
  const profile = buildProfile(records, [run]);
  const p = predictCall(profile, attention({ qLen: 1, kvLen: 8192, batch: 1, numKvHeads: 8, headDimQk: 112, headDimV: 112, phase: "decode" }));
  assert.ok(Math.abs(p!.ms - 1 * (8192 / 4096) * (8 / 32)) < 1e-12);
  assert.match(p!.basis, /KV-cache bytes ratio 0\.500/);
});

test("findProfile prefers an exact measured profile over the published stand-in and skips unreadable files", async () => {
  const dir = await scratchDir("gac-prof-");
  await writeFile(join(dir, "junk.json"), "{");
  const standIn = await findProfile("NVIDIA A100-SXM4-80GB", [dir, packagedProfilesDir()]);
  assert.equal(standIn?.profile.source, "published");
  assert.equal(await findProfile("NVIDIA B200", [dir, packagedProfilesDir()]), null);
  const h100 = buildProfile(
    recordFor(
      "G4",
      () => true,
      () => 1,
    ),
    [run],
  );
  const path = await writeProfile(dir, h100);
  assert.equal(path, join(dir, "nvidia-h100-80gb-hbm3.json"));
  assert.deepEqual((await findProfile("nvidia h100 80gb hbm3", [dir, packagedProfilesDir()]))?.profile, h100);
  const a100run = { ...run, capability: { ...run.capability, gpu: { name: "NVIDIA A100-SXM4-80GB", index: 0 } } };
  const a100 = buildProfile(
    recordFor(
      "G4",
      () => true,
      () => 1,
    ).map((r) => ({ ...r, gpu: "NVIDIA A100-SXM4-80GB" })),
    [a100run],
  );
  await writeProfile(dir, a100);
  assert.equal((await findProfile("NVIDIA A100-SXM4-80GB", [dir, packagedProfilesDir()]))?.profile.source, "measured");
});

test("refuses to extrapolate a call more than MAX_WORK_RATIO away from the measured shape (an m=1 decode GEMM is not 1/4096 of a 4096-row GEMM)", () => {
  const profile = buildProfile(
    recordFor(
      "G3",
      () => true,
      () => 0.02,
    ),
    [run],
  );
  assert.equal(typeof predictCall(profile, gemm({ m: 4096 / 32 }))?.ms, "number");
  assert.equal(predictCall(profile, gemm({ m: 1 })), null);
  assert.equal(predictCall(profile, gemm({ m: 4096 * 1024 })), null);
  assert.equal(MAX_WORK_RATIO, 64);
});

/** A synthetic H200-like GEMM: 2048 rows at 500 TFLOP/s, one row at 4.8 TB/s of weight reads; 1.5x slower when N or K is not a multiple of 8. */
function syntheticLinearMs(p: Record<string, unknown>): number {
  const [m, n, k] = [Number(p.m), Number(p.n), Number(p.k)];
  const penalty = n % 8 === 0 && k % 8 === 0 ? 1 : 1.5;
  return penalty * (m === 1 ? (2 * n * k) / 4.8e9 : (2 * m * n * k) / 5e11);
}

function g5Profile() {
  const g3run: RunInfo = { ...run, run_id: "all-run" };
  const g5run: RunInfo = { ...run, run_id: "g5-run", suites: ["G5"] };
  // As `gac profile results/<all> results/<G5>` loads them: the first run's records, then the second's.
  const records = [
    ...recordFor(
      "G3",
      () => true,
      () => 0.02,
    ),
    ...recordFor("G5", () => true, syntheticLinearMs),
  ];
  return buildProfile(records, [g3run, g5run]);
}

test("G5 records become linear-layout gemm_k and gemm_n series per dtype, M and fixed dim, beside G3's matmul series", () => {
  const profile = g5Profile();
  assert.deepEqual(profile.source_runs, ["all-run", "g5-run"]);
  const g5 = profile.series.filter((s) => s.layout === "linear");
  assert.deepEqual(g5.map((s) => s.key).sort(), [
    "gemm_k/dtype=bf16/layout=linear/m=1/n=4096",
    "gemm_k/dtype=bf16/layout=linear/m=2048/n=4096",
    "gemm_k/dtype=fp16/layout=linear/m=1/n=4096",
    "gemm_k/dtype=fp16/layout=linear/m=2048/n=4096",
    "gemm_n/dtype=bf16/layout=linear/k=4096/m=1",
    "gemm_n/dtype=bf16/layout=linear/k=4096/m=2048",
    "gemm_n/dtype=fp16/layout=linear/k=4096/m=1",
    "gemm_n/dtype=fp16/layout=linear/k=4096/m=2048",
  ]);
  assert.ok(g5.every((s) => s.points.length === 30 && s.experiments.join() === "G5"));
  assert.deepEqual(
    profile.series.filter((s) => s.op === "gemm_k" && s.layout === undefined).map((s) => s.shape.m),
    [4096, 8192],
  );
});

test("a GEMM is predicted from the nearest G5 series in M and the fixed dim and the nearest K of its alignment class, so m=1 decode calls are predicted", () => {
  const profile = g5Profile();
  // SVD-LLM's q_v_proj in decode: N=1638 (2 mod 4) is the misaligned axis; 2050 is the nearest N of its class.
  const decode = predictCall(profile, gemm({ m: 1, n: 1638, k: 4096, dtype: "BF16", phase: "decode" }));
  assert.match(decode!.basis, /gemm_n linear bf16 M=1 N=2050 K=4096: .* \(nearest dim of the same alignment \(multiple of 2\): 2050\), scaled by the FLOPs ratio 0\.799/);
  assert.ok(Math.abs(decode!.ms - syntheticLinearMs({ m: 1, n: 1638, k: 4096 })) < 1e-12);
  // A measured shape is its own prediction; prefill picks the M=2048 series, fp16 its fp16 twin.
  const mlp = predictCall(profile, gemm({ m: 2048, n: 4096, k: 14336, dtype: "BF16" }));
  assert.match(mlp!.basis, /gemm_k linear bf16 M=2048 N=4096 K=14336: .* \(dim 14336 measured\), scaled by the FLOPs ratio 1\.00/);
  const fp16 = predictCall(profile, gemm({ m: 2048, n: 6857, k: 4096, dtype: "F16" }));
  assert.match(fp16!.basis, /gemm_n linear fp16 M=2048 N=8193 K=4096/);
  assert.ok(Math.abs(fp16!.ms - syntheticLinearMs({ m: 2048, n: 6857, k: 4096 })) < 1e-9);
  // lm_head in decode: aligned, 128256 wide, scaled from the widest M=1 point (ratio 8.9, within reach).
  const lmHead = predictCall(profile, gemm({ m: 1, n: 128256, k: 4096, dtype: "BF16", phase: "decode" }));
  assert.match(lmHead!.basis, /gemm_n linear bf16 M=1 N=14336 K=4096/);
  // Without G5, the same m=1 call is refused: G3's 4096-row tables are 1/4096 of the work away.
  const g3Only = buildProfile(
    recordFor(
      "G3",
      () => true,
      () => 0.02,
    ),
    [run],
  );
  assert.equal(predictCall(g3Only, gemm({ m: 1, n: 1638, k: 4096, dtype: "BF16" })), null);
});

test("predicted repair speedups and per-call errors against model-suite measurements", () => {
  const profile = g5Profile();
  const rec = (variant: string, phase: string, m: number, k: number, count: number) => {
    const params = { op: "linear", m, n: 4096, k, dtype: "bf16", model: "m", variant, phase, count, variant_calls: 4 };
    return { suite: "model", case: `model/${variant}/${phase}/${k}`, params, gpu: GPU, stats: { median_ms: syntheticLinearMs(params) } };
  };
  const records = [rec("unrepaired", "prefill", 2048, 1843, 2), rec("unrepaired", "decode", 1, 1843, 2), rec("MINIMAL", "prefill", 2048, 1848, 2), rec("MINIMAL", "decode", 1, 1848, 2)];
  const report = checkPredictions(profile, records);
  assert.deepEqual(
    report.groups.map((g) => [g.group, g.calls, g.predicted]),
    [
      ["linear decode m=1", 2, 2],
      ["linear prefill m>1", 2, 2],
    ],
  );
  assert.ok(report.groups.every((g) => Math.abs(g.median_abs_log2 ?? 1) < 1e-9));
  const [s] = report.speedups;
  const expected = 100 * ((1.5 * 1843) / 1848 - 1);
  assert.equal(s.strategy, "MINIMAL");
  assert.equal(s.predicted_calls, 4);
  for (const key of ["total", "prefill", "decode"] as const) {
    assert.ok(Math.abs(s.measured[key]! - expected) < 1e-9 && Math.abs(s.predicted[key]! - expected) < 1e-9, key);
  }
  const text = renderAccuracy(report, "synthetic");
  assert.match(text, /^linear decode m=1 +2 +2 +1\.00x +1\.00x +1\.00x$/m);
  assert.match(text, /^m +MINIMAL +\+49\.6% +\+49\.6% +\+49\.6% +\+49\.6% +\+49\.6% +\+49\.6% +4\/4$/m);
});
