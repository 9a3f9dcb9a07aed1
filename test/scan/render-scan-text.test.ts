import { test } from "node:test";
import assert from "node:assert/strict";
import { renderScanText } from "../../src/scan/render-scan-text.js";
import { SCAN_SCHEMA, type ScanCall, type ScanReport, type ScanStrategy } from "../../src/scan/types.js";

function attention(layer: number, phase: "prefill" | "decode", kvLen = phase === "prefill" ? 2048 : 4096): ScanCall {
  return {
    id: `${phase}:layers.${layer}.self_attn.attention`,
    kind: "attention",
    phase,
    layer,
    role: `layers.${layer}.self_attn.attention`,
    dtype: "BF16",
    shape: { batch: 1, q_len: phase === "prefill" ? 2048 : 1, kv_len: kvLen, heads: 32, kv_heads: 8, head_dim_qk: 100, head_dim_v: 100 },
    verdict: "slow",
    kernel: "FA2 (padded 100->104, hdim128 template)",
    reason: "cuDNN and mem-efficient refuse (head_dim 100 is not a multiple of 8); flash pads q/k/v to 104",
    source: "sdp_utils.cpp",
    predicted_ms: null,
  };
}

const strategy = (dims: number, pct: number, bytes: number, refusals: ScanStrategy["refusals"] = []): ScanStrategy => ({
  param_overhead_pct: pct,
  params_added: bytes / 2,
  bytes_added: bytes,
  dims_changed: dims,
  refusals,
  predicted_ms: null,
  predicted_calls: 0,
  predicted_speedup_pct: null,
  dynamic_costs: [],
  dynamic_costs_introduced: [],
});

const report: ScanReport = {
  schema: SCAN_SCHEMA,
  gac_version: "0.1.0",
  runtime: "pytorch-sdpa",
  gpu: { id: "sm90", name: "h100 (sm90)" },
  workload: { prefill_batch: 1, prefill_len: 2048, decode_batch: 1, kv_len: 4096 },
  model: {
    family: "dense",
    model_type: "llama",
    layers: 4,
    hidden_size: 4096,
    num_heads: 32,
    num_kv_heads: 8,
    head_dim: 100,
    vocab_size: 128256,
    dtype: "BF16",
    serving_dtype: "BF16",
    heterogeneous: true,
    config_disagreements: ["layers.3: intermediate size 8806 in gate_proj rows but config intermediate_size is 14336"],
    notes: [],
  },
  dims: [
    ...[0, 1, 2, 3].map((i) => ({ id: `layers.${i}.self_attn.head_dim`, role: `layers.${i}.self_attn`, name: "head_dim" as const, value: 100, aligned8: false, aligned16: false })),
    ...[0, 1, 2].map((i) => ({ id: `layers.${i}.mlp.intermediate`, role: `layers.${i}.mlp`, name: "intermediate" as const, value: 14336, aligned8: true, aligned16: true })),
    { id: "layers.3.mlp.intermediate", role: "layers.3.mlp", name: "intermediate", value: 8806, aligned8: false, aligned16: false },
    { id: "hidden_size", role: "model", name: "hidden", value: 4096, aligned8: true, aligned16: true },
    { id: "vocab_size", role: "model", name: "vocab", value: 128256, aligned8: true, aligned16: true },
  ],
  calls: [
    attention(0, "prefill"),
    attention(1, "prefill"),
    attention(2, "prefill"),
    attention(3, "prefill"),
    attention(0, "decode"),
    {
      id: "prefill:layers.3.mlp.down_proj",
      kind: "gemm",
      phase: "prefill",
      layer: 3,
      role: "layers.3.mlp.down_proj",
      dtype: "BF16",
      shape: { m: 2048, n: 4096, k: 8806 },
      verdict: "slow",
      kernel: "cuBLASLt sm90 kernel without 16-byte vector loads",
      reason: "K=8806 is not a multiple of 8 BF16 elements (16 bytes)",
      source: "cuBLAS docs",
      predicted_ms: null,
    },
    {
      id: "prefill:lm_head",
      kind: "gemm",
      phase: "prefill",
      layer: -1,
      role: "lm_head",
      dtype: "BF16",
      shape: { m: 1, n: 128256, k: 4096 },
      verdict: "fast",
      kernel: "cuBLASLt sm90 tensor-core GEMM",
      reason: "",
      source: "cuBLAS docs",
      predicted_ms: null,
    },
  ],
  strategies: {
    MINIMAL: strategy(5, 0.123, 2_097_152),
    OPTIMAL: strategy(5, 0.5, 8_388_608),
    PREDEFINED: strategy(5, 1.25, 20_971_520),
    TRADEOFF: strategy(4, 0.4, 6_291_456, [{ id: "hidden_size", value: 4096, reason: "hidden size padding changes RMSNorm's mean; not done" }]),
  },
  summary: {
    irregular_dims: 5,
    unique_irregular_values: [100, 8806],
    share_aligned8: 0.5,
    share_aligned16: 0.5,
    collapsed_calls: 6,
    by_family: {
      head_dim: { count: 4, unique_values: [100], share_aligned8: 0, share_aligned16: 0 },
      rank: { count: 0, unique_values: [], share_aligned8: null, share_aligned16: null },
      intermediate: { count: 4, unique_values: [8806, 14336], share_aligned8: 0.75, share_aligned16: 0.75 },
    },
    applicability: { attention_sees_irregular: true, verdict: "repair-helps-attention", explanation: "the attention kernel itself sees head_dim 100" },
    predicted_ms: null,
    predicted_calls: 0,
  },
  profile: null,
  dynamic_costs: [],
};

