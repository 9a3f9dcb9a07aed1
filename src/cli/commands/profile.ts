/** `gac profile <results-dir...>`: condense bench results into one profile per GPU. */
import { resolve } from "node:path";
import { GacError } from "../../errors.js";
import { booleanValue, defineCommand, stringValue } from "../command.js";
import { JSON_SCHEMAS, printJson } from "../json-output.js";
import { loadResults } from "../../store/results-store.js";
import { buildProfile } from "../../profile/build-profile.js";
import { writeProfile } from "../../profile/profile-store.js";

export const profileCommand = defineCommand({
  name: "profile",
  summary: "Build GPU profiles (latency against dim per op) from bench results, for scan --gpu and plan",
  options: {
    out: { type: "string", valueName: "<dir>", description: "Where <gpu-slug>.json is written", default: "profiles" },
    json: { type: "boolean", description: "Print the profiles written as JSON" },
  },
  positionals: [{ name: "results-dir", description: "Run directories (results/<run-id>); shards and runs merge", required: true, variadic: true }],
  examples: ["gac profile results/20260131-142500-all", "gac profile results/run-a results/run-b --out my-profiles"],
  async run({ values, positionals, io }) {
    const dirs = positionals.map((d) => resolve(io.cwd, d));
    const loaded = await loadResults(dirs);
    for (const t of loaded.truncated) io.err(`note: ${t.file} ends in an unfinished line (line ${t.line}, a killed run): ignored\n`);
    const gpus = [...new Set(loaded.records.map((r) => r.gpu))];
    if (gpus.length === 0) throw new GacError("BAD_RESULTS", `no results in ${positionals.join(", ")}`);
    const outDir = resolve(io.cwd, stringValue(values, "out") ?? "profiles");
    const written: { path: string; gpu: string; series: number; points: number; source_runs: number }[] = [];
    for (const gpu of gpus) {
      const records = loaded.records.filter((r) => r.gpu === gpu);
      const runIds = new Set(records.map((r) => r.run_id));
      const runs = loaded.runs.filter((r) => runIds.has(r.run_id));
      const profile = buildProfile(records, runs);
      const path = await writeProfile(outDir, profile);
      const points = profile.series.reduce((n, s) => n + s.points.length, 0);
      written.push({ path, gpu, series: profile.series.length, points, source_runs: profile.source_runs.length });
      if (!booleanValue(values, "json")) io.out(`${path}: ${gpu}, ${profile.series.length} series, ${points} points from ${profile.source_runs.length} run(s)\n`);
    }
    if (booleanValue(values, "json")) printJson(io, JSON_SCHEMAS.profile, { profiles: written });
    return 0;
  },
});
