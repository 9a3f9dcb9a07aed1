/**
 * The committed measurements behind measured-mechanisms.ts, read from their folders:
 *   - sustained GEMMs: `run-*.json` of bench/e2e_sustained_gemm.py (one JSON object each: gpu,
 *     tokens, graph, ratio_sustained_to_isolated), grouped by GPU, M and graph;
 *   - host regimes: `probe-*.jsonl` of bench/e2e_host_probe.py (one line per process: label,
 *     engine (absent = transformers, the first probe's only engine), default_filters.step_ms and
 *     catch_always.step_ms), each beside its `run-*.log` whose nvidia-smi line names the GPU.
 * The band of an engine is its dense parent's: the calibration of host µs per kernel is fitted on
 * the dense parent, so the spread of the dense parent's own step is what a check inherits.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { GacError } from "../../errors.js";
import type { EngineName } from "../../profile/engine-steps.js";
import type { HostRegimeEvidence, MeasuredMechanisms, SustainedGemmEvidence } from "./measured-mechanisms.js";
import { median } from "../../util/median.js";

/** The GPU name from a run log's nvidia-smi CSV (the line after the one starting "name,"). */
export function gpuFromRunLog(log: string): string | null {
  const lines = log.split("\n");
  const i = lines.findIndex((l) => l.startsWith("name,"));
  const name = i >= 0 ? lines[i + 1]?.split(",")[0]?.trim() : undefined;
  return name ? name : null;
}

export function parseSustainedRuns(texts: readonly { name: string; text: string }[], source: string): SustainedGemmEvidence[] {
  const groups = new Map<string, SustainedGemmEvidence>();
  for (const { name, text } of texts) {
    let o: { gpu?: unknown; ratio_sustained_to_isolated?: unknown; tokens?: unknown; graph?: unknown };
    try {
      o = JSON.parse(text);
    } catch (e) {
      throw new GacError("BAD_RESULTS", `${join(source, name)}: not JSON (${(e as Error).message}); it should be one line of bench/e2e_sustained_gemm.py`);
    }
    if (typeof o.gpu !== "string" || typeof o.ratio_sustained_to_isolated !== "number" || !(o.ratio_sustained_to_isolated > 0)) {
      throw new GacError("BAD_RESULTS", `${join(source, name)}: needs "gpu" and a positive "ratio_sustained_to_isolated" (bench/e2e_sustained_gemm.py writes both)`);
    }
    // The first runs were written before "tokens" and "graph": they are the script's default, a 2048-token prefill.
    const tokens = typeof o.tokens === "number" && o.tokens >= 1 ? o.tokens : 2048;
    const graph = o.graph === true;
    const key = `${o.gpu}\n${tokens}\n${graph}`;
    const g = groups.get(key) ?? { gpu: o.gpu, tokens, graph, ratios: [], source };
    g.ratios.push(o.ratio_sustained_to_isolated);
    groups.set(key, g);
  }
  return [...groups.values()];
}

interface ProbeLine {
  label?: unknown;
  engine?: unknown;
  default_filters?: { step_ms?: unknown };
  catch_always?: { step_ms?: unknown };
}

const stepMedians = (line: ProbeLine): number[] =>
  [line.default_filters?.step_ms, line.catch_always?.step_ms].filter((s): s is number[] => Array.isArray(s) && s.length > 0 && s.every((x) => typeof x === "number" && x > 0)).map(median);

export function parseHostProbes(files: readonly { gpu: string; text: string; name: string }[], source: string): HostRegimeEvidence[] {
  const medians = new Map<string, { gpu: string; engine: EngineName; label: string; ms: number[] }>();
  for (const f of files) {
    for (const [n, raw] of f.text.split("\n").entries()) {
      if (!raw.trim()) continue;
      let line: ProbeLine;
      try {
        line = JSON.parse(raw);
      } catch {
        throw new GacError("BAD_RESULTS", `${join(source, f.name)} line ${n + 1}: not JSON; it should be a line of bench/e2e_host_probe.py`);
      }
      if (typeof line.label !== "string") continue; // an error line of the probe (a process that failed)
      const engine: EngineName = line.engine === "gac" ? "gac" : "transformers";
      const key = `${f.gpu}\n${engine}\n${line.label}`;
      const entry = medians.get(key) ?? { gpu: f.gpu, engine, label: line.label, ms: [] };
      entry.ms.push(...stepMedians(line));
      medians.set(key, entry);
    }
  }
  return [...medians.values()]
    .filter((e) => /dense/.test(e.label) && e.ms.length >= 2)
    .map((e) => {
      const fastest = Math.min(...e.ms);
      const slowest = Math.max(...e.ms);
      return { gpu: e.gpu, engine: e.engine, label: e.label, fastest_ms: fastest, slowest_ms: slowest, band: slowest / fastest, medians: e.ms.length, source };
    });
}

async function namesIn(dir: string, re: RegExp): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((n) => re.test(n)).sort();
  } catch (e) {
    throw new GacError("BAD_RESULTS", `${dir}: cannot list it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); give a folder with the measurement's files`);
  }
}

export async function readSustainedGemm(dir: string): Promise<SustainedGemmEvidence[]> {
  const names = await namesIn(dir, /^run-\d+\.json$/);
  if (names.length === 0) throw new GacError("BAD_RESULTS", `${dir}: no run-N.json files of bench/e2e_sustained_gemm.py`);
  return parseSustainedRuns(await Promise.all(names.map(async (name) => ({ name, text: await readFile(join(dir, name), "utf8") }))), dir);
}

export async function readHostProbes(dir: string): Promise<HostRegimeEvidence[]> {
  const names = await namesIn(dir, /^probe-\d+\.jsonl$/);
  if (names.length === 0) throw new GacError("BAD_RESULTS", `${dir}: no probe-N.jsonl files of bench/e2e_host_probe.py`);
  const files = await Promise.all(
    names.map(async (name) => {
      const log = name.replace(/^probe-(\d+)\.jsonl$/, "run-$1.log");
      const gpu = gpuFromRunLog(await readFile(join(dir, log), "utf8").catch(() => ""));
      if (!gpu) throw new GacError("BAD_RESULTS", `${join(dir, log)}: missing or without the nvidia-smi line that names the GPU of ${name}`);
      return { name, gpu, text: await readFile(join(dir, name), "utf8") };
    }),
  );
  return parseHostProbes(files, dir);
}

export async function readMeasuredMechanisms(dirs: { sustainedGemm?: string; hostProbe?: string }): Promise<MeasuredMechanisms> {
  return {
    sustainedGemm: dirs.sustainedGemm ? await readSustainedGemm(dirs.sustainedGemm) : [],
    hostRegime: dirs.hostProbe ? await readHostProbes(dirs.hostProbe) : [],
  };
}
