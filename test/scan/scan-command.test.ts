import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../../src/cli/main.js";
import type { CommandIO } from "../../src/cli/command.js";
import { GacError } from "../../src/errors.js";
import { generateFixture } from "../../src/fixtures/index.js";
import type { ScanReport } from "../../src/scan/types.js";

function captureIO(cwd: string): CommandIO & { stdout: string } {
  const io = { stdout: "", out(t: string) { io.stdout += t; }, err() {}, errIsTTY: false, cwd, signal: new AbortController().signal };
  return io;
}

test("gac scan prints text by default and the JSON report with --json, honouring runtime, gpu and workload", async () => {
  const root = await mkdtemp(join(tmpdir(), "gac-scan-cli-"));
  try {
    await generateFixture("llama-direct-svd", join(root, "svd"), { dtype: "F16" });
    const text = captureIO(root);
    assert.equal(await runCli(["scan", "svd"], text), 0);
    assert.match(text.stdout, /^Model: dense \(llama\)/);
    assert.match(text.stdout, /Runtime: pytorch-sdpa on h100 \(sm90\)/);
    assert.match(text.stdout, /Applicability: repair-helps-attention/);
    const textJson = captureIO(root);
    await runCli(["scan", "svd", "--json"], textJson);
    assert.ok((JSON.parse(textJson.stdout) as ScanReport).calls.every((c) => c.predicted_ms === null));

    const json = captureIO(root);
    assert.equal(await runCli(["scan", "svd", "--json", "--runtime", "vllm", "--gpu", "a100", "--batch", "4", "--prefill-len", "512", "--kv-len", "8192"], json), 0);
    const report: ScanReport = JSON.parse(json.stdout);
    assert.equal(report.runtime, "vllm");
    assert.equal(report.gpu.id, "sm80");
    assert.deepEqual(report.workload, { prefill_batch: 4, prefill_len: 512, decode_batch: 4, kv_len: 8192 });
    assert.equal(report.calls.find((c) => c.kind === "attention")?.kernel, "TRITON_ATTN (tile 64, masked)");
    // The packaged A100 profile predicts call times; h100 has none, so the text run's were null.
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
