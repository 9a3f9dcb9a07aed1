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
 * load it (dense family, one geometry for all layers), in transformers SDPA too. A variant with the
 * same shapes as one already listed is not timed again: `<jobs>.aliases.json` maps its label to that
 * one's (the study table reads it). Budget 0.8 comes first, so a run cut short keeps whole groups.
 */
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { openCheckpoint } from "../src/checkpoint/open.js";
import { loadModelSpec } from "../src/model/load-model-spec.js";
import type { ModelSpec } from "../src/model/types.js";
import { applyPlanToSpec } from "../src/plan/apply-plan.js";
import { planRepair } from "../src/plan/plan-repair.js";
import { updateConfig } from "../src/repair/config-update.js";
import { screenChanges } from "../src/repair/exactness.js";

interface ModelDesc {
  label: string;
  spec: ModelSpec;
  hf_config: Record<string, unknown>;
  checkpoint: null;
  weights: "random";
  attention_scale: null;
  base: null;
}

const PREFILL = [{ batch: 1, seq: 2048 }];
const DECODE = [{ batch: 1, context: 4096 }];
const TIMING = { prefill_repeats: 5, decode_steps: 10, warmup: 1 };

function speedJobs(m: ModelDesc): object[] {
  const job = (engine: string, config: string, cache: string, grid: object) => ({
    type: "job",
    id: `e2e/${m.label}/${engine}/${config}/${cache}`,
    op: "e2e",
    params: { model: m, engine, config, cache, ...grid, ...TIMING },
  });
  const jobs = [job("gac", "eager", "static", { prefill: PREFILL, decode: DECODE })];
  if (m.spec.family === "dense" && !m.spec.heterogeneous) jobs.push(job("transformers", "sdpa", "dynamic", { prefill: PREFILL, decode: DECODE }));
  return jobs;
}

/** Variant a with the OPTIMAL repair's shapes, as `gac repair --strategy OPTIMAL` would write them. */
function repairedOptimal(label: string, spec: ModelSpec, config: Record<string, unknown>): ModelDesc | null {
  const plan = planRepair(spec, "OPTIMAL");
  const { accepted } = screenChanges(spec, plan.changes, "fold");
  if (accepted.length === 0) return null;
  return {
    label,
    spec: applyPlanToSpec(spec, { ...plan, changes: accepted }),
    hf_config: updateConfig(config, spec, accepted).config,
    checkpoint: null,
    weights: "random",
    attention_scale: null,
    base: null,
  };
}

const [root, out] = process.argv.slice(2);
if (!root || !out) throw new Error("usage: node --import tsx bench/compress-study-jobs.ts <variants dir> <jobs.jsonl>");
const jobs: object[] = [];
const aliases: Record<string, string> = {};
const timed = new Map<string, string>();
const add = (m: ModelDesc) => {
  const key = JSON.stringify(m.spec);
  const same = timed.get(key);
  if (same !== undefined) {
    aliases[m.label] = same;
    return;
  }
  timed.set(key, m.label);
  jobs.push(...speedJobs(m));
};
const budgetOf = (name: string) => Number(/-b(\d+)-[a-e]$/.exec(name)?.[1] ?? 0);
const names = (await readdir(root, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
names.sort((x, y) => budgetOf(y) - budgetOf(x) || x.localeCompare(y));
for (const name of names) {
  const ckpt = await openCheckpoint(join(root, name));
  const spec = loadModelSpec(ckpt);
  add({ label: name, spec, hf_config: ckpt.config, checkpoint: null, weights: "random", attention_scale: null, base: null });
  if (name.endsWith("-a")) {
    const b = repairedOptimal(name.replace(/-a$/, "-b"), spec, ckpt.config);
    if (b !== null) add(b);
  }
}
await writeFile(out, jobs.map((j) => JSON.stringify(j)).join("\n") + "\n");
await writeFile(`${out}.aliases.json`, JSON.stringify(aliases, null, 2) + "\n");
console.log(`${jobs.length} e2e jobs -> ${out}; ${Object.keys(aliases).length} variants share another's shapes (${out}.aliases.json)`);