const EXPECTED = `Model: dense (llama), 4 layers, hidden 4096, heads 32/8, head_dim 100, vocab 128256, BF16, heterogeneous layers
Runtime: pytorch-sdpa on h100 (sm90); prefill 1x2048, decode 1 at kv 4096; gac 0.1.0
Profile: no measured profile for h100 (sm90); run \`gac bench\` and \`gac profile\` on it, or pass --profile <file>

Dimensions (5 not a multiple of 8; aligned to 8: 50.0%, to 16: 50.0%)
  family        dims  values       aligned8  aligned16  irregular values (count)
  ------------  ----  -----------  --------  ---------  ------------------------
  head_dim         4  100              0.0%       0.0%  100 (x4)
  rank             0  -                   -          -  -
  intermediate     4  8806, 14336     75.0%      75.0%  8806 (x1)

Collapsed calls: 6 of 7 (3 distinct)
  [slow] 4x attention prefill batch=1 q=2048 kv=2048 heads=32/8 head_dim=100
      kernel: FA2 (padded 100->104, hdim128 template)
      why:    cuDNN and mem-efficient refuse (head_dim 100 is not a multiple of 8); flash pads q/k/v to 104
      e.g.    prefill:layers.0.self_attn.attention, prefill:layers.1.self_attn.attention, prefill:layers.2.self_attn.attention, ... (+1)
  [slow] 1x attention decode batch=1 q=1 kv=4096 heads=32/8 head_dim=100
      kernel: FA2 (padded 100->104, hdim128 template)
      why:    cuDNN and mem-efficient refuse (head_dim 100 is not a multiple of 8); flash pads q/k/v to 104
      e.g.    decode:layers.0.self_attn.attention
  [slow] 1x gemm prefill m=2048 n=4096 k=8806
      kernel: cuBLASLt sm90 kernel without 16-byte vector loads
      why:    K=8806 is not a multiple of 8 BF16 elements (16 bytes)
      e.g.    prefill:layers.3.mlp.down_proj

Repair strategies
  strategy    dims changed  param overhead  bytes added  refusals
  ----------  ------------  --------------  -----------  --------
  MINIMAL                5           0.12%      2.0 MiB         0
  OPTIMAL                5           0.50%      8.0 MiB         0
  PREDEFINED             5           1.25%     20.0 MiB         0
  TRADEOFF               4           0.40%      6.0 MiB         1
  refused: hidden size padding changes RMSNorm's mean; not done

Applicability: repair-helps-attention
  the attention kernel itself sees head_dim 100

config.json disagrees with the tensor shapes (shapes win):
  - layers.3: intermediate size 8806 in gate_proj rows but config intermediate_size is 14336
`;

test("renders a scan report in the pinned layout: families, grouped collapsed calls, strategies, verdict", () => {
  assert.equal(renderScanText(report), EXPECTED);
});

test("groups identical collapsed calls and counts the groups it does not print", () => {
  const many: ScanReport = {
    ...report,
    calls: Array.from({ length: 25 }, (_, i) => attention(i, "prefill", 100 + i)),
  };
  const text = renderScanText(many);
  assert.match(text, /Collapsed calls: 6 of 25 \(25 distinct\)/);
  assert.equal(text.match(/^ {2}\[slow\]/gm)?.length, 20);
  assert.match(text, /\.\.\. 5 more groups \(--json lists every call\)/);
});

/** The same report with an H200 profile: every call predicted except lm_head, strategies with their times. */
const profiled: ScanReport = {
  ...report,
  model: { ...report.model, dtype: "F32", serving_dtype: "F16" },
  calls: report.calls.map((c) => ({ ...c, predicted_ms: c.id === "prefill:lm_head" ? null : c.kind === "gemm" ? 1.25 : c.phase === "prefill" ? 2.5 : 0.0457 })),
  strategies: {
    MINIMAL: { ...report.strategies.MINIMAL, predicted_ms: 9.5, predicted_calls: 6, predicted_speedup_pct: 19.0 },
    OPTIMAL: { ...report.strategies.OPTIMAL, predicted_ms: 9.25, predicted_calls: 6, predicted_speedup_pct: 22.2 },
    PREDEFINED: { ...report.strategies.PREDEFINED, predicted_ms: 11.5, predicted_calls: 6, predicted_speedup_pct: -1.6 },
    TRADEOFF: { ...report.strategies.TRADEOFF, predicted_ms: 11.3, predicted_calls: 6, predicted_speedup_pct: 0.01 },
  },
  summary: { ...report.summary, predicted_ms: 11.2957, predicted_calls: 6 },
  profile: {
    path: "/opt/gac/profiles/nvidia-h200.json",
    gpu: "NVIDIA H200",
    source: "measured",
    runs: ["20261121T051256Z-all"],
    created: "2026-11-21T05:16:29.511Z",
    notes: ["1 of 7 calls predict under 5 µs, below a kernel launch"],
  },
};

