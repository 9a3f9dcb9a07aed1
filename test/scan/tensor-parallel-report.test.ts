import { test } from "node:test";
import assert from "node:assert/strict";
import { buildScanReport } from "../../src/scan/build-scan-report.js";
import { renderScanText } from "../../src/scan/render-scan-text.js";
import { craftSpec, grouped } from "../plan/specs.js";

test("without --tp the report is the whole model's and says so: TP 1, rank 0, no rule", () => {
  const r = buildScanReport(craftSpec(), { runtime: "vllm" });
  assert.deepEqual(r.tensor_parallel, {
    tp: 1,
    pp: 1,
    rank: 0,
    rule: null,
    note: null,
    pp_note: null,
    per_gpu: { num_heads: [4], num_kv_heads: [2], kv_head_replicas: 1, intermediate: [512], lm_head_rows: 1024 },
    collapsed_calls_by_rank: [0],
    refusals: [],
  });
  assert.doesNotMatch(renderScanText(r), /Tensor parallel|Pipeline parallel/);
});

test("2 kv heads over 8 GPUs: each GPU holds one kv head, shared by 4, and the text says so", () => {
  const r = buildScanReport(craftSpec({ heads: 8, kvHeads: 2, headDim: 64, intermediate: 1024 }), { runtime: "vllm", tp: 8 });
  assert.deepEqual(r.tensor_parallel?.per_gpu, { num_heads: [1], num_kv_heads: [1], kv_head_replicas: 4, intermediate: [128], lm_head_rows: 128 });
  assert.match(renderScanText(r), /per GPU: heads 1, kv heads 1 \(each on 4 GPUs\), intermediate 128, lm_head rows 128/);
});

test("a module the runtime will not split is refused call by call; the rest of the layer keeps its verdicts", () => {
  const r = buildScanReport(craftSpec({ heads: 8, kvHeads: 8, headDim: 64, intermediate: 1029 }), { runtime: "tensorrt-llm", tp: 8 });
  const verdicts = new Map(r.calls.filter((c) => c.layer === 0 && c.phase === "decode").map((c) => [c.role.replace("layers.0.", ""), c.verdict]));
  assert.deepEqual(
    [...verdicts],
    [
      ["self_attn.q_proj", "fast"],
      ["self_attn.k_proj", "fast"],
      ["self_attn.v_proj", "fast"],
      ["self_attn.attention", "fast"],
      ["self_attn.o_proj", "fast"],
      ["mlp.gate_proj", "refused"],
      ["mlp.up_proj", "refused"],
      ["mlp.down_proj", "refused"],
    ],
  );
  const gate = r.calls.find((c) => c.id === "decode:layers.0.mlp.gate_proj");
  assert.match(gate?.reason ?? "", /^the runtime will not shard this model: MLP intermediate 1029 does not split over TP 8 \(ColumnLinear holds 128 rows per rank, torch.chunk hands it 129/);
  assert.match(gate?.source ?? "", /tensorrt_llm\/layers\/linear\.py/);
  assert.match(renderScanText(r), /refused \(2 layers\): MLP intermediate 1029 does not split over TP 8/);
});

test("PaLU ranks differ per GPU: the report shows the GPU with the most collapsed calls and lists every GPU's count", () => {
  // 4 kv heads, one group each: GPU 0 and 1 get aligned ranks (128, 96), GPU 2 and 3 irregular ones.
  const spec = craftSpec({
    heads: 8,
    kvHeads: 4,
    headDim: 64,
    hidden: 512,
    intermediate: 1024,
    family: "palu",
    linears: (i) => ({ k: grouped(`model.layers.${i}.self_attn.k_proj`, 512, 64, [128, 96, 117, 125]) }),
  });
  const r = buildScanReport(spec, { runtime: "vllm", tp: 4 });
  const byRank = r.tensor_parallel?.collapsed_calls_by_rank ?? [];
  assert.equal(byRank.length, 4);
  assert.deepEqual([byRank[0], byRank[1]], [0, 0]);
  assert.ok(byRank[2] > 0 && byRank[3] > 0);
  assert.ok(r.tensor_parallel?.rank === 2 || r.tensor_parallel?.rank === 3);
  assert.equal(r.summary.collapsed_calls, Math.max(...byRank));
  assert.match(renderScanText(r), new RegExp(`collapsed calls by rank: ${byRank.join(", ")}`));
});
