/**
 * How close a GPU profile's predictions are to measured calls of real models: every call measured by
 * `gac bench model` is rebuilt as the KernelCall `gac scan` predicts, and predicted and measured
 * times are compared per call group and as whole-model repair speedups (src/profile/prediction-accuracy.ts).
 *
 *   node --import tsx bench/predict-check.ts [--profile profiles/nvidia-h200.json] [--calls] [results dirs...]
 *
 * Results dirs default to results/*-model-*; --calls also lists every distinct call with its basis.
 * Only records measured on the profile's GPU are compared.
 */
import { readdir } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { checkPredictions, renderAccuracy } from "../src/profile/prediction-accuracy.js";
import { loadProfile } from "../src/profile/profile-store.js";
import { loadResults } from "../src/store/results-store.js";

const ROOT = resolve(import.meta.dirname, "..");

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { profile: { type: "string", default: join(ROOT, "profiles", "nvidia-h200.json") }, calls: { type: "boolean", default: false } },
});

async function defaultDirs(): Promise<string[]> {
  const dir = join(ROOT, "results");
  return (await readdir(dir))
    .filter((n) => /-model-/.test(n))
    .sort()
    .map((n) => join(dir, n));
}

const profilePath = resolve(values.profile ?? "");
const profile = await loadProfile(profilePath);
const dirs = positionals.length > 0 ? positionals.map((d) => resolve(d)) : await defaultDirs();
const loaded = await loadResults(dirs);
const records = loaded.records.filter((r) => r.gpu === profile.gpu.name);
const skipped = loaded.records.length - records.length;
const report = checkPredictions(profile, records);
process.stdout.write(`results: ${dirs.map((d) => relative(ROOT, d) || d).join(", ")}${skipped > 0 ? ` (${skipped} records of other GPUs skipped)` : ""}\n`);
process.stdout.write(renderAccuracy(report, `${relative(ROOT, profilePath)} (${profile.gpu.name}, runs ${profile.source_runs.join(", ")})`));
if (values.calls) {
  process.stdout.write("\nCalls (measured ms, predicted ms, basis):\n");
  for (const c of report.calls) {
    const shape =
      c.call.kind === "gemm" ? `m=${c.call.m} n=${c.call.n} k=${c.call.k}` : `B=${c.call.batch} H=${c.call.numHeads}/${c.call.numKvHeads} L=${c.call.qLen}x${c.call.kvLen} d=${c.call.headDimQk}`;
    process.stdout.write(`${c.group}  ${shape}  ${c.measured_ms.toPrecision(3)}  ${c.predicted_ms?.toPrecision(3) ?? "—"}  ${c.basis ?? ""}\n`);
  }
}
