/** `gac bench <suite...>`: run benchmark suites on this host's GPUs into a results directory. */
import { execFileSync } from "node:child_process";
import { stat } from "node:fs/promises";
import { basename, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { GacError } from "../../errors.js";
import type { BenchDeps } from "./bench-deps.js";
import { resolveCheckpointDir } from "../../input/resolve-input.js";
import { booleanValue, defineCommand, stringList, stringValue, type Command, type CommandIO, type OptionSpec, type ParsedValues } from "../command.js";
import { JSON_SCHEMAS, printJson } from "../json-output.js";
import { createProgress, formatDuration } from "../progress.js";
import { headlineRows, renderHeadline } from "../../bench/headline.js";
import { makeRunId, runBench, type BenchSummary } from "../../bench/run-bench.js";
import { SUITES, SUITE_ESTIMATE_NOTE, estimateSeconds, expandSuite, expandSuites, parseOverride, resolveSuiteNames, type SuiteConfig } from "../../bench/suites.js";
import { pythonWorkerSpawner } from "../../bench/worker-client.js";
import { readRunInfo } from "../../store/results-store.js";
import { parseStrategies } from "../../bench/model-suite.js";
import { renderModelBenchPlan, renderModelBenchSummary } from "../../bench/render-model-bench.js";
import { planModelBench, runModelBench } from "../../bench/run-model-bench.js";
import { packagedProfilesDir } from "../../profile/profile-store.js";
import { E2E_OPTIONS, runE2eCommand } from "./bench-e2e.js";
import { DEFAULT_RUNTIME, RUNTIME_IDS, parseRuntime } from "../../contract/runtimes.js";
import { parallelOptions } from "./plan.js";

/**
 * The commit of the gac checkout this code runs from, recorded in run.json. GAC_GIT_COMMIT names it
 * where the code runs from a copy without `.git` (the GPU machine gets the working tree only); else
 * `git rev-parse HEAD`; null when neither says.
 */
export function gitCommitOfPackage(env: NodeJS.ProcessEnv = process.env): string | null {
  const given = env.GAC_GIT_COMMIT?.trim();
  if (given) {
    if (!/^[0-9a-f]{7,40}$/i.test(given)) throw new GacError("BAD_ARGS", `GAC_GIT_COMMIT='${given}' is not a git commit hash; set it to the output of \`git rev-parse HEAD\` or unset it`);
    return given.toLowerCase();
  }
  try {
    const root = fileURLToPath(new URL("../../../", import.meta.url));
    return execFileSync("git", ["rev-parse", "HEAD"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim() || null;
  } catch {
    return null;
  }
}

function parseGpus(text: string): number[] {
  const gpus = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map(Number);
  if (gpus.length === 0 || gpus.some((g) => !Number.isInteger(g) || g < 0)) throw new GacError("BAD_ARGS", `--gpus expects GPU indices like 0,1,2; got '${text}'`);
  if (new Set(gpus).size !== gpus.length) throw new GacError("BAD_ARGS", `--gpus lists a GPU twice: '${text}'`);
  return gpus;
}

function parseOverrides(texts: string[]): Record<string, SuiteConfig> {
  const out: Record<string, SuiteConfig> = {};
  for (const t of texts) {
    const { suite, key, value } = parseOverride(t);
    out[suite] = { ...(out[suite] ?? {}), [key]: value };
  }
  return out;
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

function suiteRows(quick: boolean): { suite: string; cases: number; estimate_s: number; summary: string }[] {
  const rows = SUITES.map((s) => {
    const cases = expandSuite(s.name, { quick });
    return { suite: s.name, cases: cases.length, estimate_s: estimateSeconds(cases), summary: s.summary };
  });
  const all = expandSuites(["all"], { quick });
  rows.push({ suite: "all", cases: all.length, estimate_s: estimateSeconds(all), summary: "every suite" });
  return rows;
}

function renderSuiteList(quick: boolean): string {
  const rows = suiteRows(quick).map((r) => [r.suite, String(r.cases), formatDuration(r.estimate_s * 1000), r.summary]);
  const widths = [6, 6, 7];
  const lines = [["suite", "cases", "est.", "what"], ...rows].map((r) => r.map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c)).join(" "));
  return lines.join("\n") + `\n\n${SUITE_ESTIMATE_NOTE}\n`;
}

/** A run's outcome as `gac-bench-summary/1` (the records themselves are in the run directory). */
function summaryJson(summary: BenchSummary): Record<string, unknown> {
  const { records: _records, ...rest } = summary;
  return { ...rest, records: summary.records.length };
}

/** The invocation as run.json records it, rebuilt from parsed values (only main.ts sees argv). */
function commandLine(positionals: string[], values: ParsedValues): string {
  const parts = ["gac", "bench", ...positionals];
  for (const [key, v] of Object.entries(values)) {
    for (const x of Array.isArray(v) ? v : [v]) {
      if (x === true) parts.push(`--${key}`);
      else if (typeof x === "string") parts.push(`--${key}`, x);
    }
  }
  return parts.join(" ");
}

function renderSummary(io: CommandIO, summary: BenchSummary): void {
  for (const t of summary.truncated) io.err(`note: ${t.file} ended in an unfinished line (${t.bytes} bytes at line ${t.line}, a killed run): ignored\n`);
  for (const f of summary.failed) io.err(`failed on GPU ${f.gpu}: ${f.case}: ${f.message}\n`);
  const parts = [`${summary.measured} measured`, `${summary.refused} refused or errored`];
  if (summary.skipped > 0) parts.push(`${summary.skipped} already in the directory`);
  if (summary.failed.length > 0) parts.push(`${summary.failed.length} failed (rerun to retry)`);
  io.err(`${summary.cancelled ? "cancelled: " : ""}${parts.join(", ")}; results in ${summary.outDir}\n`);
}

/**
 * `gac bench model --checkpoint <dir>`: the checkpoint's own kernel calls, unrepaired and after each
 * strategy (src/bench/model-suite.ts); rerunning into the same --out skips what was measured.
 */
async function runModelCommand(values: ParsedValues, io: CommandIO, deps: BenchDeps): Promise<number> {
  const checkpoints = stringList(values, "checkpoint");
  if (checkpoints.length > 1) throw new GacError("BAD_ARGS", "gac bench model takes one --checkpoint; run it once per checkpoint (or use gac bench e2e, which takes several)");
  const checkpointArg = checkpoints[0];
  if (checkpointArg === undefined) throw new GacError("BAD_ARGS", "gac bench model needs --checkpoint <dir> (headers only are read)");
  const checkpoint = await resolveCheckpointDir(checkpointArg, { cwd: io.cwd });
  const { tp } = parallelOptions(values);
  const runtimeArg = stringValue(values, "runtime");
  // A TP run measures other shapes than the whole model: its own name keeps the two apart in one results dir.
  const name = stringValue(values, "name") ?? `${basename(checkpoint)}${tp > 1 ? `-tp${tp}` : ""}`;
  const strategiesArg = stringValue(values, "strategies");
  const plan = {
    checkpoint,
    name,
    ...(strategiesArg !== undefined ? { strategies: parseStrategies(strategiesArg) } : {}),
    ...(tp > 1 ? { tp } : {}),
    ...(runtimeArg !== undefined ? { runtime: parseRuntime(runtimeArg) } : {}),
  };
  if (booleanValue(values, "list")) {
    const { bench } = await planModelBench(plan);
    if (booleanValue(values, "json")) {
      printJson(io, JSON_SCHEMAS.benchList, { model: name, estimate_s: estimateSeconds(bench.cases), variants: bench.variants, cases: bench.cases.map((c) => c.case) });
      return 0;
    }
    io.out(renderModelBenchPlan(bench, estimateSeconds(bench.cases)));
    for (const c of bench.cases) io.out(c.case + "\n");
    return 0;
  }
  const now = deps.now ?? (() => new Date());
  const out = stringValue(values, "out");
  const outDir = out !== undefined ? resolve(io.cwd, out) : join(io.cwd, "results", makeRunId(now(), ["model", name]));
  const runId = (await readRunInfo(outDir))?.run_id ?? basename(outDir);
  const progress = createProgress(io);
  const result = await runModelBench({
    ...plan,
    outDir,
    runId,
    gpus: parseGpus(stringValue(values, "gpus") ?? "0"),
    spawn: deps.spawn ?? pythonWorkerSpawner({ python: process.env.GAC_PYTHON ?? "python3" }),
    command: commandLine(["model"], values),
    gitCommit: (deps.gitCommit ?? gitCommitOfPackage)(),
    signal: io.signal,
    onProgress: (p) => progress.update(p),
    now: () => now().getTime(),
    profileDirs: [resolve(io.cwd, "profiles"), packagedProfilesDir()],
  }).finally(() => progress.end());
  renderSummary(io, result.run);
  if (booleanValue(values, "json")) printJson(io, JSON_SCHEMAS.benchSummary, { ...summaryJson(result.run), model_summaries: result.summaries, scan_path: result.scanPath });
  else for (const s of result.summaries) io.out(renderModelBenchSummary(s));
  io.err(`scan with predicted times: ${result.scanPath}\n`);
  if (result.run.cancelled) return 130;
  return result.run.failed.length > 0 ? 1 : 0;
}

const GPUS_OPTION: OptionSpec = { type: "string", valueName: "<list>", description: "GPU indices, one worker each, cases dealt round-robin", default: "0" };
const JSON_OPTION: OptionSpec = { type: "boolean", description: "Print the suite list or the run summary as JSON (progress and notes stay on stderr)" };

function createBenchModelCommand(deps: BenchDeps = {}): Command {
  return defineCommand({
    name: "model",
    summary: "Measure a checkpoint's own kernel calls, unrepaired and after each repair strategy (headers only are read)",
    options: {
      checkpoint: { type: "string", multiple: true, valueName: "<dir>", description: "The checkpoint whose kernel calls to measure (a directory, HF cache snapshot or org/name)" },
      strategies: { type: "string", valueName: "<list>", description: "Repair strategies to measure besides unrepaired (default: all)" },
      name: { type: "string", valueName: "<name>", description: "The model's short name in case ids and reports (default: the directory name, + -tp<n> with --tp)" },
      tp: { type: "string", valueName: "<n>", description: "Measure one GPU's shard of a tensor-parallel deployment (docs/tensor-parallel.md)" },
      runtime: { type: "string", valueName: "<name>", description: `The runtime whose plans and TP rules apply (${RUNTIME_IDS.join(", ")}; default ${DEFAULT_RUNTIME})` },
      gpus: GPUS_OPTION,
      out: { type: "string", valueName: "<dir>", description: "Run directory (default: results/<date>-model-<name>); rerunning into it skips finished cases" },
      list: { type: "boolean", description: "List the variants and cases and exit" },
      json: JSON_OPTION,
    },
    positionals: [],
    examples: [
      "gac bench model --checkpoint ./llama-direct-svd --strategies MINIMAL,OPTIMAL",
      "gac bench model --checkpoint ./palu --list",
      "gac bench model --checkpoint ./pruned-mlp --runtime vllm --tp 8",
    ],
    run: ({ values, io }) => runModelCommand(values, io, deps),
  });
}

/** `gac bench e2e`: whole-model runs (src/cli/commands/bench-e2e.ts), as its own subcommand with its own options. */
function createBenchE2eCommand(deps: BenchDeps = {}): Command {
  return defineCommand({
    name: "e2e",
    summary: "Measure whole-model prefill and decode of checkpoints and their repairs end to end, with the logits compared",
    options: {
      checkpoint: { type: "string", multiple: true, valueName: "<dir>", description: "The checkpoints to measure (one or more)" },
      strategies: { type: "string", valueName: "<list>", description: "none,MINIMAL,OPTIMAL (default)" },
      ...E2E_OPTIONS,
      gpus: GPUS_OPTION,
      out: { type: "string", valueName: "<dir>", description: "Run directory; rerunning into it skips finished jobs" },
      list: { type: "boolean", description: "List the jobs and exit" },
    },
    positionals: [],
    examples: ["gac bench e2e --checkpoint ./llama-direct-svd --parent ./llama-aligned --grid quick"],
    run: ({ values, io }) => runE2eCommand(values, commandLine(["e2e"], values), io, { ...deps, gitCommit: deps.gitCommit ?? gitCommitOfPackage }),
  });
}

export function createBenchCommand(deps: BenchDeps = {}): Command {
  return defineCommand({
    name: "bench",
    summary: "Measure dimensional collapse on this host's GPUs (suites S1 S2 C21 G3 G4 P1 HET1 decode GQA, or all; `bench model`: a model's own calls)",
    options: {
      gpus: GPUS_OPTION,
      out: { type: "string", valueName: "<dir>", description: "Run directory (default: results/<date>-<suites>); rerunning into it skips finished cases" },
      resume: { type: "string", valueName: "<run-id|dir>", description: "Continue a run: its suites and --quick come from its run.json" },
      quick: { type: "boolean", description: "Tiny shapes: a smoke test of the whole pipeline" },
      list: { type: "boolean", description: "List suites (or the cases of the named suites) and exit" },
      set: { type: "string", multiple: true, valueName: "<suite.key=v>", description: "Override a suite setting, e.g. S1.dim_lo=96 or P1.head_dims=107,121" },
      json: JSON_OPTION,
    },
    positionals: [{ name: "suite", description: "Suites to run, or all", required: false, variadic: true }],
    subcommands: [createBenchModelCommand(deps), createBenchE2eCommand(deps)],
    examples: [
      "gac bench all",
      "gac bench S1 S2 --gpus 0,1,2,3",
      "gac bench --resume 20260131-142500-S1-S2",
      "gac bench G3 --set G3.mn=4096 --quick",
      "gac bench --list",
      "gac bench model --checkpoint ./llama-direct-svd --strategies MINIMAL,OPTIMAL",
      "gac bench model --checkpoint ./pruned-mlp --runtime vllm --tp 8",
      "gac bench e2e --checkpoint ./llama-direct-svd --parent ./llama-aligned --grid quick",
    ],
    async run({ values, positionals, io }) {
      if (positionals[0]?.toLowerCase() === "model" || positionals[0]?.toLowerCase() === "e2e")
        throw new GacError("BAD_ARGS", `\`gac bench ${positionals[0]}\` is its own command: put its options after \`${positionals[0]}\` (see \`gac help bench ${positionals[0]}\`)`);
      const overrides = parseOverrides(stringList(values, "set"));
      let quick = booleanValue(values, "quick");
      if (booleanValue(values, "list")) {
        const json = booleanValue(values, "json");
        if (positionals.length === 0) {
          if (json) printJson(io, JSON_SCHEMAS.benchList, { quick, suites: suiteRows(quick), note: SUITE_ESTIMATE_NOTE });
          else io.out(renderSuiteList(quick));
          return 0;
        }
        const cases = expandSuites(positionals, { quick, overrides });
        if (json) printJson(io, JSON_SCHEMAS.benchList, { quick, estimate_s: estimateSeconds(cases), cases: cases.map((c) => c.case) });
        else for (const c of cases) io.out(c.case + "\n");
        return 0;
      }
      const now = deps.now ?? (() => new Date());
      const resume = stringValue(values, "resume");
      const out = stringValue(values, "out");
      if (resume !== undefined && out !== undefined) throw new GacError("BAD_ARGS", "give --resume or --out, not both");
      let suites = positionals.length > 0 ? resolveSuiteNames(positionals) : [];
      let outDir: string;
      if (resume !== undefined) {
        const asPath = isAbsolute(resume) ? resume : resolve(io.cwd, resume);
        outDir = (await isDirectory(asPath)) ? asPath : join(io.cwd, "results", resume);
        const info = await readRunInfo(outDir);
        if (!info) throw new GacError("BAD_ARGS", `--resume ${resume}: ${outDir} has no run.json; nothing to resume`);
        if (suites.length === 0) suites = info.suites;
        quick = quick || info.quick;
      } else {
        if (suites.length === 0) throw new GacError("BAD_ARGS", "name the suites to run (or all); `gac bench --list` shows them");
        outDir = out !== undefined ? resolve(io.cwd, out) : join(io.cwd, "results", makeRunId(now(), suites));
      }
      const existing = await readRunInfo(outDir);
      const runId = existing?.run_id ?? basename(outDir);
      const cases = expandSuites(suites, { quick, overrides });
      const progress = createProgress(io);
      const summary = await runBench({
        cases,
        outDir,
        runId,
        gpus: parseGpus(stringValue(values, "gpus") ?? "0"),
        spawn: deps.spawn ?? pythonWorkerSpawner({ python: process.env.GAC_PYTHON ?? "python3" }),
        command: commandLine(positionals, values),
        gitCommit: (deps.gitCommit ?? gitCommitOfPackage)(),
        suites,
        quick,
        signal: io.signal,
        onProgress: (p) => progress.update(p),
        now: () => now().getTime(),
      }).finally(() => progress.end());
      renderSummary(io, summary);
      if (booleanValue(values, "json")) printJson(io, JSON_SCHEMAS.benchSummary, { ...summaryJson(summary), headline: headlineRows(summary.records) });
      else io.out(renderHeadline(headlineRows(summary.records)));
      if (summary.cancelled) return 130;
      return summary.failed.length > 0 ? 1 : 0;
    },
  });
}

export const benchCommand = createBenchCommand();
