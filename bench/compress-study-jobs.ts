/**
 * Worker job lines (docs/e2e-protocol.md, op `e2e`) for the compression study's real-size speed
 * runs, built here on the CPU from the header-only variants of bench/gpu-compress-study.sh
 * (GAC_SKIP_BENCH=1 writes them without a GPU), so the GPU machine needs only python3 + torch:
 *
 *   OUT=/tmp/cs GAC_WORK_DIR=/tmp/cs-work GAC_SKIP_BENCH=1 bash bench/gpu-compress-study.sh
 *   node --import tsx bench/compress-study-jobs.ts /tmp/cs-work/variants tmp/jobs-compress.jsonl
 *   PYTHONPATH=python python3 -u -m gac_worker < tmp/jobs-compress.jsonl > worker-results.jsonl   (GPU)
 *
 * One model per variant a, c, d, e (label = the variant's directory name), plus b: variant a with
 * the OPTIMAL repair's shapes (plan applied to the spec, config updated as `gac repair` does),
 * labelled `<method>-<size>-b<pct>-b`. Random weights: speed does not depend on values. Each model
 * is timed in gac's engine (eager: prefill 1x2048, decode 1x4096) and, where stock transformers can
 * build it from its config.json, in transformers SDPA too; each configuration not planned is
 * printed with its reason (bench/compress-study-plan.ts). A variant with the same shapes as one
 * already listed is not timed again: `<jobs>.aliases.json` maps its label to that one's (the study
 * table reads it). Budget 0.8 comes first, so a run cut short keeps whole groups.
 */
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { openCheckpoint, tensorShapes } from "../src/checkpoint/open.js";
import { planStudyJobs, type StudyVariant } from "./compress-study-plan.js";

const [root, out] = process.argv.slice(2);
if (!root || !out) throw new Error("usage: node --import tsx bench/compress-study-jobs.ts <variants dir> <jobs.jsonl>");
const budgetOf = (name: string) => Number(/-b(\d+)-[a-e]$/.exec(name)?.[1] ?? 0);
const names = (await readdir(root, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
names.sort((x, y) => budgetOf(y) - budgetOf(x) || x.localeCompare(y));
const variants: StudyVariant[] = [];
for (const name of names) {
  const ckpt = await openCheckpoint(join(root, name));
  variants.push({ name, config: ckpt.config, shapes: tensorShapes(ckpt) });
}
const { jobs, aliases, refusals } = planStudyJobs(variants);
await writeFile(out, jobs.map((j) => JSON.stringify(j)).join("\n") + "\n");
await writeFile(`${out}.aliases.json`, JSON.stringify(aliases, null, 2) + "\n");
for (const r of refusals) console.log(`not planned: ${r.label} ${r.config}: ${r.reason}`);
console.log(`${jobs.length} e2e jobs -> ${out}; ${Object.keys(aliases).length} variants share another's shapes (${out}.aliases.json); ${refusals.length} engine configurations not planned (above)`);
