import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildProfile, gpuSlug } from "../../src/profile/build-profile.js";
import { predictCall, predictPadded, alignmentClass, MAX_WORK_RATIO } from "../../src/profile/predict.js";
import { findProfile, loadProfile, packagedProfilesDir, writeProfile } from "../../src/profile/profile-store.js";
import { expandSuite } from "../../src/bench/suites.js";
import type { ResultRecord, RunInfo } from "../../src/store/types.js";
import type { AttentionCall, GemmCall } from "../../src/graph/types.js";
import { GacError } from "../../src/errors.js";

const GPU = "NVIDIA H100 80GB HBM3";
const run: RunInfo = {
  run_id: "r1", created: "2026-01-31T00:00:00.000Z", command: "gac bench all", git_commit: null, host: "h",
  capability: { type: "capability", ok: true, gpu: { name: GPU, index: 0, compute_capability: "9.0", sm_count: 132 }, driver: "550.54", torch: "2.9.1", cuda: "12.8", cudnn: 91000 },
  suites: ["S1", "S2", "G3"], gpus: [0], quick: false,
};

/** A record for a suite case, with a synthetic time (aligned dims 1 ms, others 1.5 ms) or an error. */
function recordFor(suite: string, pick: (p: Record<string, unknown>) => boolean, ms?: (p: Record<string, unknown>) => number, error?: string): ResultRecord[] {
  return expandSuite(suite).filter((c) => pick(c.params)).map((c) => ({
    suite, case: c.case, params: c.params, gpu: GPU, gpu_index: 0, time: "t", wall_ms: 1,
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
  assert.deepEqual(fp16?.points.slice(42, 45).map((p) => [p.dim, p.median_ms]), [[106, 1.5], [107, 1.5], [108, 1.5]]);
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
  assert.deepEqual(eff?.points.map((p) => p.dim), [96, 104, 112, 120, 128]);
  assert.deepEqual(eff?.refused, [{ dim: 107, reason: "backend_refused: needs % 8" }]);
  assert.deepEqual(eff?.experiments, ["S2", "C21"]);
});

test("GEMM sweeps become gemm_k per (M,N) and gemm_n per (M,K); P1 becomes padded points", () => {
  const records = [
    ...recordFor("G3", () => true, (p) => Number(p.m) / 4096),
    ...recordFor("G4", () => true, () => 2),
    ...recordFor("P1", (p) => p.head_dim === 107, (p) => (p.strategy === "raw" ? 2.2 : 1.5)),
  ];
  const profile = buildProfile(records, [run]);
  assert.deepEqual(profile.series.filter((s) => s.op === "gemm_k").map((s) => [s.shape.m, s.points.length]), [[4096, 97], [8192, 97]]);
  assert.deepEqual(profile.series.find((s) => s.op === "gemm_n")?.shape, { m: 4096, k: 4096 });
  const padded = profile.series.find((s) => s.op === "sdpa_padded");
  // multiple_8 and multiple_16 both pad 107 to 112: the first record is kept.
  assert.deepEqual(padded?.points.map((p) => [p.dim, p.padded_dim, p.median_ms]), [[107, 112, 1.5], [107, 128, 1.5]]);
  assert.equal(profile.series.find((s) => s.op === "sdpa_prefill")?.points[0].median_ms, 2.2);
});

test("records of another GPU or without run.json are refused", () => {
  const mixed = recordFor("G4", (p) => p.n === 64 || p.n === 65, () => 1).map((r, i) => (i === 1 ? { ...r, gpu: "Other" } : r));
  assert.throws(() => buildProfile(mixed, [run]), (e) => e instanceof GacError && /one profile per GPU/.test(e.message));
  assert.throws(() => buildProfile([], []), (e) => e instanceof GacError && e.code === "BAD_RESULTS");
});

const attention = (over: Partial<AttentionCall> = {}): AttentionCall => ({
  id: "a", kind: "attention", phase: "prefill", layer: 0, role: "attn", batch: 4, qLen: 2048, kvLen: 2048, numHeads: 32, numKvHeads: 32,
  headDimQk: 107, headDimV: 107, causal: false, dtype: "F16", ...over,
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
  const dir = await mkdtemp(join(tmpdir(), "gac-prof-"));
  await writeFile(join(dir, "junk.json"), "{");
  const standIn = await findProfile("NVIDIA A100-SXM4-80GB", [dir, packagedProfilesDir()]);
  assert.equal(standIn?.profile.source, "published");
  assert.equal(await findProfile("NVIDIA B200", [dir, packagedProfilesDir()]), null);
  const h100 = buildProfile(recordFor("G4", () => true, () => 1), [run]);
  const path = await writeProfile(dir, h100);
  assert.equal(path, join(dir, "nvidia-h100-80gb-hbm3.json"));
  assert.deepEqual((await findProfile("nvidia h100 80gb hbm3", [dir, packagedProfilesDir()]))?.profile, h100);
  const a100run = { ...run, capability: { ...run.capability, gpu: { name: "NVIDIA A100-SXM4-80GB", index: 0 } } };
  const a100 = buildProfile(recordFor("G4", () => true, () => 1).map((r) => ({ ...r, gpu: "NVIDIA A100-SXM4-80GB" })), [a100run]);
  await writeProfile(dir, a100);
  assert.equal((await findProfile("NVIDIA A100-SXM4-80GB", [dir, packagedProfilesDir()]))?.profile.source, "measured");
});

test("refuses to extrapolate a call more than MAX_WORK_RATIO away from the measured shape (an m=1 decode GEMM is not 1/4096 of a 4096-row GEMM)", () => {
  const profile = buildProfile(recordFor("G3", () => true, () => 0.02), [run]);
  assert.equal(typeof predictCall(profile, gemm({ m: 4096 / 32 }))?.ms, "number");
  assert.equal(predictCall(profile, gemm({ m: 1 })), null);
  assert.equal(predictCall(profile, gemm({ m: 4096 * 1024 })), null);
  assert.equal(MAX_WORK_RATIO, 64);
});
