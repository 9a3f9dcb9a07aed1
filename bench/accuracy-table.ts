/**
 * The README's perplexity table: the original trained model, each compressed variant and each of
 * its repairs (MINIMAL/OPTIMAL x fold/logical), evaluated by `gac eval` on the CPU in float64 (the
 * first --max-tokens held-out targets; default 16,384 = the training log's first 64 windows), with
 * the GPU columns (whole held-out split, float32 with TF32 off and bfloat16) taken from a
 * `gac eval --device gpu --json` output when one is given. Every repaired row shows its loss minus
 * its compressed model's, in scientific notation, zero included, and what that difference is
 * (src/eval/repair-difference.ts: exact zero, float64 rounding, the fold's one 16-bit rounding).
 *
 *   node --import tsx bench/accuracy-table.ts <variants-dir> [--max-tokens N] [--jobs N] [--cpu-json a.json ...]
 *                                            [--save-cpu-json cpu.json] [--gpu-json eval-gpu.json] [--out docs/accuracy-table.md]
 *
 * --jobs N splits the checkpoints over N `node bin/gac.js eval --json` processes (same windows, so
 * the merged report is what one process would print); --cpu-json reads such reports instead of
 * evaluating (several files, or JSON lines, are merged; they must share text, windows and targets); --save-cpu-json
 * writes the (merged) CPU report, so that GPU columns can be added later without evaluating again.
 *
 * <variants-dir> is what bench/accuracy-variants.sh writes (variants.tsv lists the checkpoints).
 */
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";
import { evalCheckpoints, type EvalReport, type EvalResult } from "../src/eval/eval-checkpoints.js";
import { sci } from "../src/verify/render-report.js";
import { formatCount } from "../src/errors.js";
import { classifyRepairDifference } from "../src/eval/repair-difference.js";
import { readFoldedScales } from "../src/repair/manifest.js";

interface Variant {
  name: string;
  dir: string;
  role: "original" | "compressed" | "repaired";
  from: string;
}

async function readVariants(dir: string): Promise<Variant[]> {
  const text = await readFile(join(dir, "variants.tsv"), "utf8");
  return text
    .trim()
    .split("\n")
    .map((line) => {
      const [name, d, role, from] = line.split("\t");
      if (role !== "original" && role !== "compressed" && role !== "repaired") throw new Error(`variants.tsv: unknown role '${role}' in '${line}'`);
      return { name, dir: d, role, from };
    });
}

function byBasename(report: EvalReport | undefined, precision: string): Map<string, EvalResult> {
  const m = new Map<string, EvalResult>();
  for (const r of report?.results ?? []) if (r.precision === precision) m.set(basename(r.dir), r);
  return m;
}

/** Several `gac eval --json` reports of the same windows as one (results in the order given). */
export function mergeReports(reports: readonly EvalReport[]): EvalReport {
  const [first, ...rest] = reports;
  if (first === undefined) throw new Error("no eval reports to merge");
  for (const r of rest) {
    if (r.text.sha256 !== first.text.sha256 || r.targets !== first.targets || r.context !== first.context || r.stride !== first.stride) {
      throw new Error(`eval reports of different windows cannot be merged (${r.text.sha256.slice(0, 12)} ${r.targets} targets vs ${first.text.sha256.slice(0, 12)} ${first.targets})`);
    }
  }
  return { ...first, results: reports.flatMap((r) => r.results) };
}

/** One `gac eval --json` report, or several as JSON lines (bench/gpu-accuracy.sh's eval-cpu.jsonl). */
export function parseReports(text: string): EvalReport[] {
  try {
    return [JSON.parse(text) as EvalReport];
  } catch {
    return text
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as EvalReport);
  }
}

function runGacEval(dirs: readonly string[], maxTokens: number): Promise<EvalReport> {
  return new Promise((resolvePromise, reject) => {
    execFile("node", ["bin/gac.js", "eval", ...dirs, "--max-tokens", String(maxTokens), "--json"], { maxBuffer: 64 << 20 }, (err, stdout) => {
      if (err) reject(err);
      else resolvePromise(JSON.parse(stdout) as EvalReport);
    });
  });
}

/** Round-robin split of the checkpoints over `jobs` processes (the table finds each result by directory name). */
async function evalInProcesses(dirs: readonly string[], maxTokens: number, jobs: number): Promise<EvalReport> {
  const parts = Array.from({ length: jobs }, (_, j) => dirs.filter((_, i) => i % jobs === j)).filter((p) => p.length > 0);
  return mergeReports(await Promise.all(parts.map((p) => runGacEval(p, maxTokens))));
}

/** Repaired dir -> the factors its fold multiplied into q_proj (empty for logical mode or nothing folded). */
export async function foldedScalesOf(variants: readonly Variant[]): Promise<Map<string, number[]>> {
  const m = new Map<string, number[]>();
  for (const v of variants) if (v.role === "repaired") m.set(basename(v.dir), await readFoldedScales(v.dir));
  return m;
}

/** What serving in bf16 moves the loss by anyway: |bf16 - f64| over the original and the compressed models (pure). */
export function servingFloorNote(variants: readonly Variant[], f64: Map<string, EvalResult>, bf16: Map<string, EvalResult>): string {
  const floors = variants
    .filter((v) => v.role !== "repaired")
    .map((v) => {
      const a = f64.get(basename(v.dir));
      const b = bf16.get(basename(v.dir));
      return a && b ? Math.abs(b.loss - a.loss) : undefined;
    })
    .filter((x): x is number => x !== undefined);
  if (floors.length === 0) return "";
  return ` The bf16 noise floor (|loss bf16 - loss f64| of the same model, original and compressed): ${sci(Math.min(...floors))} to ${sci(Math.max(...floors))}; a repair's bf16 difference is kernel choice (other kernels for the padded shapes) and is read beside it.`;
}

