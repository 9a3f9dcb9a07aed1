import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { decodeBackend, readE2e, speedCaption, spread } from "../../bench/compress-study-speed.js";

// Kernel names as the H200 run of 2026-12-02 recorded them (results/20261202T034101Z-compress-study-gpu), cut short.
const CUDNN_MHA = [
  "cudnn_generated_fort_native_sdpa_sm80_flash_fprop_wmma_f16_knob_35_16x128x128_1x4x1_cga1x1x1_kernel0_0",
  "void cudnn::fusion::lean_reduction_kernel<false, false, false>(void*, float*",
];
const CUDNN_GQA = ["cudnn_generated_fort_native_sdpa_sm90_flash_fprop_wgmma_f16_knob_7_64x128x128_4x1x1_cga1x1x1_kernel0_0"];
const FLASH = ["void pytorch_flash::flash_fwd_splitkv_kernel<Flash_fwd_kernel_traits<96, 64, 128, 4, false, false, cutlass::bfloat16_t"];

test("names the decode attention backend from the profiler's kernel names, cuDNN before the flash in its kernel names", () => {
  assert.equal(decodeBackend(CUDNN_MHA), "cuDNN");
  assert.equal(decodeBackend(CUDNN_GQA), "cuDNN");
  assert.equal(decodeBackend(FLASH), "flash");
  assert.equal(decodeBackend([]), null);
  assert.equal(decodeBackend(undefined), null);
});

test("writes a point as median (p10-p90), and a missing one as a dash", () => {
  assert.equal(spread({ median_ms: 113.2042, p10_ms: 113.1048, p90_ms: 113.8207, n: 5 }, 2), "113.20 (113.10-113.82)");
  assert.equal(spread(null, 2), "-");
});

function resultLine(label: string, engine: string, decodeMs: number, kernels: string[]): string {
  const stats = (m: number, n: number) => ({ median_ms: m, p10_ms: m - 1, p90_ms: m + 2, n });
  const [eng, config, cache] = engine.split("/");
  const e2e = {
    engine: eng,
    config,
    cache,
    model: { label, params: 7e9 },
    points: [
      { phase: "prefill", batch: 1, seq: 2048, stats: stats(50, 5), peak_mem_bytes: 20e9 },
      { phase: "decode", batch: 1, context: 4096, stats: stats(decodeMs, 10), peak_mem_bytes: 21e9 },
    ],
    kernels: { decode_attention: kernels },
  };
  return JSON.stringify({ type: "result", id: `e2e/${label}/${engine}`, op: "e2e", e2e });
}

test("reads one engine's points with their spread and backend, and the caption names which model decoded with which backend", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "gac-compress-speed-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, "compress-e2e.jsonl");
  const lines = [
    JSON.stringify({ type: "heartbeat", t: 1 }),
    resultLine("m-b60-a", "gac/eager/static", 12.7, FLASH),
    resultLine("m-b60-c", "gac/eager/static", 54.3, CUDNN_GQA),
    resultLine("m-b60-c", "transformers/sdpa/dynamic", 64.7, CUDNN_MHA),
    JSON.stringify({ type: "error", id: "e2e/m-b60-d/transformers/sdpa/dynamic", op: "e2e", error: { type: "unsupported", message: "x" } }),
  ];
  await writeFile(file, lines.join("\n") + "\n");
  const speeds = await readE2e([file], "gac/eager/static");
  assert.deepEqual([...speeds.keys()], ["m-b60-a", "m-b60-c"]);
  const c = speeds.get("m-b60-c")!;
  assert.deepEqual(c.decode, { median_ms: 54.3, p10_ms: 53.3, p90_ms: 56.3, n: 10 });
  assert.equal(c.decode_attention, "cuDNN");
  assert.equal(c.peak_mem_gb, 21);
  const caption = speedCaption(speeds).join("\n");
  assert.match(caption, /5 prefills, 10 decode steps/);
  assert.match(caption, /\*\*flash\*\* for m-b60-a 12\.7; \*\*cuDNN\*\* for m-b60-c 54\.3/);
  assert.match(caption, /Decode here measures the attention backend, not the compressed shapes/);
});
