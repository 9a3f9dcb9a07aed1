/**
 * The compress-with-alignment study: for each method and budget, five variants side by side
 *   a  the ranks/widths as the method picks them (--align none)
 *   b  a, then `gac repair` (OPTIMAL: zero padding to multiples of 16)
 *   c  sizes rounded down to multiples of 16 (--align 16 --round down)
 *   d  sizes rounded up to multiples of 16 with real singular vectors / channels (--align 16 --round up)
 *   e  --align profile (the H200 profile's cheapest size near the target)
 * and the claim that d is at least as accurate as b at the same size, shown or refuted.
 *
 *   node --import tsx bench/compress-study.ts make  --model DIR --calibration FILE --out DIR [--budgets 0.8,0.6] [--methods ...]
 *   node --import tsx bench/compress-study.ts table --study DIR [--eval eval.json] [--real DIR]
 *       [--e2e worker-results.jsonl --aliases tmp/jobs-compress.jsonl.aliases.json] [--md docs/compress-study.md]
 *
 * `make` writes the small-model variants (CPU, float64) and study.json. Perplexity comes from
 * `gac eval` (`table` runs it when no --eval file is given and the command exists). Speed comes
 * from the worker's e2e runs of the real-size sparse variants (bench/compress-study-real.sh writes
 * them and their job lines, bench/gpu-compress-study.sh runs them): --real names the variants'
 * folder (their gac-compress.json), --e2e the worker's result lines.
 */
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { openCheckpoint } from "../src/checkpoint/open.js";
import { compressCheckpoint, COMPRESS_MANIFEST_FILE, type CompressReport } from "../src/compress/compress-checkpoint.js";
import type { AlignPolicy } from "../src/compress/size-policy.js";
import { COMPRESS_METHODS, isCompressMethod, newCompressCache, type CompressMethod } from "../src/compress/types.js";
import { runCli } from "../src/cli/main.js";
import { readE2e, speedCaption, spread } from "./compress-study-speed.js";
import { loadProfile, packagedProfilesDir } from "../src/profile/profile-store.js";
import { proposeRepair, repairCheckpoint } from "../src/repair/repair-checkpoint.js";

export const VARIANTS = ["a", "b", "c", "d", "e"] as const;
export type Variant = (typeof VARIANTS)[number];

const VARIANT_TEXT: Record<Variant, string> = {
  a: "unaligned (as the method picks)",
  b: "a + gac repair (zero padding, OPTIMAL)",
  c: "rounded down to x16",
  d: "rounded up to x16, real vectors",
  e: "--align profile (H200)",
};

const ALIGN: Record<Exclude<Variant, "b">, AlignPolicy> = {
  a: { kind: "none" },
  c: { kind: "multiple", of: 16, round: "down" },
  d: { kind: "multiple", of: 16, round: "up" },
  e: { kind: "profile", tolerance: 0.02 },
};

interface StudyEntry {
  method: CompressMethod;
  budget: number;
  variant: Variant;
  dir: string;
  params: number;
  /** Chosen sizes, summarised. */
  sizes: string;
  aligned16: string;
  /** Sum of the profile's predicted ms of the calls the sizes change (one prefill + one decode step), null when any is unpredicted. */
  predicted_ms: number | null;
}

interface Study {
  schema: "gac-compress-study/1";
  model: string;
  calibration: string;
  dense_params: number;
  entries: StudyEntry[];
}

export const variantName = (method: string, budget: number, variant: Variant) => `${method}-b${Math.round(budget * 100)}-${variant}`;

function sizeSummary(sizes: number[]): { sizes: string; aligned16: string } {
  const lo = Math.min(...sizes);
  const hi = Math.max(...sizes);
  const aligned = sizes.filter((s) => s % 16 === 0).length;
  return { sizes: lo === hi ? String(lo) : `${lo}-${hi}`, aligned16: `${aligned}/${sizes.length}` };
}

export function predictedTotal(report: CompressReport): number | null {
  let sum = 0;
  for (const d of report.decisions) {
    if (d.predicted_ms_chosen === null) return null;
    sum += d.predicted_ms_chosen;
  }
  return sum;
}

async function paramCount(dir: string): Promise<number> {
  const ckpt = await openCheckpoint(dir);
  let n = 0;
  for (const t of ckpt.tensors.values()) n += t.shape.reduce((a, b) => a * b, 1);
  return n;
}