export function accuracyTable(variants: readonly Variant[], cpu: EvalReport, gpu: EvalReport | undefined, folded: ReadonlyMap<string, readonly number[]> = new Map()): string {
  const cpuBy = byBasename(cpu, "float64");
  const gpu64 = byBasename(gpu, "float64");
  const gpu32 = byBasename(gpu, "float32");
  const gpu16 = byBasename(gpu, "bfloat16");
  const nameOf = new Map(variants.map((v) => [v.name, v]));
  const delta = (m: Map<string, EvalResult>, v: Variant): string => {
    const self = m.get(basename(v.dir));
    const base = v.role === "repaired" ? m.get(basename(nameOf.get(v.from)?.dir ?? "")) : undefined;
    return self && base ? sci(self.loss - base.loss) : "";
  };
  const cell = (m: Map<string, EvalResult>, v: Variant, f: (r: EvalResult) => string) => {
    const r = m.get(basename(v.dir));
    return r ? f(r) : "";
  };
  const kind = (v: Variant): string => {
    const self = cpuBy.get(basename(v.dir));
    const base = v.role === "repaired" ? cpuBy.get(basename(nameOf.get(v.from)?.dir ?? "")) : undefined;
    if (!self || !base) return "";
    return classifyRepairDifference(self.loss, base.loss, { scales: folded.get(basename(v.dir)) ?? [], dtype: self.dtype }).label;
  };
  const header = ["model", "params", "loss (CPU f64)", "perplexity (CPU f64)", "loss - compressed (CPU f64)", "what the difference is"];
  // Without a GPU report the bf16 column still stands, saying so: the table is not silently CPU-only.
  if (gpu) header.push("perplexity (GPU f64)", "loss - compressed (GPU f64)", "loss - compressed (GPU fp32)", "perplexity (GPU bf16)", "loss - compressed (GPU bf16)");
  else header.push("perplexity (GPU bf16)");
  const rows = variants.map((v) => {
    const row = [
      v.role === "repaired" ? `${v.from} repaired ${v.name.slice(v.from.length + 1).replace("-", ", ")}` : v.role === "compressed" ? `${v.name} (compressed)` : "original (trained)",
      cell(cpuBy, v, (r) => formatCount(r.params)),
      cell(cpuBy, v, (r) => r.loss.toFixed(6)),
      cell(cpuBy, v, (r) => r.perplexity.toFixed(4)),
      delta(cpuBy, v),
      kind(v),
    ];
    if (gpu)
      row.push(
        cell(gpu64, v, (r) => r.perplexity.toFixed(4)),
        delta(gpu64, v),
        delta(gpu32, v),
        cell(gpu16, v, (r) => r.perplexity.toFixed(4)),
        delta(gpu16, v),
      );
    else row.push("not run");
    return row;
  });
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  const gpuNote = gpu
    ? ` GPU: \`gac eval --device gpu\` on ${gpu.gpu ?? "the GPU"}, ${formatCount(gpu.targets)} held-out targets (the whole split), float64, float32 (TF32 off) and bfloat16.${servingFloorNote(variants, gpu64, gpu16)}`
    : " GPU bf16: not run (`bash bench/gpu-accuracy.sh small` on the GPU machine writes eval-gpu.json; pass it as --gpu-json).";
  return [
    `CPU: \`gac eval\` float64, the first ${formatCount(cpu.targets)} held-out targets (${cpu.windows} windows of ${cpu.context} bytes).${gpuNote}`,
    "",
    line(header),
    line(header.map(() => "---")),
    ...rows.map(line),
    "",
  ].join("\n");
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      "max-tokens": { type: "string", default: "16384" },
      jobs: { type: "string", default: "1" },
      "cpu-json": { type: "string", multiple: true },
      "gpu-json": { type: "string" },
      "save-cpu-json": { type: "string" },
      out: { type: "string" },
    },
  });
  const dir = positionals[0];
  if (!dir) throw new Error("usage: accuracy-table.ts <variants-dir> [--max-tokens N] [--gpu-json eval-gpu.json] [--out file.md]");
  const variants = await readVariants(dir);
  const dirs = variants.map((v) => v.dir);
  const maxTokens = Number(values["max-tokens"]);
  const jobs = Number(values.jobs);
  const cpuJson = values["cpu-json"] ?? [];
  const cpu =
    cpuJson.length > 0
      ? mergeReports((await Promise.all(cpuJson.map(async (f) => parseReports(await readFile(f, "utf8"))))).flat())
      : jobs > 1
        ? await evalInProcesses(dirs, maxTokens, jobs)
        : await evalCheckpoints(dirs, { cwd: process.cwd(), maxTokens, onProgress: (m) => process.stderr.write(m + "\n") });
  if (values["save-cpu-json"]) await writeFile(values["save-cpu-json"], JSON.stringify(cpu, null, 2) + "\n");
  const gpu = values["gpu-json"] ? (JSON.parse(await readFile(values["gpu-json"], "utf8")) as EvalReport) : undefined;
  const table = accuracyTable(variants, cpu, gpu, await foldedScalesOf(variants));
  if (values.out) await writeFile(values.out, table);
  process.stdout.write(table);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
