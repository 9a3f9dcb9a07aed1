/**
 * Whole-model predictions against end-to-end measurements: for every committed `gac bench e2e` grid
 * point, the prediction of src/profile/predict-e2e.ts (per-call predictions of the GPU's profile
 * summed over the calls the engine configuration runs, plus elementwise bytes and the kernels it
 * launches), the measurement, their ratio, and for every check off by more than 15% the paired
 * measurement of the same run that sizes its mechanism (src/bench/e2e/prediction-table.ts): it is
 * "explained" only when that closes the gap to within 15%. The points the host and cuDNN constants
 * are fitted on (src/bench/e2e/calibration.ts) are printed as calibration and not counted. The last
 * line: N within 15%, M explained (by mechanism), K not explained.
 * Also prints the gac engine's CUDA-graph decode (both attention paths) at batch 1 against the memory roofline.
 *
 *   node --import tsx bench/e2e-check.ts [--profile profiles/nvidia-h200.json] [--jobs jobs.jsonl]
 *        [--sustained-gemm DIR] [--host-probe DIR] [results dirs...]
 *
 * --sustained-gemm / --host-probe: the committed measurements of the mechanisms no pair of an e2e
 * run sizes (defaults: results/20261202T101700Z-sustained-gemm, results/20261202T091439Z-host-probe;
 * "" for none): see src/bench/e2e/measured-mechanisms.ts.
 *
 * Results dirs default to results/*-e2e*. A `gac bench e2e` run directory has its store rows and
 * e2e-models.json (the models' specs); a directory of raw worker output (worker-results.jsonl, the
 * committed sweep of bench/gpu-e2e-worker.sh) needs the job lines it answered, for the specs:
 * `npx tsx bench/e2e-jobs.ts <fixture root> tmp/jobs-e2e.jsonl` rebuilds them (see its README).
 * Only rows measured on the profile's GPU are compared. Exit 1 when a check is off and not explained.
 */
import { readdir, readFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { readE2eRows, type E2eRow } from "../src/bench/e2e/measurements.js";
import { readModelsFile } from "../src/bench/e2e/models-file.js";
import { rowsFromWorkerLines } from "../src/bench/e2e/worker-lines.js";
import { predictionTable, renderPredictionTable, type ModelWithSpec } from "../src/bench/e2e/prediction-table.js";
import { readMeasuredMechanisms } from "../src/bench/e2e/mechanism-files.js";
import { loadProfile } from "../src/profile/profile-store.js";
import { loadResults } from "../src/store/results-store.js";

const ROOT = resolve(import.meta.dirname, "..");
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    profile: { type: "string", default: join(ROOT, "profiles", "nvidia-h200.json") },
    jobs: { type: "string" },
    // The committed measurements of the two mechanisms no e2e pair sizes (src/bench/e2e/measured-mechanisms.ts); "" = none.
    "sustained-gemm": { type: "string", default: join(ROOT, "results", "20261202T101700Z-sustained-gemm") },
    "host-probe": { type: "string", default: join(ROOT, "results", "20261202T091439Z-host-probe") },
  },
});

async function defaultDirs(): Promise<string[]> {
  const dir = join(ROOT, "results");
  return (await readdir(dir))
    .filter((n) => /-e2e/.test(n))
    .sort()
    .map((n) => join(dir, n));
}