/** Sizes of the repaired copy: the plan's targets for the dims it changes, a's own sizes elsewhere. */
function repairedSizes(report: CompressReport, changes: { id: string; to: number }[]): number[] {
  const to = new Map(changes.map((c) => [c.id.replace(/^layers\.\d+\.self_attn\.head_dim$/, "self_attn.head_dim"), c.to]));
  return report.decisions.map((d) => to.get(d.id) ?? d.chosen);
}

async function make(opts: { model: string; calibration: string; out: string; budgets: number[]; methods: CompressMethod[] }): Promise<void> {
  await mkdir(opts.out, { recursive: true });
  const profilePath = join(packagedProfilesDir(), "nvidia-h200.json");
  const profile = { profile: await loadProfile(profilePath), path: profilePath };
  const entries: StudyEntry[] = [];
  const cache = newCompressCache();
  for (const method of opts.methods) {
    for (const budget of opts.budgets) {
      for (const variant of ["a", "c", "d", "e"] as const) {
        const dir = join(opts.out, variantName(method, budget, variant));
        const t0 = performance.now();
        const report = await compressCheckpoint(opts.model, dir, {
          method,
          target: { kind: "budget", fraction: budget },
          align: ALIGN[variant],
          calibrationPath: opts.calibration,
          profile,
          force: true,
          cache,
        });
        entries.push({ method, budget, variant, dir, params: report.params_after, ...sizeSummary(report.decisions.map((d) => d.chosen)), predicted_ms: predictedTotal(report) });
        console.error(`${basename(dir)}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
        if (variant === "a") {
          const repaired = join(opts.out, variantName(method, budget, "b"));
          const proposal = await proposeRepair(dir, { strategy: "OPTIMAL" });
          await repairCheckpoint(dir, repaired, { strategy: "OPTIMAL", force: true });
          // b runs d's shapes (zero padding to x16 = rounding up to x16); its prediction is d's, filled in below.
          entries.push({ method, budget, variant: "b", dir: repaired, params: await paramCount(repaired), ...sizeSummary(repairedSizes(report, proposal.changes)), predicted_ms: null });
        }
      }
    }
  }
  for (const b of entries.filter((e) => e.variant === "b")) {
    const d = entries.find((e) => e.method === b.method && e.budget === b.budget && e.variant === "d");
    if (d !== undefined && d.params === b.params && d.sizes === b.sizes) b.predicted_ms = d.predicted_ms;
  }
  const study: Study = { schema: "gac-compress-study/1", model: resolve(opts.model), calibration: resolve(opts.calibration), dense_params: await paramCount(opts.model), entries };
  await writeFile(join(opts.out, "study.json"), JSON.stringify(study, null, 2) + "\n");
  console.error(`wrote ${entries.length} variants and ${join(opts.out, "study.json")}`);
}

interface EvalJson {
  targets?: number;
  context?: number;
  text?: { kind?: string; path: string; bytes: number };
  results: { dir: string; perplexity: number; loss: number }[];
}

/** `gac eval <dirs> --json`, through the CLI so that the study reads what users see; null when gac has no eval command. */
async function runEval(dirs: string[], maxTokens: string | undefined): Promise<EvalJson | null> {
  let out = "";
  let err = "";
  let code: number;
  try {
    code = await runCli(["eval", ...dirs, "--json", ...(maxTokens ? ["--max-tokens", maxTokens] : [])], {
      out: (t) => (out += t),
      err: (t) => (err += t),
      errIsTTY: false,
      cwd: process.cwd(),
      signal: new AbortController().signal,
    });
  } catch (e) {
    console.error(`gac eval did not run: ${e instanceof Error ? e.message : String(e)}`);
    return null;
  }
  if (code !== 0) {
    console.error(`gac eval did not run (exit ${code}): ${err.trim().split("\n")[0]}`);
    return null;
  }
  return JSON.parse(out) as EvalJson;
}

const fmt = (v: number | null | undefined, digits: number) => (v === null || v === undefined ? "-" : v.toFixed(digits));
/** "median (p10-p90)", or "-" when not measured. */
const millions = (n: number) => `${(n / 1e6).toFixed(3)}M`;
const billions = (n: number) => `${(n / 1e9).toFixed(3)}B`;

async function realManifests(dir: string | undefined): Promise<Map<string, CompressReport>> {
  const out = new Map<string, CompressReport>();
  if (dir === undefined) return out;
  for (const name of (await readdir(dir)).sort()) {
    const file = join(dir, name, COMPRESS_MANIFEST_FILE);
    const text = await readFile(file, "utf8").catch(() => null);
    if (text !== null) out.set(name, JSON.parse(text) as CompressReport);
  }
  return out;
}

async function table(opts: { study: string; eval?: string; e2e: string[]; aliases?: string; real?: string; md: string; engine: string; maxTokens?: string }): Promise<void> {
  const study = JSON.parse(await readFile(join(opts.study, "study.json"), "utf8")) as Study;
  const evalJson = opts.eval !== undefined ? (JSON.parse(await readFile(opts.eval, "utf8")) as EvalJson) : await runEval([study.model, ...study.entries.map((e) => e.dir)], opts.maxTokens);
  const ppl = new Map((evalJson?.results ?? []).map((r) => [resolve(r.dir), r.perplexity]));
  const speeds = await readE2e(opts.e2e, opts.engine);
  const real = await realManifests(opts.real);
  const aliases: Record<string, string> = opts.aliases === undefined ? {} : JSON.parse(await readFile(opts.aliases, "utf8"));
  const lines: string[] = [
    "# Compress with alignment built in, or compress then repair?",
    "",
    "Generated by `bench/compress-study.ts table` (commands and how to read it: docs/compress.md, The study)",
    "from the variants `bench/compress-study.ts make` writes (small model, CPU float64) and the real-size",
    "speed runs of `bench/gpu-compress-study.sh` (H200, worker e2e jobs). Variants: " + VARIANTS.map((v) => `**${v}** ${VARIANT_TEXT[v]}`).join("; ") + ".",
    "",
    `## Small trained model: ${basename(study.model)} (${millions(study.dense_params)} parameters), perplexity from \`gac eval\``,
    "",
    `Dense perplexity: ${fmt(ppl.get(resolve(study.model)), 4)}${evalJson?.targets !== undefined ? ` on the first ${evalJson.targets} targets of ${evalJson.text?.kind === "held-out" ? "the held-out last 10% of " : ""}${basename(evalJson.text?.path ?? "the text")} (context ${evalJson.context})` : ""}. Calibration: the first 1,024 bytes of ${basename(study.calibration)} (training part). Predicted ms: the H200 profile's prediction of the calls the chosen sizes change (one 2048-token prefill + one decode step), summed; "-" where a shape is outside its tables.`,
    "",
  ];
  const claims: string[] = [];
  for (const method of COMPRESS_METHODS) {
    for (const budget of [...new Set(study.entries.filter((e) => e.method === method).map((e) => e.budget))]) {
      const rows = VARIANTS.map((v) => study.entries.find((e) => e.method === method && e.budget === budget && e.variant === v)).filter((e): e is StudyEntry => e !== undefined);
      if (rows.length === 0) continue;
      lines.push(`### ${method}, budget ${budget}`, "", "| variant | sizes | x16 | parameters | perplexity | predicted ms at these shapes (H200) |", "|---|---|---|---:|---:|---:|");
      for (const e of rows)
        lines.push(`| ${e.variant}: ${VARIANT_TEXT[e.variant]} | ${e.sizes} | ${e.aligned16} | ${millions(e.params)} | ${fmt(ppl.get(resolve(e.dir)), 4)} | ${fmt(e.predicted_ms, 3)} |`);
      lines.push("");
      const b = rows.find((e) => e.variant === "b");
      const d = rows.find((e) => e.variant === "d");
      const pb = b && ppl.get(resolve(b.dir));
      const pd = d && ppl.get(resolve(d.dir));
      if (b && d && pb !== undefined && pd !== undefined) {
        const same = b.params === d.params;
        claims.push(
          `- ${method} at ${budget}: d ${pd.toFixed(4)} vs b ${pb.toFixed(4)} at ${same ? "the same" : "a different"} parameter count (${millions(d.params)} vs ${millions(b.params)}): ${pd <= pb ? "**d is at least as accurate**" : "**d is worse: refutes the claim here**"}`,
        );
      }
    }
  }
  lines.push("## Real size: speed on the H200 (worker e2e, batch 1)", "");
  if (real.size === 0 && speeds.size === 0) lines.push("Not run yet: the commands are in docs/compress.md.", "");
  else if (speeds.size === 0)
    lines.push("Measured columns not run yet (bench/gpu-compress-study.sh); the sizes and predictions below are from the sparse variants of bench/compress-study-real.sh.", "");
  const groups = new Map<string, string[]>();
  for (const name of real.keys()) {
    const group = name.replace(/-[a-e]$/, "");
    groups.set(group, [...(groups.get(group) ?? []), name]);
  }
  const tables: string[] = [];
  for (const [group, names] of groups) {
    tables.push(
      `### ${group}`,
      "",
      "| variant | sizes | parameters | predicted ms (changed calls) | prefill ms, median (p10-p90) | decode ms/token, median (p10-p90) | decode attention | peak memory GB | timed as |",
      "|---|---|---:|---:|---:|---:|---|---:|---|",
    );
    for (const variant of VARIANTS) {
      const source = variant === "b" ? names.find((n) => n.endsWith("-a")) : names.find((n) => n.endsWith(`-${variant}`));
      if (source === undefined) continue;
      const r = real.get(source)!;
      const label = variant === "b" ? source.replace(/-a$/, "-b") : source;
      const alias = speeds.has(label) ? undefined : aliases[label];
      const s = speeds.get(label) ?? speeds.get(alias ?? "");
      const d = real.get(source.replace(/-a$/, "-d"));
      const params = variant === "b" ? (s?.params ?? d?.params_after ?? null) : r.params_after;
      const predicted = variant === "b" ? (d ? predictedTotal(d) : null) : predictedTotal(r);
      const sizes = variant === "b" ? "a's, padded to x16" : sizeSummary(r.decisions.map((x) => x.chosen)).sizes;
      const timedAs = s === undefined ? "-" : alias === undefined ? "itself" : `${alias.slice(-1)} (same shapes)`;
      tables.push(
        `| ${variant}: ${VARIANT_TEXT[variant]} | ${sizes} | ${params === null ? "-" : billions(params)} | ${fmt(predicted, 2)} | ${spread(s?.prefill, 2)} | ${spread(s?.decode, 2)} | ${s?.decode_attention ?? "-"} | ${fmt(s?.peak_mem_gb, 2)} | ${timedAs} |`,
      );
    }
    tables.push("");
  }
  if (groups.size > 0) {
    lines.push(
      `Engine ${opts.engine} (docs/e2e-protocol.md), random weights of the variant's shapes, BF16, batch 1, each model in a fresh process. Prefill: a 2048-token forward; decode: one token at context 4096. b is a with the shapes of its OPTIMAL repair (zero padding to x16). A variant with the same shapes as another is timed once (bench/compress-study-jobs.ts; "timed as"). Sizes: the ranks (factor pairs), head_dim (svd-heads) or MLP width (prune-mlp) chosen, lowest-highest.`,
      "",
      ...speedCaption(speeds),
    );
  }
  lines.push(...tables);
  lines.push("## Does rounding up with real vectors beat zero padding at the same size?", "");
  lines.push(...(claims.length > 0 ? claims : ["No perplexities yet: run `gac eval` on the variants (see the commands below)."]), "");
  await writeFile(opts.md, lines.join("\n"));
  console.error(`wrote ${opts.md}`);
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    model: { type: "string" },
    calibration: { type: "string" },
    out: { type: "string" },
    budgets: { type: "string", default: "0.8,0.6" },
    methods: { type: "string", default: COMPRESS_METHODS.join(",") },
    study: { type: "string" },
    eval: { type: "string" },
    e2e: { type: "string", multiple: true, default: [] },
    real: { type: "string" },
    md: { type: "string", default: "docs/compress-study.md" },
    engine: { type: "string", default: "gac/eager/static" },
    aliases: { type: "string" },
    "max-tokens": { type: "string" },
  },
});

if (positionals[0] === "make") {
  if (!values.model || !values.calibration || !values.out) throw new Error("make needs --model, --calibration and --out");
  const methods = values.methods.split(",").filter(isCompressMethod);
  if (methods.length === 0) throw new Error(`--methods names none of ${COMPRESS_METHODS.join(", ")}`);
  await make({ model: values.model, calibration: values.calibration, out: values.out, budgets: values.budgets.split(",").map(Number), methods });
} else if (positionals[0] === "table") {
  if (!values.study) throw new Error("table needs --study DIR (the --out of make)");
  await table({ study: values.study, eval: values.eval, e2e: values.e2e, aliases: values.aliases, real: values.real, md: values.md, engine: values.engine, maxTokens: values["max-tokens"] });
} else {
  console.error("usage: compress-study.ts make|table ... (see the header of this file)");
  process.exitCode = 1;
}
