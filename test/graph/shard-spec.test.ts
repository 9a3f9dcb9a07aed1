import { test } from "node:test";
import assert from "node:assert/strict";
import { TRTLLM_TP, VLLM_TP, requireTensorParallelRule, tensorParallelRule } from "../../src/contract/rules/tensor-parallel.js";
import { buildKernelGraph } from "../../src/graph/build-kernel-graph.js";
import { checkTensorParallel, shardModelSpec, shardModelSpecs } from "../../src/graph/shard-spec.js";
import type { GemmCall } from "../../src/graph/types.js";
import { GacError } from "../../src/errors.js";
import { craftSpec, grouped, lowrank } from "../plan/specs.js";

const TP_DEGREES = [1, 2, 4, 8] as const;

function gemm(calls: ReturnType<typeof buildKernelGraph>, id: string): GemmCall {
  const c = calls.find((x) => x.id === id);
  assert.ok(c && c.kind === "gemm", `no GEMM ${id}`);
  return c;
}

test("TP 1 is the whole model: the shard is the spec itself and nothing is refused", () => {
  const spec = craftSpec();
  const shard = shardModelSpec(spec, 1, 0, VLLM_TP);
  assert.equal(shard.spec, spec);
  assert.deepEqual(shard.refusals, []);
});

for (const tp of TP_DEGREES) {
  test(`a dense GQA layer at TP ${tp}: q/k/v/gate/up lose output rows, o/down input columns, kv heads replicate below 8 GPUs`, () => {
    const spec = craftSpec({ heads: 32, kvHeads: 8, headDim: 128, hidden: 4096, intermediate: 14336, vocab: 128256, layers: 1 });
    const shard = shardModelSpec(spec, tp, 0, VLLM_TP);
    assert.deepEqual(shard.refusals, []);
    const calls = buildKernelGraph(shard.spec);
    const kvPerGpu = Math.max(1, 8 / tp);
    assert.deepEqual([gemm(calls, "decode:layers.0.self_attn.q_proj").n, gemm(calls, "decode:layers.0.self_attn.q_proj").k], [(32 / tp) * 128, 4096]);
    assert.equal(gemm(calls, "decode:layers.0.self_attn.k_proj").n, kvPerGpu * 128);
    assert.deepEqual([gemm(calls, "decode:layers.0.self_attn.o_proj").n, gemm(calls, "decode:layers.0.self_attn.o_proj").k], [4096, (32 / tp) * 128]);
    assert.equal(gemm(calls, "decode:layers.0.mlp.gate_proj").n, 14336 / tp);
    assert.deepEqual([gemm(calls, "decode:layers.0.mlp.down_proj").n, gemm(calls, "decode:layers.0.mlp.down_proj").k], [4096, 14336 / tp]);
    assert.equal(gemm(calls, "decode:lm_head").n, 128256 / tp, "128256 is a multiple of 64 already");
    const attn = calls.find((c) => c.kind === "attention");
    assert.ok(attn && attn.kind === "attention");
    assert.deepEqual([attn.numHeads, attn.numKvHeads, attn.headDimQk], [32 / tp, kvPerGpu, 128]);
  });
}

