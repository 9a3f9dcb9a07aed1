import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { openCheckpoint } from "../../src/checkpoint/open.js";
import { generateFixture } from "../../src/fixtures/index.js";
import { buildKernelGraph } from "../../src/graph/build-kernel-graph.js";
import { loadModelSpec } from "../../src/model/load-model-spec.js";
import { buildModelBench, jobKey, parseStrategies } from "../../src/bench/model-suite.js";
import { GacError } from "../../src/errors.js";
import { scratchDir } from "./helpers.js";
import { craftSpec } from "../plan/specs.js";

async function fixtureSpec(kind: "llama-direct-svd" | "palu", dtype: "F32" | "BF16" = "F32") {
  const dir = join(await scratchDir("model-suite"), kind);
  await generateFixture(kind, dir, { dtype });
  return loadModelSpec(await openCheckpoint(dir));
}

const headDims = (cases: ReturnType<typeof buildModelBench>["cases"], variant: string) => [
  ...new Set(cases.filter((c) => c.params.variant === variant && c.job.op === "sdpa").map((c) => c.params.head_dim)),
];

test("direct-SVD's head_dim 52 is benched as is unrepaired and as 56 under MINIMAL, as GQA-native causal prefill and decode", async () => {
  const bench = buildModelBench(await fixtureSpec("llama-direct-svd"), { name: "dsvd", strategies: ["MINIMAL"] });
  assert.deepEqual(headDims(bench.cases, "unrepaired"), [52]);
  assert.deepEqual(headDims(bench.cases, "MINIMAL"), [56]);
  const prefill = bench.cases.find((c) => c.job.op === "sdpa" && c.params.variant === "MINIMAL" && c.params.phase === "prefill");
  assert.deepEqual(prefill?.job.params, { batch: 1, heads: 4, kv_heads: 2, q_len: 2048, kv_len: 2048, head_dim: 56, dtype: "fp16", causal: true, backend: "AUTO", gqa: "native" });
  const decode = bench.cases.find((c) => c.job.op === "sdpa" && c.params.variant === "unrepaired" && c.params.phase === "decode");
  assert.equal(decode?.job.params.q_len, 1);
  assert.equal(decode?.job.params.kv_len, 4096);
  assert.equal(decode?.job.params.causal, false);
  // q_proj of 4 heads x 52 = 208 rows, padded to 4 x 56 = 224; k/v of 2 heads: 104 -> 112.
  const linearNs = (variant: string) => bench.cases.filter((c) => c.job.op === "linear" && c.params.variant === variant && c.params.phase === "prefill").map((c) => c.params.n);
  assert.ok(linearNs("unrepaired").includes(208) && linearNs("unrepaired").includes(104));
  assert.ok(linearNs("MINIMAL").includes(224) && linearNs("MINIMAL").includes(112));
});

test("each variant's counts add up to the kernel graph's call count, and no shape is listed twice in a variant and phase", async () => {
  const spec = await fixtureSpec("palu");
  const bench = buildModelBench(spec, { name: "palu" });
  const calls = buildKernelGraph(spec).length;
  assert.deepEqual(
    bench.variants.map((v) => v.variant),
    ["unrepaired", "MINIMAL", "OPTIMAL", "PREDEFINED", "TRADEOFF"],
  );
  for (const v of bench.variants.filter((x) => x.sameAs === undefined)) {
    const mine = bench.cases.filter((c) => c.params.variant === v.variant);
    assert.equal(
      mine.reduce((s, c) => s + Number(c.params.count), 0),
      calls,
      v.variant,
    );
    assert.ok(mine.every((c) => c.params.variant_calls === calls));
    const keys = mine.map((c) => `${String(c.params.phase)} ${jobKey(c.params)}`);
    assert.equal(new Set(keys).size, keys.length, v.variant);
    assert.ok(mine.length < calls, "identical layers collapse into one case");
  }
  assert.equal(new Set(bench.cases.map((c) => c.case)).size, bench.cases.length, "case ids are unique");
  // gate and up of the fixture's two layers share one shape: one case standing for 4 calls.
  const up = bench.cases.find((c) => c.params.variant === "unrepaired" && c.params.phase === "prefill" && c.params.n === 768);
  assert.equal(up?.params.count, 4);
});

