/**
 * `gac bench e2e --checkpoint A [--checkpoint B ...]`: whole models, unrepaired and repaired, in
 * the engine configurations people deploy (src/bench/e2e/). Dispatched from `gac bench` like
 * `gac bench model`; rerunning into the same --out measures only what is missing.
 */
import { basename, join, resolve } from "node:path";
import { GacError } from "../../errors.js";
import { booleanValue, stringList, stringValue, type CommandIO, type ParsedValues } from "../command.js";
import { createProgress, formatDuration } from "../progress.js";
import { makeRunId } from "../../bench/run-bench.js";
import { parseStrategies } from "../../bench/model-suite.js";
import { pythonWorkerSpawner } from "../../bench/worker-client.js";
import { estimateSeconds } from "../../bench/suites.js";
import { ENGINE_CONFIGS, parseEngines, selectConfigs } from "../../bench/e2e/engines.js";
import { resolveGrid, gridPoints } from "../../bench/e2e/grid.js";
import { UNREPAIRED, type E2eVariant, type WeightsChoice } from "../../bench/e2e/models.js";
import { savedModel } from "../../bench/e2e/models-file.js";
import { readE2eRows } from "../../bench/e2e/measurements.js";
import { groupRefusals, planE2e } from "../../bench/e2e/plan-e2e.js";
import { predictionTable, renderPredictionTable } from "../../bench/e2e/prediction-table.js";
import { describeE2eModels, runE2e } from "../../bench/e2e/run-e2e.js";
import { renderE2eTables } from "../../bench/e2e/tables.js";
import { packagedProfilesDir } from "../../profile/profile-store.js";
import { gemmScalesPath, readGemmScales } from "../../bench/e2e/gemm-scales-file.js";
import { findGpuProfile } from "../../scan/scan-profile.js";
import { readRunInfo } from "../../store/results-store.js";
import { scaleOption } from "./plan.js";
import type { BenchDeps } from "./bench-deps.js";

export const E2E_SCHEMA = "gac-e2e/1";

/** "none,MINIMAL,OPTIMAL" -> variants; "none" is the unrepaired model. */
export function parseVariants(text: string): E2eVariant[] {
  const parts = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  const strategies = parts.filter((p) => p.toLowerCase() !== UNREPAIRED);
  return [UNREPAIRED, ...(strategies.length > 0 ? parseStrategies(strategies.join(",")) : [])];
}

function parseWeights(text: string): WeightsChoice {
  if (text === "auto" || text === "random" || text === "checkpoint") return text;
  throw new GacError("BAD_ARGS", `--weights takes auto, random or checkpoint, got '${text}'`);
}

function parseGpus(text: string): number[] {
  const gpus = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map(Number);
  if (gpus.length === 0 || gpus.some((g) => !Number.isInteger(g) || g < 0) || new Set(gpus).size !== gpus.length) {
    throw new GacError("BAD_ARGS", `--gpus expects distinct GPU indices like 0,1; got '${text}'`);
  }
  return gpus;
}

