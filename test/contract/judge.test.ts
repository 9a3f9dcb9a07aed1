import { test } from "node:test";
import assert from "node:assert/strict";
import { judgeCall } from "../../src/contract/judge.js";
import { parseGpu } from "../../src/contract/gpus.js";
import { parseRuntime } from "../../src/contract/runtimes.js";
import { GacError } from "../../src/errors.js";
import { attention, decode, gemm } from "./calls.js";

test("head_dim 107 on sm90 PyTorch SDPA is slow: cuDNN and mem-efficient refuse, flash pads to 112 and runs hdim128", () => {
  const v = judgeCall(attention(107), "pytorch-sdpa", "sm90");
  assert.equal(v.verdict, "slow");
  assert.equal(v.kernel, "FA2 (padded 107->112, hdim128 template)");
  assert.match(v.reason, /^cuDNN and mem-efficient refuse \(head_dim 107 is not a multiple of 8\); flash pads q\/k\/v to 112 \(3 fill\+copy passes/);
  assert.match(v.source, /check_cudnn_tensor_shapes/);
  assert.match(v.source, /pad_last_dim/);
});

test("head_dim 112 on sm90 PyTorch SDPA runs cuDNN's native sm90 kernel", () => {
  const v = judgeCall(attention(112), "pytorch-sdpa", "sm90");
  assert.deepEqual([v.verdict, v.kernel, v.reason], ["fast", "cuDNN SDPA sm90", ""]);
});

test("on sm80 PyTorch SDPA tries flash first, so 112 runs the FA2 hdim128 template and 107 pads, naming the later backends that refuse it", () => {
  const aligned = judgeCall(attention(112), "pytorch-sdpa", "sm80");
  assert.equal(aligned.verdict, "fast");
  assert.equal(aligned.kernel, "FA2 hdim128 template");
  const odd = judgeCall(attention(107), "pytorch-sdpa", "sm80");
  assert.equal(odd.verdict, "slow");
  assert.equal(odd.kernel, "FA2 (padded 107->112, hdim128 template)");
  assert.match(odd.reason, /^mem-efficient and cuDNN refuse \(head_dim 107 is not a multiple of 8\); flash pads/);
});

test("head_dim 136 on sm80 skips cuDNN for size, not alignment, and stays fast on flash's hdim160 template", () => {
  const v = judgeCall(attention(136), "pytorch-sdpa", "sm80");
  assert.equal(v.verdict, "fast");
  assert.equal(v.kernel, "FA2 hdim160 template");
});

test("PyTorch SDPA falls to the math backend, slow, when no fused backend takes the call", () => {
  const v = judgeCall(attention(300), "pytorch-sdpa", "sm90");
  assert.equal(v.verdict, "slow");
  assert.match(v.kernel, /^math/);
});

test("cuDNN refuses a key/value length of 1, so a one-token decode at 112 falls to flash on sm90", () => {
  const v = judgeCall(decode(112, { kvLen: 1 }), "pytorch-sdpa", "sm90");
  assert.equal(v.kernel, "FA2 hdim128 template");
  assert.equal(v.verdict, "fast");
});

test("flash-attn3 refuses head_dim 107 because it does no padding", () => {
  const v = judgeCall(attention(107), "flash-attn3", "sm90");
  assert.equal(v.verdict, "refused");
  assert.match(v.reason, /head_dim 107 is not a multiple of 8 and FA3 does no padding/);
});

test("flash-attn3 refuses every call on an sm80 GPU", () => {
  assert.equal(judgeCall(attention(128), "flash-attn3", "sm80").verdict, "refused");
  assert.equal(judgeCall(attention(128), "flash-attn3", "sm90").verdict, "fast");
});

test("flash-attn2 pads 107 to 112 in Python and runs the hdim128 template", () => {
  const v = judgeCall(attention(107), "flash-attn2", "sm90");
  assert.equal(v.verdict, "slow");
  assert.equal(v.kernel, "FA2 (padded 107->112, hdim128 template)");
});

test("vLLM sends head_dim 107 past FLASH_ATTN and FLASHINFER to TRITON_ATTN, padded to 128", () => {
  const v = judgeCall(attention(107), "vllm", "sm90");
  assert.equal(v.verdict, "slow");
  assert.equal(v.kernel, "TRITON_ATTN (tile 128, masked)");
  assert.match(v.reason, /FLASH_ATTN and FLASHINFER refuse/);
});

test("vLLM with FLASH_ATTN forced reports vLLM's ValueError for 107", () => {
  const v = judgeCall(attention(107), "vllm", "sm90", { backend: "FLASH_ATTN" });
  assert.equal(v.verdict, "refused");
  assert.match(v.reason, /^ValueError\("Selected backend FLASH_ATTN is not valid/);
});

test("vLLM on sm100 tries FLASHINFER first but a 96 head still runs FLASH_ATTN fast", () => {
  const v = judgeCall(attention(96), "vllm", "sm100");
  assert.deepEqual([v.verdict, v.kernel], ["fast", "vllm-flash-attn FA2"]);
});

test("TensorRT-LLM decode refuses head_size 100, which is not in the MMHA list", () => {
  const v = judgeCall(decode(100), "tensorrt-llm", "sm90");
  assert.equal(v.verdict, "refused");
  assert.match(v.reason, /unsupported head_size 100/);
  assert.equal(judgeCall(decode(104), "tensorrt-llm", "sm90").verdict, "fast");
});

test("TensorRT-LLM prefill at head_size 100 falls back to unfused MHA", () => {
  const v = judgeCall(attention(100), "tensorrt-llm", "sm90");
  assert.equal(v.verdict, "slow");
  assert.match(v.kernel, /^unfused MHA/);
});

test("llama.cpp has no CUDA FA kernel for 52 and the op leaves the GPU", () => {
  const v = judgeCall(attention(52), "llama.cpp", "sm89");
  assert.equal(v.verdict, "refused");
  assert.match(v.kernel, /CPU/);
  assert.equal(judgeCall(attention(112), "llama.cpp", "sm89").verdict, "fast");
});

test("an fp16 GEMM with K=107 is slow on cuBLAS and names the Hopper fallback", () => {
  const v = judgeCall(gemm(107), "pytorch-sdpa", "sm90");
  assert.equal(v.verdict, "slow");
  assert.match(v.reason, /^K=107 is not a multiple of 8 F16 elements \(16 bytes\)/);
  assert.match(v.reason, /3\.53x/);
});

test("an fp16 GEMM with K=112 is fast", () => {
  assert.equal(judgeCall(gemm(112), "pytorch-sdpa", "sm90").verdict, "fast");
});

test("an fp16 GEMM with an odd output width N is slow: N is the leading dim of the output", () => {
  const v = judgeCall(gemm(4096, 819), "pytorch-sdpa", "sm80");
  assert.equal(v.verdict, "slow");
  assert.match(v.reason, /^N=819/);
});

test("an fp8 GEMM with K=107 is refused, and K=112 (a multiple of 8 but not 16) too", () => {
  assert.equal(judgeCall(gemm(107, 4096, "F8_E4M3"), "pytorch-sdpa", "sm90").verdict, "refused");
  assert.equal(judgeCall(gemm(104, 4096, "F8_E4M3"), "pytorch-sdpa", "sm90").verdict, "refused");
  assert.equal(judgeCall(gemm(128, 4096, "F8_E4M3"), "pytorch-sdpa", "sm90").verdict, "fast");
});

test("TensorRT-LLM fp8 GEMMs try CUTLASS 3.x TMA first on sm90", () => {
  const v = judgeCall(gemm(128, 4096, "F8_E4M3"), "tensorrt-llm", "sm90");
  assert.match(v.kernel, /^CUTLASS 3\.x TMA/);
  const refused = judgeCall(gemm(107, 4096, "F8_E4M3"), "tensorrt-llm", "sm90");
  assert.equal(refused.verdict, "refused");
  assert.match(refused.reason, /CUTLASS 3\.x TMA: K=107/);
});

test("GPU names map to generations and unknown names list the valid ones", () => {
  assert.equal(parseGpu("H200"), "sm90");
  assert.equal(parseGpu("a100"), "sm80");
  assert.equal(parseGpu("l40s"), "sm89");
  assert.equal(parseGpu("b200"), "sm100");
  assert.equal(parseGpu("sm86"), "sm86");
  assert.throws(
    () => parseGpu("v100"),
    (e: unknown) => e instanceof GacError && e.code === "UNKNOWN_GPU" && /h100/.test(e.message),
  );
});

test("runtime names parse and unknown ones list the valid ids", () => {
  assert.equal(parseRuntime("vLLM"), "vllm");
  assert.throws(
    () => parseRuntime("onnx"),
    (e: unknown) => e instanceof GacError && e.code === "UNKNOWN_RUNTIME" && /tensorrt-llm/.test(e.message),
  );
});

test("PyTorch's SDPBackend names force a backend: EFFICIENT_ATTENTION is mem-efficient, and an unknown name lists the contract's", () => {
  assert.equal(judgeCall(attention(107), "pytorch-sdpa", "sm90", { backend: "EFFICIENT_ATTENTION" }).verdict, "refused");
  assert.equal(judgeCall(attention(112), "pytorch-sdpa", "sm90", { backend: "EFFICIENT_ATTENTION" }).kernel, "mem-efficient (CUTLASS fMHA)");
  assert.equal(judgeCall(attention(112), "pytorch-sdpa", "sm90", { backend: "FLASH_ATTENTION" }).kernel, "FA2 hdim128 template");
  assert.throws(
    () => judgeCall(attention(112), "pytorch-sdpa", "sm90", { backend: "FLEX" }),
    (e: unknown) => e instanceof GacError && e.code === "UNSUPPORTED" && /cuDNN, flash, mem-efficient, math/.test(e.message),
  );
});