test("GEMMs run as linear at the serving dtype: fp16 for an F32 checkpoint, bf16 for a BF16 one", async () => {
  const f32 = buildModelBench(await fixtureSpec("llama-direct-svd", "F32"), { name: "a", strategies: [] });
  const bf16 = buildModelBench(await fixtureSpec("llama-direct-svd", "BF16"), { name: "b", strategies: [] });
  assert.equal(f32.dtype, "fp16");
  assert.ok(f32.cases.every((c) => c.job.params.dtype === "fp16"));
  assert.ok(bf16.cases.every((c) => c.job.params.dtype === "bf16"));
  assert.ok(f32.cases.every((c) => (c.job.op === "linear" && typeof c.job.params.k === "number") || (c.job.op === "sdpa" && c.job.params.backend === "AUTO")));
});

test("case ids are stable and name model, variant, phase and count", async () => {
  const spec = await fixtureSpec("llama-direct-svd");
  const a = buildModelBench(spec, { name: "dsvd", strategies: ["MINIMAL"] });
  const b = buildModelBench(spec, { name: "dsvd", strategies: ["MINIMAL", "OPTIMAL"] });
  assert.deepEqual(
    a.cases.map((c) => c.case),
    b.cases.filter((c) => c.params.variant !== "OPTIMAL").map((c) => c.case),
  );
  assert.ok(a.cases.some((c) => c.case === "model/count=2/dtype=fp16/k=256/m=2048/model=dsvd/n=208/phase=prefill/variant=unrepaired/variant_calls=34"));
});

test("strategy lists and model names are checked", async () => {
  const spec = await fixtureSpec("llama-direct-svd");
  assert.deepEqual(parseStrategies("minimal, OPTIMAL,minimal"), ["MINIMAL", "OPTIMAL"]);
  assert.equal(parseStrategies("all").length, 4);
  assert.throws(
    () => parseStrategies("FAST"),
    (e: unknown) => e instanceof GacError && /'FAST' is not a strategy/.test(e.message),
  );
  assert.throws(
    () => buildModelBench(spec, { name: "a/b" }),
    (e: unknown) => e instanceof GacError && /model name 'a\/b'/.test(e.message),
  );
});

test("a strategy with exactly an earlier variant's calls is not measured again: PaLU's PREDEFINED pads like OPTIMAL", async () => {
  const bench = buildModelBench(await fixtureSpec("palu"), { name: "palu" });
  const predefined = bench.variants.find((v) => v.variant === "PREDEFINED");
  assert.equal(predefined?.sameAs, "OPTIMAL");
  assert.equal(predefined?.cases, 0);
  assert.ok(!bench.cases.some((c) => c.params.variant === "PREDEFINED"));
  assert.ok(bench.variants.filter((v) => v.variant !== "PREDEFINED").every((v) => v.sameAs === undefined && v.cases > 0));
});

test("with --tp 8 the suite times one GPU's shard: a 11472-wide MLP is benched at 1434 channels unrepaired and 1440 after the TP-aware MINIMAL", () => {
  const spec = craftSpec({ heads: 32, kvHeads: 8, headDim: 128, hidden: 4096, intermediate: 11472, vocab: 128256 });
  const gateNs = (bench: ReturnType<typeof buildModelBench>, variant: string) =>
    bench.cases.filter((c) => c.job.op === "linear" && c.params.variant === variant && c.params.k === 4096).map((c) => c.params.n);
  const tp8 = buildModelBench(spec, { name: "pm", strategies: ["MINIMAL"], runtime: "vllm", tp: 8 });
  assert.ok(gateNs(tp8, "unrepaired").includes(1434) && !gateNs(tp8, "unrepaired").includes(11472));
  assert.ok(gateNs(tp8, "MINIMAL").includes(1440));
  assert.ok(tp8.cases.every((c) => c.params.tp === 8 && c.params.tp_rank === 0));
  // q_proj of 4 heads x 128 on each GPU; the shard params do not change which kernel a job times.
  assert.ok(gateNs(tp8, "unrepaired").includes(512));
  const whole = buildModelBench(spec, { name: "pm", strategies: ["MINIMAL"], runtime: "vllm" });
  assert.ok(
    whole.cases.every((c) => !("tp" in c.params)),
    "TP 1 case ids stay those of earlier runs",
  );
  assert.equal(whole.variants[1].sameAs, "unrepaired", "11472 is aligned for one GPU");
  const q = tp8.cases.find((c) => c.job.op === "linear" && c.params.n === 512 && c.params.k === 4096 && c.params.phase === "decode");
  assert.ok(q);
  const { tp: _t, tp_rank: _r, ...rest } = q.params;
  assert.equal(jobKey(q.params), jobKey(rest));
});