export async function runE2eCommand(values: ParsedValues, command: string, io: CommandIO, deps: BenchDeps): Promise<number> {
  const checkpoints = stringList(values, "checkpoint").map((c) => ({ dir: resolve(io.cwd, c) }));
  if (checkpoints.length === 0) throw new GacError("BAD_ARGS", "gac bench e2e needs --checkpoint <dir> (one or more; headers only are read)");
  const grid = resolveGrid({ grid: stringValue(values, "grid"), prefill: stringValue(values, "prefill"), decode: stringValue(values, "decode") });
  const configs = selectConfigs(parseEngines(stringValue(values, "engine") ?? "all"), stringValue(values, "configs"));
  const models = await describeE2eModels({
    checkpoints,
    parents: stringList(values, "parent").map((p) => resolve(io.cwd, p)),
    variants: parseVariants(stringValue(values, "strategies") ?? "none,MINIMAL,OPTIMAL"),
    scale: scaleOption(values),
    weights: parseWeights(stringValue(values, "weights") ?? "auto"),
  });
  const noLogits = booleanValue(values, "no-logits");
  const now = deps.now ?? (() => new Date());
  const out = stringValue(values, "out");
  const outDir = out !== undefined ? resolve(io.cwd, out) : join(io.cwd, "results", makeRunId(now(), ["e2e"]));
  const json = booleanValue(values, "json");

  if (booleanValue(values, "list")) {
    const plan = planE2e(models, configs, grid, { present: new Set(), noLogits });
    const lines = [
      `grid ${grid.name}: ${gridPoints(grid)
        .map((p) => p.key)
        .join(", ")}; ${grid.prefillRepeats} prefill repeats, ${grid.decodeSteps} decode steps, ${grid.warmup} warm-up`,
      `configurations: ${configs.map((c) => c.id).join(", ")}`,
      ...models.map(
        (m) =>
          `model ${m.description.label}: ${m.description.spec.family}, ${m.role}, ${m.weightsNote}${m.sameAs !== undefined ? `; same model as ${m.sameAs} (not run again)` : `; ${m.changes} dim changes`}${m.skipped.length > 0 ? `, ${m.skipped.length} dims left (${m.skipped[0].reason})` : ""}`,
      ),
      ...groupRefusals(plan.refusals),
      `${plan.jobs.length} jobs, about ${formatDuration(estimateSeconds(plan.jobs) * 1000)} of GPU time`,
      ...plan.jobs.map((j) => j.case),
    ];
    io.out(lines.join("\n") + "\n");
    return 0;
  }

  const runId = (await readRunInfo(outDir))?.run_id ?? basename(outDir);
  const progress = createProgress(io);
  const result = await runE2e({
    models,
    configs,
    grid,
    noLogits,
    outDir,
    runId,
    gpus: parseGpus(stringValue(values, "gpus") ?? "0"),
    spawn: deps.spawn ?? pythonWorkerSpawner({ python: process.env.GAC_PYTHON ?? "python3" }),
    command,
    gitCommit: (deps.gitCommit ?? (() => null))(),
    signal: io.signal,
    onProgress: (p) => progress.update(p),
    now: () => now().getTime(),
  }).finally(() => progress.end());

  const data = readE2eRows(result.records);
  const saved = models.map(savedModel);
  const info = await readRunInfo(outDir);
  const profile = info ? await findGpuProfile(info.capability.gpu.name, [resolve(io.cwd, "profiles"), packagedProfilesDir()]) : null;
  // The GPU's measured whole-model GEMM ratios beside its profile, as bench/e2e-check.ts applies them.
  const gemmScales = profile ? await readGemmScales(profile.path) : [];
  const prediction = profile ? predictionTable(data.measurements, saved, profile.profile, { sustainedGemm: gemmScales, hostRegime: [] }) : null;
  const predictions = prediction?.rows ?? [];
  for (const a of result.plan.aliases) io.err(`${a.model} is the same model as ${a.sameAs} (same edits): not run again\n`);
  for (const line of groupRefusals(result.plan.refusals)) io.err(`${line}\n`);
  for (const f of result.run.failed) io.err(`failed on GPU ${f.gpu}: ${f.case}: ${f.message}\n`);
  if (result.missingRows.length > 0) io.err(`${result.missingRows.length} grid points or jobs have no row yet (first: ${result.missingRows[0]}): rerun the same command to retry them\n`);
  io.err(
    `${result.run.measured} rows measured, ${result.run.refused} refused or skipped${result.plan.alreadyDone > 0 ? `, ${result.plan.alreadyDone} already in the directory` : ""}; results in ${outDir}\n`,
  );
  if (json) {
    io.out(
      JSON.stringify(
        {
          schema: E2E_SCHEMA,
          run_dir: outDir,
          grid,
          configs: configs.map((c) => c.id),
          models: saved.map(({ spec: _spec, ...m }) => m),
          refusals: result.plan.refusals.map(({ params: _p, ...r }) => r),
          aliases: result.plan.aliases,
          measurements: data.measurements,
          failures: data.failures,
          logits: data.logits,
          predictions,
          missing_rows: result.missingRows,
          profile: profile ? profile.path : null,
          gemm_scales: gemmScales.map(({ gpu: _gpu, ...r }) => r),
        },
        null,
        2,
      ) + "\n",
    );
  } else {
    io.out(renderE2eTables(data, saved));
    if (predictions.length > 0 && profile) {
      const scales = gemmScales.length > 0 ? `; GEMM scales from ${gemmScalesPath(profile.path)}` : "; no measured GEMM scales beside it (x1)";
      io.out(`\n### Whole-model prediction beside the measurement (${profile.path}${scales})\n\n` + renderPredictionTable(predictions, prediction?.calibration));
    }
  }
  if (result.run.cancelled) return 130;
  return result.run.failed.length > 0 ? 1 : 0;
}

/** Options `gac bench` takes for `e2e` (merged into its option list). */
export const E2E_OPTIONS = {
  parent: { type: "string", multiple: true, valueName: "<dir>", description: "With `e2e`: a dense parent checkpoint, measured unrepaired beside the checkpoints of its shapes" },
  engine: { type: "string", valueName: "<name>", description: "With `e2e`: transformers, gac or all (default all)" },
  configs: {
    type: "string",
    valueName: "<list>",
    description: `With \`e2e\`: configurations or globs (${ENGINE_CONFIGS.map((c) => c.id)
      .slice(0, 2)
      .join(", ")}, gac/graph/*, ...)`,
  },
  grid: { type: "string", valueName: "<name>", description: "With `e2e`: quick, default or long" },
  prefill: { type: "string", valueName: "<BxS,...>", description: "With `e2e`: prefill points, e.g. 1x2048,4x2048 (replaces the grid's)" },
  decode: { type: "string", valueName: "<BxC,...>", description: "With `e2e`: decode points (batch x context), e.g. 1x4096,32x4096" },
  weights: { type: "string", valueName: "<src>", description: "With `e2e`: auto (random for header-only checkpoints), random or checkpoint" },
  scale: { type: "string", valueName: "<mode>", description: "With `e2e`: softmax scale of head_dim repairs: fold or logical (default fold)" },
  "no-logits": { type: "boolean", description: "With `e2e`: skip the original-vs-repaired logits jobs" },
  json: { type: "boolean", description: "With `e2e`: print models, measurements, logits and predictions as JSON" },
} as const;
