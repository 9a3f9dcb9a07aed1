import { test } from "node:test";
import assert from "node:assert/strict";
import { fixtureSpec } from "../../src/fixtures/kinds.js";
import { buildModelSpec } from "../../src/model/build-model-spec.js";
import { attentionKernels, backendFromKernels, engineCalls, layerElementwiseKernels, parseStepConfig, sdpaBackend, stepExtraKernels, stepKernels } from "../../src/profile/engine-steps.js";
import { pointCalls } from "../../src/profile/predict-e2e.js";

function spec(kind: "llama-aligned" | "llama-direct-svd" | "palu" | "svdllm" = "llama-aligned") {
  const f = fixtureSpec(kind);
  return buildModelSpec(f.config, new Map(f.tensors.map((t) => [t.name, { dtype: "F16" as const, shape: t.shape }])));
}

const hf = parseStepConfig("transformers/sdpa/dynamic");
const hfStatic = parseStepConfig("transformers/sdpa/static");
const hfNoCudnnStatic = parseStepConfig("transformers/sdpa-nocudnn/static");
const hfEager = parseStepConfig("transformers/eager/dynamic");
const gacEager = parseStepConfig("gac/eager/static");
const gacGraph = parseStepConfig("gac/graph/static");

test("transformers launches 33 elementwise kernels per decoder layer at decode (two 8-kernel RMSNorms, RoPE 10, layout copy, 2 residuals, SiLU x up, the cache cat) and 35 with a static cache's repeat_kv", () => {
  const layer = spec().layers[0];
  assert.equal(layerElementwiseKernels(hf, layer, "decode"), 33);
  assert.equal(layerElementwiseKernels(hf, layer, "prefill"), 31, "prefill runs use_cache=False: no cache update");
  assert.equal(layerElementwiseKernels(hfStatic, layer, "decode"), 35);
  assert.equal(stepExtraKernels(hf, "decode"), 20, "embedding, rotary 9, cache_position, final norm 8, argmax");
  assert.equal(stepExtraKernels(hfStatic, "decode"), 24, "plus the mask over the static cache");
});

test("gac's compact loop launches 13 elementwise kernels per decode layer (fused RMSNorm x 2, RoPE on q|k 5, cache write 2, 2 residuals, SiLU x up), 15 in the graph (cos/sin gathered at pos)", () => {
  const layer = spec().layers[0];
  assert.equal(layerElementwiseKernels(gacEager, layer, "decode"), 13);
  assert.equal(layerElementwiseKernels(gacGraph, layer, "decode"), 15);
  assert.equal(layerElementwiseKernels(gacEager, layer, "prefill"), 12, "no cache write, one reshape copy of the attention output");
  const palu = spec("palu").layers[0];
  assert.equal(layerElementwiseKernels(gacEager, palu, "decode"), 13 + 5 + 2, "separate q and k RoPE, and a cat per grouped k/v projection");
});

test("the gac engine concatenates dense q|k|v and gate|up into one GEMM each (n summed), and leaves factored projections as stored", () => {
  const s = spec();
  const calls = pointCalls(s, { phase: "decode", batch: 1, length: 64 }, "F16");
  const fused = engineCalls(s, calls, gacEager);
  const gemms = fused.filter((c) => c.kind === "gemm");
  assert.equal(gemms.length, 2 * 4 + 1);
  const qkv = gemms.find((c) => c.role === "layers.0.self_attn.qkv_proj");
  assert.equal(qkv?.kind === "gemm" ? qkv.n : 0, 4 * 64 + 2 * 2 * 64);
  const gateUp = gemms.find((c) => c.role === "layers.0.mlp.gate_up_proj");
  assert.equal(gateUp?.kind === "gemm" ? gateUp.n : 0, 2 * 512);
  assert.deepEqual(engineCalls(s, calls, hf), calls, "transformers runs every projection on its own");
  const svd = spec("svdllm");
  const svdCalls = pointCalls(svd, { phase: "decode", batch: 1, length: 64 }, "F16");
  assert.equal(engineCalls(svd, svdCalls, gacEager).length, svdCalls.length, "factor pairs are not fused");
});