const EXPECTED_PROFILED_HEAD = `Model: dense (llama), 4 layers, hidden 4096, heads 32/8, head_dim 100, vocab 128256, F32 (judged and predicted as F16 serving), heterogeneous layers
Runtime: pytorch-sdpa on h100 (sm90); prefill 1x2048, decode 1 at kv 4096; gac 0.1.0
Profile: measured on NVIDIA H200 (run 20261121T051256Z-all); /opt/gac/profiles/nvidia-h200.json
  note: 1 of 7 calls predict under 5 µs, below a kernel launch
`;

const EXPECTED_PROFILED_CALLS = `Collapsed calls: 6 of 7 (3 distinct)
Predicted: 11.296 ms per forward pass unrepaired (prefill 11.250 ms + one decode step 0.0457 ms; 6 of 7 calls), 11.296 ms of it in collapsed calls
  [slow] 4x attention prefill batch=1 q=2048 kv=2048 heads=32/8 head_dim=100
      kernel: FA2 (padded 100->104, hdim128 template)
      why:    cuDNN and mem-efficient refuse (head_dim 100 is not a multiple of 8); flash pads q/k/v to 104
      time:   2.500 ms each, 10.000 ms for 4 (predicted)
      e.g.    prefill:layers.0.self_attn.attention, prefill:layers.1.self_attn.attention, prefill:layers.2.self_attn.attention, ... (+1)
  [slow] 1x attention decode batch=1 q=1 kv=4096 heads=32/8 head_dim=100
      kernel: FA2 (padded 100->104, hdim128 template)
      why:    cuDNN and mem-efficient refuse (head_dim 100 is not a multiple of 8); flash pads q/k/v to 104
      time:   0.0457 ms (predicted)
      e.g.    decode:layers.0.self_attn.attention
  [slow] 1x gemm prefill m=2048 n=4096 k=8806
      kernel: cuBLASLt sm90 kernel without 16-byte vector loads
      why:    K=8806 is not a multiple of 8 BF16 elements (16 bytes)
      time:   1.250 ms (predicted)
      e.g.    prefill:layers.3.mlp.down_proj

Repair strategies
  strategy    dims changed  param overhead  bytes added  refusals  predicted ms  speedup
  ----------  ------------  --------------  -----------  --------  ------------  -------
  unrepaired             -               -            -         -        11.296
  MINIMAL                5           0.12%      2.0 MiB         0         9.500   +19.0%
  OPTIMAL                5           0.50%      8.0 MiB         0         9.250   +22.2%
  PREDEFINED             5           1.25%     20.0 MiB         0        11.500    -1.6%
  TRADEOFF               4           0.40%      6.0 MiB         1        11.300     0.0%
  predicted over the 6 of 7 calls the profile has tables for; speedup against the unrepaired time of the same calls
  refused: hidden size padding changes RMSNorm's mean; not done
`;

test("with a profile: names it, prints each collapsed group's time per call and for the group, the unrepaired total, and each strategy's time and speedup", () => {
  const text = renderScanText(profiled);
  assert.ok(text.startsWith(EXPECTED_PROFILED_HEAD), text);
  assert.ok(text.includes(EXPECTED_PROFILED_CALLS), text);
});

test("a published profile is marked as such, and times below 1 µs print as a bound", () => {
  const published: ScanReport = {
    ...profiled,
    calls: profiled.calls.map((c) => (c.phase === "decode" ? { ...c, predicted_ms: 2.5e-7 } : c)),
    profile: { path: "profiles/a100-published.json", gpu: "NVIDIA A100-80GB", source: "published", runs: ["S1/a", "S2/b", "C21/c"], created: "2026-01-31T00:00:00.000Z", notes: [] },
  };
  const text = renderScanText(published);
  assert.match(text, /^Profile: published numbers for NVIDIA A100-80GB, not measured by gac \(tables S1\/a, S2\/b, \+1 more\); profiles\/a100-published\.json\n\nDimensions/m);
  assert.match(text, /\n {6}time: {3}<0\.001 ms \(predicted\)\n {6}e\.g\. {4}decode:layers\.0/);
  assert.doesNotMatch(renderScanText(report), /predicted ms|\n {6}time:|^Predicted:/m);
});
