import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../../src/cli/main.js";
import { measuredEffects } from "../../src/demo/measured-effect.js";
import type { GpuProfile } from "../../src/profile/types.js";
import type { DimChange } from "../../src/plan/types.js";
import { captureIO } from "../helpers/capture-io.js";

const point = (dim: number, median_ms: number) => ({ dim, median_ms, p10_ms: median_ms, p90_ms: median_ms, n: 10 });

const profile: GpuProfile = {
  schema: "gac-profile/1",
  gpu: { name: "Test GPU", slug: "test-gpu" },
  env: {},
  source: "measured",
  source_runs: ["r1"],
  created: "2026-01-01",
  series: [
    { op: "gemm_k", key: "g", dtype: "fp16", shape: { m: 4096, n: 4096 }, experiments: ["G3"], points: [point(114, 0.04), point(120, 0.02), point(128, 0.02)] },
    {
      op: "sdpa_prefill",
      key: "s",
      dtype: "fp16",
      causal: false,
      backend: "AUTO",
      shape: { batch: 4, heads: 32, kv_heads: 32, q_len: 2048, kv_len: 2048 },
      experiments: ["S1"],
      points: [point(52, 0.9), point(56, 0.3)],
    },
  ],
};

const change = (kind: "rank" | "head_dim", from: number, to: number, layer = 0): DimChange =>
  kind === "rank" ? { site: { kind, layer, linear: "self_attn.k_proj", group: 0 }, id: `l${layer}.r`, from, to } : { site: { kind, layer }, id: `l${layer}.h`, from, to };

test("measures each padding at the profile's own reference shape, counting repeated changes once per use", () => {
  const effects = measuredEffects(profile, [change("rank", 114, 120), change("rank", 114, 120, 1), change("head_dim", 52, 56), change("rank", 121, 128)]);
  assert.deepEqual(
    effects.map((e) => [e.kernel, e.from, e.to, e.count, e.speedup]),
    [
      ["GEMM K", 114, 120, 2, 2],
      ["SDPA head_dim", 52, 56, 1, 3],
    ],
  );
  assert.equal(effects[0].reference, "M=4096 N=4096 fp16");
});

test("gac demo scans, repairs, rescans and verifies the bundled PaLU case, then shows the measured H200 effect", async () => {
  const root = await mkdtemp(join(tmpdir(), "gac-demo-test-"));
  try {
    const io = captureIO(root);
    assert.equal(await runCli(["demo", "--out", "d"], io), 0);
    const t = io.stdout;
    assert.match(t, /^Before repair:\n {2}26 irregular dims \(values 114, 116, 118, 121, 122, 123, 124, 125\)/m);
    assert.match(t, /applicability: projection-gemms-only/);
    assert.match(t, /^After repair:\n {2}no irregular dims\n {2}0 of \d+ kernel calls leave the fast path/m);
    assert.match(t, /^ {2}PASS \(tolerance 1e-5 relative\)$/m);
    assert.match(t, /measured on NVIDIA H200/);
    assert.match(t, /^ {2}GEMM K {2}114 -> 120 +6 +0\.0333 +0\.0175 +1\.90x {2}M=4096 N=4096 fp16$/m);
    // A second run into the same directory needs --force; with it, it succeeds.
    await assert.rejects(runCli(["demo", "--out", "d"], captureIO(root)), /exists/);
    assert.equal(await runCli(["demo", "--out", "d", "--force"], captureIO(root)), 0);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test("gac demo without --out removes its temp checkpoints when it is done", async () => {
  const tmp = await mkdtemp(join(tmpdir(), "gac-demo-tmp-"));
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = tmp;
  try {
    const io = captureIO(tmp);
    assert.equal(await runCli(["demo"], io), 0);
    assert.match(io.stdout, /the checkpoints were in a temp directory, now removed/);
    assert.deepEqual(await readdir(tmp), []);
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    await rm(tmp, { recursive: true, force: true });
  }
});
