/** Crafted inputs shaped like the bench store, `gac scan --json` and gac-repair.json, with seed-like numbers. */
import type { BenchRecord, BenchRun, ReportInputs, ScanDoc } from "../../src/report/index.js";

const A100 = "NVIDIA A100-SXM4-80GB";
const H100 = "NVIDIA H100 80GB HBM3";

export function runJson(gpu: string, runId: string): string {
  return JSON.stringify({
    run_id: runId,
    created: "2026-01-19T22:48:05Z",
    command: "gac bench S1 S2",
    git_commit: "0123456789abcdef",
    capability: { gpu: { name: gpu, sm_count: 108, l2_bytes: 41943040, memory_bytes: 85899345920, compute_capability: [8, 0] }, driver: "550.54.15", torch: "2.5.1", cuda: "12.4", cudnn: "90100" },
  });
}

function rec(suite: string, params: BenchRecord["params"], median: number | null, gpu: string, extra?: BenchRecord["extra"], error?: BenchRecord["error"]): BenchRecord {
  const r: BenchRecord = { suite, case: `${suite}/${JSON.stringify(params)}`, params, gpu, gpu_index: 0, time: "2026-01-19T23:00:00Z" };
  if (median !== null) r.stats = { median_ms: median, p10_ms: median * 0.97, p90_ms: median * 1.04, n: 57, mean_ms: median, rel_ci: 0.004 };
  if (extra) r.extra = extra;
  if (error) r.error = error;
  return r;
}

/** S1 staircase: 8-aligned plateau ~1.1-1.6 ms, misaligned ~2.2 ms (seeds' Fig. 2 shape). */
export function s1Latency(d: number, scale = 1): number {
  const base = 0.8 + (d - 64) * 0.008;
  return scale * (d % 8 === 0 ? base : base * 1.45 + 0.1);
}

export function benchRecords(gpu: string, scale = 1): BenchRecord[] {
  const out: BenchRecord[] = [];
  for (let d = 64; d <= 160; d += 1)
    for (const causal of [false, true])
      out.push(rec("S1", { op: "sdpa", head_dim: d, dtype: "fp16", causal, backend: "AUTO", batch: 4, heads: 32, seq: 2048 }, s1Latency(d, scale) * (causal ? 0.6 : 1), gpu));
  for (const d of [96, 104, 107, 112, 120, 128]) {
    for (const backend of ["AUTO", "FLASH", "MEM_EFFICIENT", "MATH", "CUDNN"]) {
      const refused = (backend === "MEM_EFFICIENT" && d % 8 !== 0) || (backend === "CUDNN" && d % 8 !== 0);
      const ms = backend === "MATH" ? 26 + d * 0.01 : backend === "MEM_EFFICIENT" ? 2.4 + d * 0.002 : s1Latency(d, scale);
      out.push(
        rec(
          "S2",
          { op: "sdpa", head_dim: d, dtype: "fp16", causal: false, backend, batch: 4, heads: 32, seq: 2048 },
          refused ? null : ms,
          gpu,
          undefined,
          refused ? { type: "backend_refused", message: `${backend} requires head_dim % 8 == 0 (got ${d})` } : undefined,
        ),
      );
    }
  }
  for (let k = 96; k <= 136; k++) {
    const tf = k % 16 === 0 ? 91 : k % 8 === 0 ? 77 : 39;
    out.push(rec("G3", { op: "gemm", m: 8192, n: 8192, k, dtype: "fp16" }, ((2 * 8192 * 8192 * k) / (tf * 1e12)) * 1e3, gpu));
  }
  out.push(rec("P1", { op: "sdpa", head_dim: 107, dtype: "fp16" }, 2.192, gpu, { max_abs_diff: 0 }));
  out.push(rec("P1", { op: "sdpa", head_dim: 107, dtype: "fp16", pad_to: 112 }, 1.523, gpu, { max_abs_diff: 0.00048828125 }));
  out.push(rec("P1", { op: "sdpa", head_dim: 107, dtype: "fp16", pad_to: 128 }, 1.445, gpu, { max_abs_diff: 0.0009765625 }));
  for (const [mode, ms] of [
    ["per_group_raw", 3.1],
    ["per_group_padded", 2.4],
    ["single_padded", 2.0],
  ] as const)
    out.push(rec("HET1", { op: "sdpa_hetero", mode, dtype: "fp16", heads: 32 }, ms, gpu));
  for (const d of [96, 104, 107, 112, 114, 120, 128]) out.push(rec("decode", { op: "sdpa", head_dim: d, dtype: "fp16", q_len: 1, kv_len: 4096, batch: 8 }, 0.05 * (d % 8 === 0 ? 1 : 1.3), gpu));
  out.push(rec("C99", { op: "mystery" }, 1, gpu));
  return out;
}

export function run(gpu: string, runId: string, scale = 1): BenchRun {
  return {
    runId,
    dir: `/results/${runId}`,
    env: { gpu, driver: "550.54.15", torch: "2.5.1", cuda: "12.4", cudnn: "90100", commit: "0123456789abcdef", date: "2026-01-19T22:48:05Z" },
    records: benchRecords(gpu, scale),
  };
}