test("a pruned MLP of 11472 is aligned whole but 1434 per GPU at TP 8, and 11469 does not split at all", () => {
  const aligned = shardModelSpec(craftSpec({ heads: 32, kvHeads: 8, headDim: 128, intermediate: 11472 }), 8, 0, VLLM_TP);
  assert.deepEqual(aligned.refusals, []);
  assert.equal(aligned.spec.layers[0].mlp.intermediate, 1434);
  const odd = shardModelSpec(craftSpec({ heads: 32, kvHeads: 8, headDim: 128, intermediate: 11469 }), 8, 0, VLLM_TP);
  assert.equal(odd.spec.layers[0].mlp.intermediate, 1434, "the shard holds the first chunk, ceil(11469 / 8)");
  assert.deepEqual(
    odd.refusals.map((r) => [r.id, r.role, r.value]),
    [
      ["layers.0.mlp.intermediate", "layers.0.mlp", 11469],
      ["layers.1.mlp.intermediate", "layers.1.mlp", 11469],
    ],
  );
  assert.match(odd.refusals[0].reason, /MLP intermediate 11469 does not split over TP 8 \(MergedColumnParallelLinear/);
  assert.match(odd.refusals[0].source, /vllm\/model_executor\/layers\/linear\.py/);
});

test("heads that do not divide by TP and kv heads that cannot replicate evenly are refused by both runtimes, citing each", () => {
  const spec = craftSpec({ heads: 6, kvHeads: 3, intermediate: 768, vocab: 1152, layers: 1 });
  for (const rule of [VLLM_TP, TRTLLM_TP]) {
    const shard = shardModelSpec(spec, 4, 0, rule);
    assert.deepEqual(
      shard.refusals.map((r) => r.id),
      ["layers.0.self_attn.heads", "layers.0.self_attn.kv_heads"],
    );
    assert.match(shard.refusals[1].reason, /TP 4 is not a multiple of 3 kv heads/);
    assert.equal(shard.refusals[0].source, rule.sources.heads.file);
  }
  // At TP 6 everything splits: 6 heads, kv 3 replicated twice, 768 channels, 1152 vocabulary rows.
  assert.deepEqual(shardModelSpec(spec, 6, 5, VLLM_TP).refusals, []);
  assert.equal(shardModelSpec(spec, 6, 5, VLLM_TP).spec.layers[0].attn.numKvHeads, 1);
});

test("vLLM pads the vocabulary to 64 before splitting it, TensorRT-LLM to a multiple of TP", () => {
  const spec = craftSpec({ vocab: 32003, layers: 1 });
  assert.equal(shardModelSpec(spec, 8, 0, VLLM_TP).spec.vocabSize, 32064 / 8);
  assert.equal(shardModelSpec(spec, 8, 0, TRTLLM_TP).spec.vocabSize, 32008 / 8);
  const three = shardModelSpec(craftSpec({ heads: 6, kvHeads: 6, intermediate: 768, vocab: 32000, layers: 1 }), 3, 0, VLLM_TP);
  assert.deepEqual(
    three.refusals.map((r) => r.id),
    ["vocab_size"],
    "32000 is a multiple of 64 but not of 3",
  );
});

test("low-rank pairs: a column-parallel projection keeps its first factor whole and splits the second's rows; a row-parallel one splits the first factor's columns", () => {
  const spec = craftSpec({
    heads: 8,
    kvHeads: 8,
    headDim: 64,
    hidden: 512,
    intermediate: 1024,
    layers: 1,
    family: "svdllm",
    linears: (i) => ({
      q: lowrank(`model.layers.${i}.self_attn.q_v_proj`, `model.layers.${i}.self_attn.q_u_proj`, 512, 512, 102),
      o: lowrank(`model.layers.${i}.self_attn.o_v_proj`, `model.layers.${i}.self_attn.o_u_proj`, 512, 512, 102),
      down: lowrank(`model.layers.${i}.mlp.down_v_proj`, `model.layers.${i}.mlp.down_u_proj`, 512, 1024, 150),
    }),
  });
  const calls = buildKernelGraph(shardModelSpec(spec, 4, 1, VLLM_TP).spec);
  const shape = (id: string) => [gemm(calls, id).n, gemm(calls, id).k];
  assert.deepEqual(shape("decode:layers.0.self_attn.q_v_proj"), [102, 512], "first factor replicated: the rank is never split");
  assert.deepEqual(shape("decode:layers.0.self_attn.q_u_proj"), [128, 102], "second factor: 2 of 8 heads x 64");
  assert.deepEqual(shape("decode:layers.0.self_attn.o_v_proj"), [102, 128], "row-parallel: first factor takes 2 heads' columns");
  assert.deepEqual(shape("decode:layers.0.self_attn.o_u_proj"), [512, 102], "second factor whole (outputs all-reduced)");
  assert.deepEqual(shape("decode:layers.0.mlp.down_v_proj"), [150, 256]);
});

test("PaLU groups go with their heads: a 2-head group split over 2 GPUs keeps one head's U rows on each and its VT rows on both", () => {
  // 4 kv heads of 64 in groups of 2 (group width 128), ranks 114 and 121.
  const spec = craftSpec({
    heads: 8,
    kvHeads: 4,
    headDim: 64,
    hidden: 512,
    layers: 1,
    family: "palu",
    linears: (i) => ({ k: grouped(`model.layers.${i}.self_attn.k_proj`, 512, 128, [114, 121]) }),
  });
  const byRank = (tp: number) => shardModelSpecs(spec, tp, VLLM_TP).map((s) => s.spec.layers[0].attn.k);
  const describe = (tp: number) =>
    byRank(tp).map((k) => {
      assert.equal(k.kind, "grouped");
      return k.kind === "grouped" ? { vt: k.first.out, u: k.groups.map((g) => `${g.tensor.replace(/.*\.U\./, "U.").replace(".weight", "")} [${g.out}, ${g.in}]`) } : null;
    });
  assert.deepEqual(describe(2), [
    { vt: 114, u: ["U.0 [128, 114]"] },
    { vt: 121, u: ["U.1 [128, 121]"] },
  ]);
  assert.deepEqual(describe(4), [
    { vt: 114, u: ["U.0 [64, 114]"] },
    { vt: 114, u: ["U.0 [64, 114]"] },
    { vt: 121, u: ["U.1 [64, 121]"] },
    { vt: 121, u: ["U.1 [64, 121]"] },
  ]);
  // TP 8 > 4 kv heads: each kv head is replicated on two GPUs.
  assert.deepEqual(
    describe(8).map((d) => d?.u[0]),
    ["U.0 [64, 114]", "U.0 [64, 114]", "U.0 [64, 114]", "U.0 [64, 114]", "U.1 [64, 121]", "U.1 [64, 121]", "U.1 [64, 121]", "U.1 [64, 121]"],
  );
  assert.deepEqual(byRank(1)[0], spec.layers[0].attn.k);
});

test("the whole model is the sum of its shards: q rows and MLP channels add back up at every TP degree", () => {
  const spec = craftSpec({ heads: 16, kvHeads: 4, headDim: 96, intermediate: 2816, layers: 1 });
  for (const tp of TP_DEGREES) {
    const shards = shardModelSpecs(spec, tp, VLLM_TP).map((s) => s.spec.layers[0]);
    assert.equal(
      shards.reduce((a, l) => a + l.attn.q.out, 0),
      16 * 96,
    );
    assert.equal(
      shards.reduce((a, l) => a + l.mlp.intermediate, 0),
      2816,
    );
    assert.equal(
      shards.reduce((a, l) => a + l.attn.o.in, 0),
      16 * 96,
    );
  }
});

test("--tp and --pp outside their range, and a runtime without head-wise TP, are one-line errors", () => {
  assert.throws(
    () => checkTensorParallel(0),
    (e: unknown) => e instanceof GacError && e.code === "BAD_ARGS" && /--tp expects a whole number from 1 to 64/.test(e.message),
  );
  assert.throws(
    () => checkTensorParallel(2, 0),
    (e: unknown) => e instanceof GacError && /--pp expects/.test(e.message),
  );
  assert.equal(tensorParallelRule("llama.cpp"), null);
  assert.throws(
    () => requireTensorParallelRule("llama.cpp"),
    (e: unknown) => e instanceof GacError && e.code === "UNSUPPORTED" && /--split-mode/.test(e.message),
  );
  assert.match(tensorParallelRule("pytorch-sdpa")?.note ?? "", /no tensor parallelism of its own/);
  assert.equal(tensorParallelRule("tensorrt-llm")?.rule, TRTLLM_TP);
});

test("every TP rule cites a file and a GitHub URL", () => {
  for (const rule of [VLLM_TP, TRTLLM_TP]) {
    for (const [key, src] of Object.entries(rule.sources)) {
      assert.match(src.url, /^https:\/\/github\.com\/(vllm-project\/vllm|NVIDIA\/TensorRT-LLM)\//, `${rule.runtime} ${key}`);
      assert.ok(src.file.length > 10);
    }
  }
});
