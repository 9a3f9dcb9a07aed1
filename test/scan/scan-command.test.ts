import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../../src/cli/main.js";
import { GacError } from "../../src/errors.js";
import { generateFixture } from "../../src/fixtures/index.js";
import type { ScanReport } from "../../src/scan/types.js";
import { packagedProfilesDir } from "../../src/profile/profile-store.js";
import { captureIO } from "../helpers/capture-io.js";

test("gac scan prints text by default and the JSON report with --json, honouring runtime, gpu and workload", async () => {
  const root = await mkdtemp(join(tmpdir(), "gac-scan-cli-"));
  try {
    await generateFixture("llama-direct-svd", join(root, "svd"), { dtype: "F16" });
    const text = captureIO(root);
    assert.equal(await runCli(["scan", "svd"], text), 0);
    assert.match(text.stdout, /^Model: dense \(llama\)/);
    assert.match(text.stdout, /Runtime: pytorch-sdpa on h200 \(sm90\)/);
    assert.match(text.stdout, /Applicability: repair-helps-attention/);
    const textJson = captureIO(root);
    await runCli(["scan", "svd", "--json", "--gpu", "b200"], textJson);
    assert.ok((JSON.parse(textJson.stdout) as ScanReport).calls.every((c) => c.predicted_ms === null));

    const json = captureIO(root);
    assert.equal(await runCli(["scan", "svd", "--json", "--runtime", "vllm", "--gpu", "a100", "--batch", "4", "--prefill-len", "512", "--kv-len", "8192"], json), 0);
    const report: ScanReport = JSON.parse(json.stdout);
    assert.equal(report.runtime, "vllm");
    assert.equal(report.gpu.id, "sm80");
    assert.deepEqual(report.workload, { prefill_batch: 4, prefill_len: 512, decode_batch: 4, kv_len: 8192 });
    assert.equal(report.calls.find((c) => c.kind === "attention")?.kernel, "TRITON_ATTN (tile 64, masked)");
    // The packaged A100 profile predicts call times; b200 has none, so that run's were null.
    assert.ok(report.calls.some((c) => typeof c.predicted_ms === "number" && c.predicted_ms > 0));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test("gac scan rejects an unknown GPU, an unknown runtime and a bad token count with typed errors", async () => {
  const io = captureIO(process.cwd());
  await assert.rejects(runCli(["scan", ".", "--gpu", "v100"], io), (e: unknown) => e instanceof GacError && e.code === "UNKNOWN_GPU");
  await assert.rejects(runCli(["scan", ".", "--runtime", "onnx"], io), (e: unknown) => e instanceof GacError && e.code === "UNKNOWN_RUNTIME");
  await assert.rejects(runCli(["scan", ".", "--batch", "0"], io), (e: unknown) => e instanceof GacError && e.code === "BAD_ARGS" && /--batch/.test(e.message));
  await assert.rejects(runCli(["scan", ".", "--kv-len", "12x"], io), (e: unknown) => e instanceof GacError && e.code === "BAD_ARGS");
});

test("gac scan --gpu h200 predicts from the measured H200 profile: per collapsed group, the unrepaired total and each strategy's time and speedup", async () => {
  const root = await mkdtemp(join(tmpdir(), "gac-scan-cli-"));
  try {
    await generateFixture("llama-direct-svd", join(root, "svd"));
    const io = captureIO(root);
    assert.equal(await runCli(["scan", "svd", "--gpu", "h200"], io), 0);
    const t = io.stdout;
    assert.match(t, /^Model: .*, F32 \(judged and predicted as F16 serving\)$/m);
    assert.match(t, /^Runtime: pytorch-sdpa on h200 \(sm90\);/m);
    assert.match(t, /^Profile: measured on NVIDIA H200 \(runs 20261121T051256Z-all, 20261121T061620Z-G5\); .*profiles\/nvidia-h200\.json$/m);
    assert.match(t, /^Predicted: [\d.]+ ms per forward pass unrepaired \(prefill [\d.]+ ms \+ one decode step [\d.]+ ms; (every call|\d+ of \d+ calls)\)/m);
    assert.match(t, /^ {6}time: {3}[\d.]+ ms each, [\d.]+ ms for 2 \(predicted\)$/m);
    assert.match(t, /^ {2}strategy .* predicted ms {2}speedup$/m);
    assert.match(t, /^ {2}MINIMAL .* [\d.]+ {3}\+\d+\.\d%$/m);

    const json = captureIO(root);
    await runCli(["scan", "svd", "--gpu", "h200", "--json"], json);
    const report: ScanReport = JSON.parse(json.stdout);
    assert.equal(report.profile?.source, "measured");
    assert.equal(report.profile?.path, join(packagedProfilesDir(), "nvidia-h200.json"));
    assert.ok((report.strategies.MINIMAL.predicted_speedup_pct ?? 0) > 0);

    const a100 = captureIO(root);
    await runCli(["scan", "svd", "--gpu", "a100"], a100);
    assert.match(a100.stdout, /^Profile: published numbers for NVIDIA A100-80GB, not measured by gac/m);

    const h100 = captureIO(root);
    await runCli(["scan", "svd", "--gpu", "h100"], h100);
    assert.match(h100.stdout, /^Profile: measured on NVIDIA H100 80GB HBM3 \(runs 20261121T054358Z-all, 20261121T061757Z-G5\); .*profiles\/nvidia-h100-80gb-hbm3\.json$/m);

    const b200 = captureIO(root);
    await runCli(["scan", "svd", "--gpu", "b200"], b200);
    assert.match(b200.stdout, /^Profile: no measured profile for b200 \(sm100\); run `gac bench` and `gac profile` on it, or pass --profile <file>$/m);
    assert.doesNotMatch(b200.stdout, /predicted ms/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test("gac scan takes --profile <file>, and finds a profile `gac profile` wrote to ./profiles by the words of its GPU name", async () => {
  const root = await mkdtemp(join(tmpdir(), "gac-scan-cli-"));
  try {
    await generateFixture("llama-direct-svd", join(root, "svd"));
    const h200 = JSON.parse(await readFile(join(packagedProfilesDir(), "nvidia-h200.json"), "utf8"));
    await writeFile(join(root, "mine.json"), JSON.stringify(h200));
    const given = captureIO(root);
    await runCli(["scan", "svd", "--gpu", "h100", "--profile", "mine.json", "--json"], given);
    assert.equal((JSON.parse(given.stdout) as ScanReport).profile?.path, join(root, "mine.json"));

    // A measured H100 profile (the H200 numbers under another name) in ./profiles is found for --gpu h100, not for --gpu h20.
    await mkdir(join(root, "profiles"));
    await writeFile(join(root, "profiles", "nvidia-h100-80gb-hbm3.json"), JSON.stringify({ ...h200, gpu: { ...h200.gpu, name: "NVIDIA H100 80GB HBM3", slug: "nvidia-h100-80gb-hbm3" } }));
    const found = captureIO(root);
    await runCli(["scan", "svd", "--gpu", "h100"], found);
    assert.match(found.stdout, /^Profile: measured on NVIDIA H100 80GB HBM3 .*profiles\/nvidia-h100-80gb-hbm3\.json$/m);
    const h20 = captureIO(root);
    await runCli(["scan", "svd", "--gpu", "h20"], h20);
    assert.match(h20.stdout, /^Profile: no measured profile for h20 \(sm90\)/m);

    await assert.rejects(runCli(["scan", "svd", "--profile", "missing.json"], captureIO(root)), (e: unknown) => e instanceof GacError && e.code === "NO_PROFILE");
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