const profilePath = resolve(values.profile ?? "");
const profile = await loadProfile(profilePath);
const dirs = positionals.length > 0 ? positionals.map((d) => resolve(d)) : await defaultDirs();
if (dirs.length === 0) {
  process.stdout.write("no e2e results (results/*-e2e*); run bench/gpu-e2e-run.sh on a GPU machine first\n");
  process.exit(0);
}
const models: ModelWithSpec[] = (await Promise.all(dirs.map((d) => readModelsFile(d)))).flat();
const hasWorkerOutput = async (d: string) => (await readdir(d)).includes("worker-results.jsonl");
const storeDirs: string[] = [];
for (const d of dirs) if (!(await hasWorkerOutput(d)) || (await readdir(d)).some((f) => /^results.*\.jsonl/.test(f))) storeDirs.push(d);
const loaded = storeDirs.length > 0 ? await loadResults(storeDirs) : { records: [] };
const all: E2eRow[] = [...loaded.records];
const jobLines = values.jobs ? (await readFile(resolve(values.jobs), "utf8")).split("\n") : null;
for (const dir of dirs) {
  const raw = await readFile(join(dir, "worker-results.jsonl"), "utf8").catch(() => null);
  if (raw === null) continue;
  if (!jobLines) {
    process.stdout.write(`${relative(ROOT, dir)} holds raw worker output: give --jobs <the job lines it answered> (bench/e2e-jobs.ts rebuilds them)\n`);
    process.exit(2);
  }
  const imported = rowsFromWorkerLines(raw.split("\n"), jobLines);
  all.push(...imported.rows);
  models.push(...imported.models);
  if (imported.unmatched.length > 0) process.stdout.write(`${imported.unmatched.length} results have no job line in ${values.jobs} (first: ${imported.unmatched[0]}): skipped\n`);
}
const rows = all.filter((r) => r.gpu === profile.gpu.name);
const data = readE2eRows(rows);
const sustainedDir = values["sustained-gemm"] ? resolve(values["sustained-gemm"]) : undefined;
const probeDir = values["host-probe"] ? resolve(values["host-probe"]) : undefined;
const measured = await readMeasuredMechanisms({ sustainedGemm: sustainedDir, hostProbe: probeDir });
const { rows: table, calibration } = predictionTable(data.measurements, models, profile, measured);
process.stdout.write(
  `results: ${dirs.map((d) => relative(ROOT, d) || d).join(", ")}; profile ${relative(ROOT, profilePath)} (${profile.gpu.name})` +
    `${all.length > rows.length ? `; ${all.length - rows.length} rows of other GPUs skipped` : ""}\n` +
    `measured GEMM scales (whole-model GEMM time / isolated sum), ${sustainedDir ? relative(ROOT, sustainedDir) : "none"}: ${
      measured.sustainedGemm.map((e) => `${e.gpu} ${e.graph ? `graph decode M=${e.tokens}` : `prefill ${e.tokens} tokens`} ${e.ratios.map((r) => r.toFixed(3)).join(", ")}`).join("; ") || "-"
    } (the prediction's GEMM part x the median of its phase's runs; eager decode and unmeasured M: x1); ` +
    `host-regime ${probeDir ? relative(ROOT, probeDir) : "none"} (${measured.hostRegime.map((e) => `${e.engine} ${e.band.toFixed(2)}x`).join(", ") || "-"})\n\n`,
);
process.stdout.write(renderPredictionTable(table, calibration));

for (const config of ["gac/graph/static", "gac/graph-splitkv/static"]) {
  const graphB1 = data.measurements.filter((m) => m.config === config && m.phase === "decode" && m.batch === 1 && m.roofline);
  if (graphB1.length === 0) continue;
  const attention = config.includes("splitkv") ? "split-KV attention" : "SDPA with a mask";
  let within = 0;
  process.stdout.write(`\ngac engine, CUDA-graph decode (${config}, ${attention}) at batch 1 against the memory roofline (acceptance: within 2x):\n`);
  for (const m of graphB1) {
    const ratio = m.median_ms / (m.roofline?.ms ?? Number.NaN);
    if (ratio <= 2) within++;
    process.stdout.write(`  ${m.model} ${m.point}: ${m.median_ms.toFixed(3)} ms, roofline ${m.roofline?.ms.toFixed(3)} ms, ${ratio.toFixed(2)}x ${ratio <= 2 ? "(within 2x)" : "(MORE THAN 2x)"}\n`);
  }
  process.stdout.write(`  ${within} of ${graphB1.length} within 2x\n`);
}
process.exit(table.some((r) => r.off && r.explained_by === null) ? 1 : 0);