export function scanDoc(withPredictions: boolean): ScanDoc {
  const ranks = [114, 116, 117, 118, 120, 121, 122, 123, 124, 125];
  const dims = Array.from({ length: 64 }, (_, i) => ({
    id: `layers.${i >> 1}.self_attn.${i % 2 ? "v" : "k"}_proj.rank`,
    role: "kv_rank",
    value: ranks[(i * 7) % ranks.length],
    aligned8: false,
    aligned16: false,
  }));
  dims.push(...Array.from({ length: 32 }, (_, i) => ({ id: `layers.${i}.mlp.intermediate`, role: "intermediate", value: i % 4 === 0 ? 8806 : 11008, aligned8: false, aligned16: false })));
  const calls = [
    {
      id: "layers.0.attn.prefill",
      kind: "attention",
      phase: "prefill",
      shape: { batch: 1, heads: 32, head_dim: 117 },
      verdict: "slow",
      kernel: "FA2 (padded 117->128)",
      reason: "head_dim 117 is not a multiple of 8",
      source: "sdp_utils.cpp",
      predicted_ms: withPredictions ? 0.5 : null,
    },
    {
      id: "layers.1.attn.prefill",
      kind: "attention",
      phase: "prefill",
      shape: { batch: 1, heads: 32, head_dim: 117 },
      verdict: "slow",
      kernel: "FA2 (padded 117->128)",
      reason: "head_dim 117 is not a multiple of 8",
      source: "sdp_utils.cpp",
      predicted_ms: withPredictions ? 0.5 : null,
    },
    {
      id: "layers.0.mlp.down",
      kind: "gemm",
      phase: "prefill",
      shape: [2048, 4096, 8806],
      verdict: "slow",
      kernel: "cuBLAS align2",
      reason: "K | 8806 breaks 16-byte alignment",
      source: "cublasLt",
      predicted_ms: null,
    },
    {
      id: "layers.0.cudnn",
      kind: "attention",
      phase: "decode",
      shape: { head_dim: 117 },
      verdict: "refused",
      kernel: "cuDNN SDPA",
      reason: "cuDNN needs head_dim % 8 == 0 | got 117",
      source: "sdp_utils.cpp",
    },
    { id: "layers.0.q_proj", kind: "gemm", phase: "prefill", shape: [2048, 4096, 4096], verdict: "fast", kernel: "cuBLAS", reason: "", source: "" },
  ];
  return {
    file: "scan.json",
    model: { family: "palu", name: "llama3-8b-palu-r0.8", layers: 32 },
    dims,
    calls,
    strategies: {
      MINIMAL: { param_overhead_pct: 3.7, dims_changed: 90, predicted_ms: withPredictions ? 80 : null },
      OPTIMAL: { param_overhead_pct: 7.2, dims_changed: 96, predicted_ms: withPredictions ? 76 : null },
      PREDEFINED: { param_overhead_pct: 9.9, dims_changed: 96, predicted_ms: withPredictions ? 75.5 : null },
      TRADEOFF: { param_overhead_pct: 4.1, dims_changed: 92, predicted_ms: withPredictions ? 78 : null },
    },
    baselineMs: withPredictions ? 100 : null,
    gpu: "H100",
    runtime: "torch-2.5-sdpa",
  };
}

export function sampleInputs(): ReportInputs {
  return {
    runs: [run(A100, "2026-01-19-a100"), run(H100, "2026-01-20-h100", 0.55)],
    scans: [scanDoc(true)],
    repairs: [
      { file: "gac-repair.json", strategy: "MINIMAL", changes: [{ id: "layers.0.self_attn.k_proj.rank", from: 117, to: 120 }], paramOverheadPct: 3.7, predictedSpeedupPct: 25, measuredSpeedupPct: 22 },
    ],
    notes: [],
  };
}

export { A100, H100 };

/** The committed GPU run and the seeds' published A100 numbers, read (never written) by the real-data tests. */
export const COMMITTED_RUN = "results/20261121T051256Z-all";
/** A `gac bench model` run on the H200 (PaLU Llama-3-8B: every strategy, with its scan). */
export const COMMITTED_MODEL_RUN = "results/20261121T055600Z-model-palu-llama3-8b";
export const COMMITTED_INPUTS = [COMMITTED_RUN, COMMITTED_MODEL_RUN, "profiles/a100-published.json"];
/** The committed end-to-end H200 sweep (raw worker output with its job lines). */
export const COMMITTED_E2E_RUN = "results/20261202T143905Z-e2e";

/** The committed accuracy runs (bundled model; real-size random weights) and the compression study, read by their schema tags. */
export const COMMITTED_ACCURACY_INPUTS = ["results/20261202T032508Z-accuracy-small", "results/20261202T034930Z-accuracy-real", "results/20261201-compress-study"];
