import { after, test } from "node:test";
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { cudnnSdpaReplan } from "../../src/contract/rules/shape-dynamics.js";
import { dynamicCosts, introducedDynamicCosts } from "../../src/contract/dynamic-costs.js";
import { generateFixture } from "../../src/fixtures/index.js";
import { scanCheckpoint } from "../../src/scan/scan-checkpoint.js";
import { renderScanText } from "../../src/scan/render-scan-text.js";
import { runCli } from "../../src/cli/main.js";
import { captureIO } from "../helpers/capture-io.js";
import { scratchDir } from "../bench/helpers.js";
import { attention, decode } from "./calls.js";

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

test("cuDNN re-plans per KV length: decode with a growing cache at a cuDNN-eligible head_dim on sm90 pays it", () => {
  const cost = cudnnSdpaReplan.applies(decode(112), "pytorch-sdpa", "sm90", "kv-grows-per-step");
  assert.ok(cost);
  assert.match(cost.trigger, /head_dim 112.*runs cuDNN SDPA on sm90/);
  assert.ok(cost.fixes.some((f) => f.startsWith("torch.backends.cuda.enable_cudnn_sdp(False)")));
  assert.ok(cost.fixes.some((f) => /static KV cache/.test(f)));
  assert.ok(cost.fixes.some((f) => /CUDA-graph decode engine/.test(f)));
  assert.ok(cost.sources.some((s) => /MHA\.cpp MHAParams/.test(s)));
  assert.ok(cost.sources.some((s) => /PR #155958/.test(s)) && cost.sources.some((s) => /mlx PR #2743/.test(s)) && cost.sources.some((s) => /sglang PR #4650/.test(s)));
});

test("no re-plan cost where cuDNN does not run or the KV length is fixed: head_dim 106, prefill, a static cache, sm80, other runtimes", () => {
  assert.equal(cudnnSdpaReplan.applies(decode(106), "pytorch-sdpa", "sm90", "kv-grows-per-step"), null, "106 is not a multiple of 8: flash, not cuDNN");
  assert.equal(cudnnSdpaReplan.applies(attention(112), "pytorch-sdpa", "sm90", "kv-grows-per-step"), null, "prefill");
  assert.equal(cudnnSdpaReplan.applies(decode(112), "pytorch-sdpa", "sm90", "fixed"), null, "static cache / graph");
  assert.equal(cudnnSdpaReplan.applies(decode(112), "pytorch-sdpa", "sm80", "kv-grows-per-step"), null, "flash first on sm80");
  assert.equal(cudnnSdpaReplan.applies(decode(112), "vllm", "sm90", "kv-grows-per-step"), null);
  assert.equal(cudnnSdpaReplan.applies(decode(112, { dtype: "F32" }), "pytorch-sdpa", "sm90", "kv-grows-per-step"), null, "cuDNN takes 16-bit only");
});

test("dynamicCosts groups the calls per rule and phase; a repair from 106 to 112 introduces the cost", () => {
  const layers = [0, 1, 2].map((l) => decode(128, { id: `decode:${l}`, layer: l }));
  const [f] = dynamicCosts(layers, "pytorch-sdpa", "sm90");
  assert.equal(f.calls, 3);
  assert.equal(f.first_call, "decode:0");
  assert.equal(dynamicCosts(layers, "pytorch-sdpa", "sm90", "fixed").length, 0);
  const introduced = introducedDynamicCosts([decode(106)], [decode(112)], "pytorch-sdpa", "sm90");
  assert.deepEqual(
    introduced.map((c) => c.rule),
    ["cudnn-sdpa-replan-per-kv-length"],
  );
  assert.equal(introducedDynamicCosts([decode(128)], [decode(128)], "pytorch-sdpa", "sm90").length, 0);
});

test("gac scan --json flags the re-plan for an aligned model's decode and as introduced by repairing an irregular head_dim; the text says what fixes it", async () => {
  const root = await scratchDir("dyn-scan");
  dirs.push(root);
  const aligned = await generateFixture("llama-aligned", join(root, "aligned"), { dtype: "BF16" });
  const dsvd = await generateFixture("llama-direct-svd", join(root, "dsvd"), { dtype: "BF16" });
  const a = await scanCheckpoint(aligned.dir, { gpu: "sm90", gacVersion: "test" });
  assert.deepEqual(
    a.dynamic_costs.map((d) => [d.rule, d.phase, d.calls]),
    [["cudnn-sdpa-replan-per-kv-length", "decode", 2]],
  );
  assert.deepEqual(a.strategies.MINIMAL.dynamic_costs_introduced, []);
  const d = await scanCheckpoint(dsvd.dir, { gpu: "sm90", gacVersion: "test" });
  assert.deepEqual(d.dynamic_costs, [], "head_dim 52 is not cuDNN-eligible");
  assert.deepEqual(d.strategies.MINIMAL.dynamic_costs_introduced, ["cudnn-sdpa-replan-per-kv-length"], "52 -> 56 makes decode take cuDNN");
  const text = renderScanText(d);
  assert.match(text, /Costs that depend on how shapes change between calls/);
  assert.match(text, /decode: cudnn-sdpa-replan-per-kv-length, after repair \(MINIMAL, OPTIMAL, PREDEFINED, TRADEOFF\): the repair introduces it/);
  assert.match(text, /fix: +torch\.backends\.cuda\.enable_cudnn_sdp\(False\)/);
  const a80 = await scanCheckpoint(aligned.dir, { gpu: "sm80", gacVersion: "test" });
  assert.deepEqual(a80.dynamic_costs, []);
});

test("gac plan warns that a head_dim repair makes stock-transformers decode pay the cuDNN re-plan, and --json lists it", async () => {
  const root = await scratchDir("dyn-plan");
  dirs.push(root);
  const dsvd = await generateFixture("llama-direct-svd", join(root, "dsvd"), { dtype: "BF16" });
  const io = captureIO(root);
  assert.equal(await runCli(["plan", dsvd.dir, "--strategy", "MINIMAL"], io), 0);
  assert.match(io.stdout, /Warning: after this repair, pytorch-sdpa on sm90 pays a cost that depends on how shapes change between calls/);
  assert.match(io.stdout, /fix: +a static KV cache/);
  const json = captureIO(root);
  await runCli(["plan", dsvd.dir, "--strategy", "MINIMAL", "--json"], json);
  assert.equal(JSON.parse(json.stdout).dynamic_costs_introduced[0].rule, "cudnn-sdpa-replan-per-kv-length");
  const mlp = await generateFixture("llama-pruned-mlp", join(root, "mlp"), { dtype: "BF16" });
  const quiet = captureIO(root);
  await runCli(["plan", mlp.dir, "--strategy", "MINIMAL"], quiet);
  assert.doesNotMatch(quiet.stdout, /Warning/);
});
