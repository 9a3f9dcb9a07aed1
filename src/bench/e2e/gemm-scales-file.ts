/**
 * The measured whole-model GEMM ratios of a GPU (measured-mechanisms.ts `gemmScaleFor`), kept beside
 * its profile so that `gac bench e2e` prices a run the way bench/e2e-check.ts does:
 * `profiles/<gpu>.gemm-scales.json` next to `profiles/<gpu>.json`, written by bench/gemm-scales.ts
 * from the run files of bench/e2e_sustained_gemm.py.
 *
 *   {"schema": "gac-gemm-scales/1", "gpu": "NVIDIA H200", "source": "results/...",
 *    "runs": [{"tokens": 2048, "graph": false, "ratios": [1.128, 1.105]}, ...]}
 */
import { readFile } from "node:fs/promises";
import { GacError } from "../../errors.js";
import type { SustainedGemmEvidence } from "./measured-mechanisms.js";

export const GEMM_SCALES_SCHEMA = "gac-gemm-scales/1";

/** The sidecar of a profile file: `x.json` -> `x.gemm-scales.json`. */
export const gemmScalesPath = (profilePath: string): string => profilePath.replace(/(\.json)?$/, ".gemm-scales.json");

export function renderGemmScales(evidence: readonly SustainedGemmEvidence[]): string {
  const gpus = [...new Set(evidence.map((e) => e.gpu))];
  if (gpus.length !== 1) throw new GacError("BAD_RESULTS", `GEMM scales of one GPU are kept per profile; these runs are of ${gpus.length === 0 ? "none" : gpus.join(", ")}`);
  const file = {
    schema: GEMM_SCALES_SCHEMA,
    gpu: gpus[0],
    source: [...new Set(evidence.map((e) => e.source))].join(", "),
    runs: evidence.map((e) => ({ tokens: e.tokens, graph: e.graph, ratios: e.ratios })),
  };
  return `${JSON.stringify(file, null, 2)}\n`;
}

export function parseGemmScales(text: string, where: string): SustainedGemmEvidence[] {
  const bad = (what: string) => new GacError("BAD_RESULTS", `${where}: ${what}; rewrite it with bench/gemm-scales.ts`);
  let o: { schema?: unknown; gpu?: unknown; source?: unknown; runs?: unknown };
  try {
    o = JSON.parse(text);
  } catch (e) {
    throw bad(`not JSON (${(e as Error).message})`);
  }
  if (o === null || typeof o !== "object" || o.schema !== GEMM_SCALES_SCHEMA) throw bad(`not a ${GEMM_SCALES_SCHEMA} file`);
  if (typeof o.gpu !== "string" || typeof o.source !== "string" || !Array.isArray(o.runs)) throw bad(`needs "gpu", "source" and "runs"`);
  const { gpu, source } = o;
  return o.runs.map((r: unknown, i: number): SustainedGemmEvidence => {
    const run = r as { tokens?: unknown; graph?: unknown; ratios?: unknown };
    const ok =
      typeof run?.tokens === "number" &&
      run.tokens >= 1 &&
      typeof run.graph === "boolean" &&
      Array.isArray(run.ratios) &&
      run.ratios.length > 0 &&
      run.ratios.every((x) => typeof x === "number" && x > 0 && Number.isFinite(x));
    if (!ok) throw bad(`runs[${i}] needs tokens >= 1, graph true/false and positive ratios`);
    return { gpu, tokens: run.tokens as number, graph: run.graph as boolean, ratios: run.ratios as number[], source };
  });
}

/** The profile's GEMM scales, or [] when it has none (a missing sidecar is no error: the prediction then takes x1). */
export async function readGemmScales(profilePath: string): Promise<SustainedGemmEvidence[]> {
  const path = gemmScalesPath(profilePath);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new GacError("BAD_RESULTS", `${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseGemmScales(text, path);
}