test("SDPA's backend: cuDNN at a multiple of 8 where allowed; flash (head_dim padded) without a mask; math with a mask at head_dim % 8 != 0; efficient with a mask when cuDNN is off; eager is eager", () => {
  assert.equal(sdpaBackend(hf, "decode", 128), "cudnn");
  assert.equal(sdpaBackend(hf, "decode", 106), "flash");
  assert.equal(sdpaBackend(hfStatic, "decode", 106), "math");
  assert.equal(sdpaBackend(hfNoCudnnStatic, "decode", 128), "efficient");
  assert.equal(sdpaBackend(gacGraph, "decode", 106), "math");
  assert.equal(sdpaBackend(gacEager, "decode", 106), "flash");
  assert.equal(sdpaBackend(hfEager, "prefill", 128), "eager");
  assert.equal(attentionKernels("flash", "decode", 106), 6, "splitkv + combine + 3 pads and a slice");
  assert.equal(attentionKernels("cudnn", "decode", 128), 2);
});

test("the backend a run recorded is read from its kernel names", () => {
  assert.equal(backendFromKernels(["cudnn_generated_fort_native_sdpa_sm80_flash_fprop_wmma_f16_knob_35"]), "cudnn");
  assert.equal(backendFromKernels(["void pytorch_flash::flash_fwd_splitkv_kernel<Flash_fwd_kernel_traits<128"]), "flash");
  assert.equal(backendFromKernels(["void at::native::(anonymous namespace)::cunn_SoftMaxForwardReg<float>"]), "math");
  assert.equal(backendFromKernels([]), null);
});

test("a step's kernels are its GEMMs, attention kernels and elementwise kernels: transformers launches about twice what gac's engine does", () => {
  const s = spec();
  const point = { phase: "decode" as const, batch: 1, length: 64 };
  const calls = pointCalls(s, point, "F16");
  const t = stepKernels(s, calls, hf, "decode", () => "flash");
  assert.deepEqual(t, { gemm: 2 * 7 + 1, attention: 2 * 2, elementwise: 2 * 33 + 20, total: 15 + 4 + 86 });
  const g = stepKernels(s, engineCalls(s, calls, gacEager), gacEager, "decode", () => "flash");
  assert.deepEqual(g, { gemm: 2 * 4 + 1, attention: 2 * 2, elementwise: 2 * 13 + 3, total: 9 + 4 + 29 });
});

test("the split-KV graph runs gac's own attention at decode (8 kernels) and SDPA in prefill; cuDNN off sends the gac engine's eager decode to flash; both graphs gather cos/sin, the split-KV mask adds a where", () => {
  const split = parseStepConfig("gac/graph-splitkv/static");
  const noCudnn = parseStepConfig("gac/eager-nocudnn/static");
  assert.equal(sdpaBackend(split, "decode", 128), "splitkv");
  assert.equal(sdpaBackend(split, "decode", 106), "splitkv", "any head_dim");
  assert.equal(sdpaBackend(split, "prefill", 128), "cudnn");
  assert.equal(sdpaBackend(noCudnn, "decode", 128), "flash");
  assert.equal(sdpaBackend(noCudnn, "prefill", 128), "flash");
  assert.equal(sdpaBackend(gacGraph, "decode", 128), "cudnn");
  assert.equal(attentionKernels("splitkv", "decode", 128), 8);
  const layer = spec().layers[0];
  assert.equal(layerElementwiseKernels(split, layer, "decode"), 15);
  assert.equal(layerElementwiseKernels(noCudnn, layer, "decode"), 13);
  assert.equal(stepExtraKernels(gacGraph, "decode"), 7);
  assert.equal(stepExtraKernels(split, "decode"), 8);
  assert.equal(stepExtraKernels(noCudnn, "decode"), 3);
});
