/**
 * `--tp` end to end: real-size sparse checkpoints (headers only) where an 8-way deployment
 * collapses on every GPU while the whole model does not, and a small real-valued checkpoint that
 * `gac repair --tp 8` pads so that each shard is aligned and the function is unchanged.
 * Slow-ish (real-size sparse fixtures): about 10 s on 2 cores.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../../src/cli/main.js";
import { GacError } from "../../src/errors.js";
import { generateFixture, LLAMA3_8B } from "../../src/fixtures/index.js";
import { alignedSpec } from "../../src/fixtures/specs.js";
import { writeSparseCheckpoint } from "../../src/fixtures/sparse-checkpoint.js";
import { applyPlanToSpec } from "../../src/plan/apply-plan.js";
import { proposeRepair } from "../../src/repair/repair-checkpoint.js";
import { buildScanReport } from "../../src/scan/build-scan-report.js";
import type { ScanReport } from "../../src/scan/types.js";
import { verifyCheckpoints } from "../../src/verify/verify-checkpoints.js";
import { llamaCaseConfig, writeCase } from "../verify/case-checkpoint.js";
import { captureIO } from "../helpers/capture-io.js";

let root = "";
before(async () => {
  root = await mkdtemp(join(tmpdir(), "gac-tp-"));
  // Llama-3-8B with a uniformly pruned MLP of 11472 channels: a multiple of 16 whole, 1434 per GPU at TP 8.
  const pruned = alignedSpec("uniform pruned MLP", { ...LLAMA3_8B, intermediate: 11472 });
  await writeSparseCheckpoint(join(root, "pruned"), {
    config: { ...pruned.config, torch_dtype: "bfloat16" },
    tensors: pruned.tensors.map((t) => ({ name: t.name, dtype: "BF16", shape: t.shape })),
    maxShardBytes: 5_000_000_000,
  });
  // Real values, small: 8 heads of 32 and an MLP of 1032 = 8 x 129.
  const dims = { hidden: 256, heads: 8, kvHeads: 8, headDim: 32, intermediate: 1032, layers: 2, vocab: 512 };
  const layer = { hidden: 256, numHeads: 8, numKvHeads: 8, headDim: 32, intermediate: 1032 };
  await writeCase(join(root, "small"), { config: llamaCaseConfig(dims), vocab: 512, hidden: 256, layers: [layer, layer], tied: false }, { dtype: "F32" });
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function scanJson(dir: string, ...args: string[]): Promise<ScanReport> {
  const io = captureIO(root);
  assert.equal(await runCli(["scan", dir, "--json", "--runtime", "vllm", "--gpu", "h200", ...args], io), 0, io.stderr);
  return JSON.parse(io.stdout) as ScanReport;
}

test("scan --tp 8 of a Llama-3-8B with an 11472-wide MLP finds 1434-wide GEMMs on every GPU that the whole-model scan calls fast", async () => {
  const whole = await scanJson("pruned");
  assert.equal(whole.summary.collapsed_calls, 0);
  assert.deepEqual(whole.tensor_parallel?.tp, 1);
  const tp8 = await scanJson("pruned", "--tp", "8");
  const t = tp8.tensor_parallel;
  assert.ok(t);
  assert.deepEqual([t.tp, t.per_gpu.num_heads, t.per_gpu.num_kv_heads, t.per_gpu.intermediate, t.per_gpu.lm_head_rows], [8, [4], [1], [1434], 16032]);
  assert.deepEqual(t.collapsed_calls_by_rank, Array(8).fill(tp8.summary.collapsed_calls), "every GPU holds the same shapes");
  const collapsed = tp8.calls.filter((c) => c.verdict !== "fast");
  // gate, up and down of 32 layers, prefill and decode.
  assert.equal(collapsed.length, 32 * 3 * 2);
  assert.ok(collapsed.every((c) => c.kind === "gemm" && /\.mlp\./.test(c.role) && (c.shape.n === 1434 || c.shape.k === 1434)));
  assert.match(collapsed[0].reason, /1434 is not a multiple of 8/);
  assert.equal(tp8.summary.applicability.verdict, "projection-gemms-only");
  assert.equal(tp8.model.num_heads, 32, "the model section stays the whole model's");
});

test("plan --tp 8 pads 11472 to 11520 (1440 per GPU), prints the overhead at TP 1/2/4/8, and its repaired shape scans clean at TP 8", async () => {
  const io = captureIO(root);
  assert.equal(await runCli(["plan", "pruned", "--runtime", "vllm", "--tp", "8", "--strategy", "MINIMAL"], io), 0, io.stderr);
  assert.match(io.stdout, /layers\.\{0-31\}\.mlp\.intermediate\s+11472 -> 11520/);
  assert.match(io.stdout, /Tensor parallel: planned for TP 8 on vllm; overhead per TP degree:/);
  const row = (tp: number) => io.stdout.split("\n").find((l) => new RegExp(`^  ${tp}\\s`).test(l));
  assert.match(row(1) ?? "", /^\s+1\s+11472\s+0\s+0\s+0\.00%\s+0$/);
  assert.match(row(4) ?? "", /^\s+4\s+2872\s+32\s/);
  // 32 layers x 3 tensors x 48 channels x 4096 = 18,874,368 parameters of ~7.03 B.
  assert.match(row(8) ?? "", /^\s+8\s+1440\s+32\s+18,874,368\s+0\.27%\s+0$/);

  const proposal = await proposeRepair(join(root, "pruned"), { strategy: "MINIMAL", runtime: "vllm", tp: 8 });
  const repaired = buildScanReport(applyPlanToSpec(proposal.spec, proposal.plan), { runtime: "vllm", gpu: "sm90", tp: 8 });
  assert.equal(repaired.summary.collapsed_calls, 0);
  assert.deepEqual(repaired.tensor_parallel?.per_gpu.intermediate, [1440]);
});

test("scan --tp 8 of the real-size FLAP, direct-SVD and PaLU fixtures shows what one GPU sees: heads vLLM refuses to split, one 106-wide kv head, PaLU latents that add up to an aligned size only whole", async () => {
  await generateFixture("pruned-flap", join(root, "flap"), { scale: "llama2-7b", sparse: true });
  const flapWhole = await scanJson("flap");
  const flap8 = await scanJson("flap", "--tp", "8");
  assert.equal(flapWhole.calls.filter((c) => c.verdict === "refused").length, 0);
  const refused = flap8.calls.filter((c) => c.verdict === "refused");
  assert.ok(refused.length > 300, `${refused.length} refused calls`);
  assert.ok(refused.some((c) => /the runtime will not shard this model: \d+ attention heads do not split over TP 8/.test(c.reason)));
  assert.ok((flap8.tensor_parallel?.refusals.length ?? 0) > 0);

  // Direct SVD to head_dim 106: k/v hold 8 heads (848 rows, a multiple of 8) whole, one head of 106 per GPU at TP 8.
  await generateFixture("llama-direct-svd", join(root, "dsvd"), { scale: "llama3-8b", sparse: true });
  const kv = (r: ScanReport) => r.calls.filter((c) => /\.(k|v)_proj$/.test(c.role));
  assert.ok(kv(await scanJson("dsvd")).every((c) => c.verdict === "fast" && c.kind === "gemm" && c.shape.n === 848));
  assert.ok(kv(await scanJson("dsvd", "--tp", "8")).every((c) => c.verdict === "slow" && c.kind === "gemm" && c.shape.n === 106));

  await generateFixture("palu", join(root, "palu"), { scale: "llama3-8b", sparse: true });
  const vt = (r: ScanReport) => r.calls.filter((c) => c.role.endsWith(".VT"));
  const paluWhole = vt(await scanJson("palu"));
  const palu8 = await scanJson("palu", "--tp", "8");
  const fastWhole = paluWhole.filter((c) => c.verdict === "fast");
  assert.ok(fastWhole.length > 0, "some layers' 8 ranks sum to a multiple of 8");
  assert.ok(
    vt(palu8).every((c) => c.verdict !== "fast"),
    "one rank per GPU is never a multiple of 8 here",
  );
  const ranks = palu8.tensor_parallel?.collapsed_calls_by_rank ?? [];
  assert.equal(palu8.tensor_parallel?.rank, ranks.indexOf(Math.max(...ranks)), "the report shows the worst GPU");
});

test("repair --tp 8 writes a checkpoint whose every shard is aligned and whose logits are the original's exactly", async () => {
  assert.equal((await scanJson("small")).summary.collapsed_calls, 0, "1032 is a multiple of 8");
  assert.ok((await scanJson("small", "--tp", "8")).summary.collapsed_calls > 0, "129 per GPU is not");

  const io = captureIO(root);
  assert.equal(await runCli(["repair", "small", "-o", "small-tp8", "--runtime", "vllm", "--tp", "8", "--strategy", "MINIMAL"], io), 0, io.stderr);
  const config = JSON.parse(await readFile(join(root, "small-tp8", "config.json"), "utf8")) as { intermediate_size: number };
  assert.equal(config.intermediate_size, 1088, "8 x 136");
  const manifest = JSON.parse(await readFile(join(root, "small-tp8", "gac-repair.json"), "utf8")) as { tensorParallel?: unknown };
  assert.deepEqual(manifest.tensorParallel, { runtime: "vllm", tp: 8, pp: 1 });
  assert.equal((await scanJson("small-tp8", "--tp", "8")).summary.collapsed_calls, 0);

  const v = await verifyCheckpoints(join(root, "small"), join(root, "small-tp8"), { tokens: 6, seed: 3 });
  assert.equal(v.pass, true);
  assert.equal(v.stats.maxRelDiff, 0, "zero channels add exact zeros");
});

test("--pp is accepted by scan and plan and said to change nothing; --tp with llama.cpp and a bad --tp are one-line errors", async () => {
  const io = captureIO(root);
  assert.equal(await runCli(["scan", "small", "--runtime", "vllm", "--tp", "2", "--pp", "2"], io), 0, io.stderr);
  assert.match(io.stdout, /Pipeline parallel: PP 2; pipeline parallelism places whole layers on each of 2 stages .*per-GPU shapes do not change/);
  assert.match(io.stdout, /Tensor parallel: TP 2; calls and dims below are GPU 0's \(every rank alike\)/);
  const plan = captureIO(root);
  assert.equal(await runCli(["plan", "small", "--pp", "2"], plan), 0, plan.stderr);
  assert.match(plan.stdout, /Pipeline parallel: PP 2 places whole layers on each stage, so no shape changes/);
  await assert.rejects(runCli(["scan", "small", "--runtime", "llama.cpp", "--tp", "2"], captureIO(root)), (e: unknown) => e instanceof GacError && e.code === "UNSUPPORTED");
  await assert.rejects(
    runCli(["plan", "small", "--tp", "0"], captureIO(root)),
    (e: unknown) => e instanceof GacError && e.code === "BAD_ARGS" && /--tp expects a whole number from 1 to 64/.test(e.message),
  );
});
