/**
 * The compression study's measured speed columns, from the worker's e2e result lines
 * (docs/e2e-protocol.md): per model label the prefill and decode points' median and spread, the
 * decode step's attention backend, and peak memory; and the caption that says what they measure.
 */
import { readFile } from "node:fs/promises";

/** One measured point's median and spread (the worker's stats over its timed samples). */
export interface Timing {
  median_ms: number;
  p10_ms: number;
  p90_ms: number;
  n: number;
}

export interface Speed {
  prefill: Timing | null;
  decode: Timing | null;
  /** The attention backend of the decode step, from the kernels the profiler saw (decodeBackend). */
  decode_attention: string | null;
  peak_mem_gb: number | null;
  params: number | null;
  config: string;
}

interface WorkerPoint {
  phase: "prefill" | "decode";
  batch: number;
  seq?: number;
  context?: number;
  stats: Timing;
  peak_mem_bytes?: number;
}

interface WorkerE2e {
  engine: string;
  config: string;
  cache: string;
  model: { label: string; params: number };
  points: WorkerPoint[];
  kernels?: { decode_attention?: string[] };
}

/**
 * The attention backend behind a decode step's kernel names: cuDNN's fused SDPA (`cudnn_generated_*`
 * and its `cudnn::fusion::lean_reduction_kernel`), PyTorch's flash (`pytorch_flash::*`), the
 * mem-efficient (`fmha_cutlass*`, `mem_efficient`) or the math path (a plain `softmax`); null when none was recorded.
 */
export function decodeBackend(kernels: readonly string[] | undefined): string | null {
  if (kernels === undefined || kernels.length === 0) return null;
  const has = (re: RegExp) => kernels.some((k) => re.test(k));
  if (has(/cudnn/i)) return "cuDNN";
  if (has(/flash/i)) return "flash";
  if (has(/fmha|mem_eff|efficient/i)) return "mem-efficient";
  if (has(/softmax/i)) return "math";
  return "other";
}

/**
 * Prefill (batch 1, longest seq) and decode (batch 1, longest context) median and spread per model
 * label, with the decode step's attention backend, in one engine configuration ("gac/eager/static"),
 * from the worker's result lines (docs/e2e-protocol.md).
 */
export async function readE2e(files: string[], engine: string): Promise<Map<string, Speed>> {
  const out = new Map<string, Speed>();
  for (const file of files) {
    for (const line of (await readFile(file, "utf8")).split("\n")) {
      if (!line.startsWith("{")) continue;
      const msg = JSON.parse(line) as { type?: string; op?: string; e2e?: WorkerE2e };
      const e = msg.e2e;
      if (msg.type !== "result" || msg.op !== "e2e" || e === undefined || `${e.engine}/${e.config}/${e.cache}` !== engine) continue;
      const longest = (phase: "prefill" | "decode") => e.points.filter((p) => p.phase === phase && p.batch === 1).sort((x, y) => (y.seq ?? y.context ?? 0) - (x.seq ?? x.context ?? 0))[0];
      const prefill = longest("prefill");
      const decode = longest("decode");
      const mem = Math.max(0, ...e.points.map((p) => p.peak_mem_bytes ?? 0));
      out.set(e.model.label, {
        prefill: prefill?.stats ?? null,
        decode: decode?.stats ?? null,
        decode_attention: decodeBackend(e.kernels?.decode_attention),
        peak_mem_gb: mem > 0 ? mem / 1e9 : null,
        params: e.model.params,
        config: engine,
      });
    }
  }
  return out;
}

export const spread = (t: Timing | null | undefined, digits: number) =>
  t === null || t === undefined ? "-" : `${t.median_ms.toFixed(digits)} (${t.p10_ms.toFixed(digits)}-${t.p90_ms.toFixed(digits)})`;
/**
 * What the measured columns can and cannot say, from the runs themselves: the spread's sample
 * counts, and which timed models decoded with which attention backend at what speed.
 */
export function speedCaption(speeds: ReadonlyMap<string, Speed>): string[] {
  if (speeds.size === 0) return [];
  const counts = (pick: (s: Speed) => Timing | null) => [...new Set([...speeds.values()].map((s) => pick(s)?.n).filter((n) => n !== undefined))].join("/");
  const byBackend = new Map<string, { label: string; ms: number }[]>();
  for (const [label, s] of speeds) {
    if (s.decode === null) continue;
    const backend = s.decode_attention ?? "not recorded";
    byBackend.set(backend, [...(byBackend.get(backend) ?? []), { label, ms: s.decode.median_ms }]);
  }
  const parts = [...byBackend].map(([backend, rows]) => {
    const ms = rows.map((r) => r.ms);
    const who = rows.length <= 4 ? rows.map((r) => `${r.label} ${r.ms.toFixed(1)}`).join(", ") : `${rows.length} models, ${Math.min(...ms).toFixed(1)}-${Math.max(...ms).toFixed(1)} ms/token`;
    return `**${backend}** for ${who}`;
  });
  return [
    `Spread: the median and p10-p90 of one run's timed samples per point (${counts((s) => s.prefill)} prefills, ${counts((s) => s.decode)} decode steps after one warm-up); no point was repeated.`,
    "",
    "**Prefill** is one shape per point (SDPA's plan is built in the warm-up), so it measures the compressed GEMM shapes. " +
      "**Decode here measures the attention backend, not the compressed shapes.** The engine's eager decode attends over the filled slice of its cache, so the KV length grows by one every step, " +
      "and SDPA's default order on sm90 picks cuDNN wherever head_dim allows it (a multiple of 8); cuDNN builds a new execution plan for every new KV length " +
      '(docs/e2e.md, "cuDNN SDPA re-plans per KV length on sm90"; sized there at 30-75 ms per step for gac eager decode on an H200), with a wide spread between steps. ' +
      `Decode attention in this run (profiler, gac engine, median ms/token): ${parts.join("; ")}. ` +
      "Decode with cuDNN off or in a CUDA graph was not measured here.",
    "",
  ];
}
