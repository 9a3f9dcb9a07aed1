/**
 * The job lines of the committed end-to-end sweep (docs/e2e-protocol.md), built here from
 * header-only real-size fixtures so that the GPU machine needs only python3 + torch:
 *
 *   node bin/gac.js fixtures <kind> --size <size> --sparse --out <dir>   (for each kind below)
 *   npx tsx bench/e2e-jobs.ts <fixture root> <jobs.jsonl> [--no-study]
 *   PYTHONPATH=python python3 -u -m gac_worker < jobs.jsonl > worker-results.jsonl   (GPU)
 *
 * Models: the dense parents, every family unrepaired and repaired (MINIMAL, OPTIMAL where its
 * shapes differ from MINIMAL; the head_dim family also in logical-scale mode), the uniform MLP
 * pruning to 11469 (the dense Llama-3-8B's shapes with every MLP at that width), and the
 * compression study's SVD-LLM variants (ranks as the method picks them, rounded down, and padded
 * up by repair) at 20% and 40%. Random weights (speed does not depend on values); a repaired
 * model's weights are its original's with gac's TensorEdits applied, so logits compare like for like.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { openCheckpoint, tensorShapes } from "../src/checkpoint/open.js";
import type { Dtype, TensorShapes } from "../src/checkpoint/types.js";
import { buildModelSpec } from "../src/model/build-model-spec.js";
import type { ModelSpec } from "../src/model/types.js";
import { applyPlanToSpec } from "../src/plan/apply-plan.js";
import { planRepair } from "../src/plan/plan-repair.js";
import type { Strategy } from "../src/plan/types.js";
import { updateConfig } from "../src/repair/config-update.js";
import { withRepairedDisagreements } from "../src/repair/repaired-shapes.js";
import { screenChanges } from "../src/repair/exactness.js";
import { tensorEdits, type ScaleMode } from "../src/repair/tensor-edits.js";

interface Source {
  label: string;
  config: Record<string, unknown>;
  shapes: TensorShapes;
}

interface ModelDesc {
  label: string;
  spec: ModelSpec;
  hf_config: Record<string, unknown>;
  checkpoint: null;
  weights: "random";
  attention_scale: number | null;
  base: { spec: ModelSpec; edits: unknown[] } | null;
}

const PREFILL = [
  { batch: 1, seq: 2048 },
  { batch: 4, seq: 2048 },
];
const LONG = [{ batch: 1, seq: 16384 }];
const DECODE = [
  { batch: 1, context: 4096 },
  { batch: 32, context: 1024 },
];
const TIMING = { prefill_repeats: 5, decode_steps: 10, warmup: 1 };

function original(src: Source): ModelDesc {
  return { label: src.label, spec: buildModelSpec(src.config, src.shapes), hf_config: src.config, checkpoint: null, weights: "random", attention_scale: null, base: null };
}

function repaired(src: Source, orig: ModelDesc, strategy: Strategy, scaleMode: ScaleMode): ModelDesc | undefined {
  const plan = planRepair(orig.spec, strategy);
  const { accepted } = screenChanges(orig.spec, plan.changes, scaleMode);
  if (accepted.length === 0) return undefined;
  const lookup = (name: string) => {
    const t = src.shapes.get(name);
    if (!t) throw new Error(`${src.label}: no tensor ${name}`);
    return t;
  };
  const edits = tensorEdits(orig.spec, accepted, scaleMode, lookup);
  const config = updateConfig(src.config, orig.spec, accepted).config;
  const spec = withRepairedDisagreements(applyPlanToSpec(orig.spec, { ...plan, changes: accepted }), config, src.shapes, edits);
  const headDim = accepted.find((c) => c.site.kind === "head_dim");
  const suffix = scaleMode === "logical" ? `${strategy}-logical` : strategy;
  return {
    label: `${src.label}/${suffix}`,
    spec,
    hf_config: config,
    checkpoint: null,
    weights: "random",
    attention_scale: scaleMode === "logical" && headDim ? headDim.from ** -0.5 : null,
    base: { spec: orig.spec, edits },
  };
}

/** A copy of a source with some tensor shapes replaced (and config fields set). */
function reshaped(src: Source, label: string, shape: (name: string, s: readonly number[]) => readonly number[], config: Record<string, unknown> = {}): Source {
  const shapes = new Map<string, { dtype: Dtype; shape: readonly number[] }>();
  for (const [name, t] of src.shapes) shapes.set(name, { dtype: t.dtype, shape: shape(name, t.shape) });
  return { label, config: { ...src.config, ...config }, shapes };
}

/** Uniform MLP pruning: every layer's MLP at `width` (gate/up rows, down columns). */
function prunedMlp(dense: Source, width: number): Source {
  return reshaped(
    dense,
    `llama3-8b-pruned-mlp-${width}`,
    (name, s) => {
      if (/mlp\.(gate|up)_proj\.weight$/.test(name)) return [width, s[1]];
      if (/mlp\.down_proj\.weight$/.test(name)) return [s[0], width];
      return s;
    },
    { intermediate_size: width },
  );
}

/** SVD-LLM with the attention rank `ra` and MLP rank `rm` everywhere. */
function svdllmRanks(svd: Source, label: string, ra: number, rm: number): Source {
  return reshaped(svd, label, (name, s) => {
    const rank = /mlp\./.test(name) ? rm : ra;
    if (/_v_proj\.weight$/.test(name)) return [rank, s[1]];
    if (/_u_proj\.weight$/.test(name)) return [s[0], rank];
    return s;
  });
}

/** SVD-LLM's rank for keeping `keep` of an m x n matrix's parameters: floor(keep * m * n / (m + n)). */
const svdllmRank = (keep: number, m: number, n: number) => Math.floor((keep * m * n) / (m + n));
const roundDown = (r: number, k: number) => Math.floor(r / k) * k;

type Job = { type: "job"; id: string; op: string; params: Record<string, unknown> };

function speedJobs(m: ModelDesc, opts: { transformers: boolean; long: boolean; cudnnStory: boolean }): Job[] {
  const jobs: Job[] = [];
  const prefill = opts.long ? [...PREFILL, ...LONG] : PREFILL;
  const add = (engine: string, config: string, cache: string, grid: { prefill?: unknown[]; decode?: unknown[] }) =>
    jobs.push({ type: "job", id: `e2e/${m.label}/${engine}/${config}/${cache}`, op: "e2e", params: { model: m, engine, config, cache, ...grid, ...TIMING } });
  if (opts.transformers) {
    add("transformers", "sdpa", "dynamic", { prefill, decode: DECODE });
    add("transformers", "sdpa-nocudnn", "dynamic", { decode: DECODE });
    add("transformers", "sdpa", "static", { decode: DECODE });
    if (opts.cudnnStory) {
      add("transformers", "sdpa-avoid-recompile", "dynamic", { decode: DECODE });
      add("transformers", "eager", "dynamic", { prefill: PREFILL.slice(0, 1), decode: DECODE.slice(0, 1) });
    }
  }
  add("gac", "eager", "static", { prefill, decode: DECODE });
  add("gac", "eager-nocudnn", "static", { decode: DECODE });
  add("gac", "graph", "static", { decode: DECODE });
  add("gac", "graph-splitkv", "static", { decode: DECODE });
  return jobs;
}

/** decodePaths: also check the gac engine's decode paths against its prefill on the original (once per family). */
function logitsJob(orig: ModelDesc, rep: ModelDesc, transformers: boolean, decodePaths: boolean): Job {
  return {
    type: "job",
    id: `e2e_logits/${rep.label}`,
    op: "e2e_logits",
    params: { original: orig, repaired: rep, engines: transformers ? ["gac", "transformers"] : ["gac"], batch: 1, seq: 256, ...(decodePaths ? { decode_paths: true } : {}) },
  };
}

async function source(root: string, dir: string, label: string): Promise<Source> {
  const ckpt = await openCheckpoint(join(root, dir));
  return { label, config: ckpt.config, shapes: tensorShapes(ckpt) };
}

const sameShapes = (a: ModelDesc, b: ModelDesc) => JSON.stringify(a.spec) === JSON.stringify(b.spec);

async function main(): Promise<void> {
  const [root, out, flag] = process.argv.slice(2);
  if (!root || !out || (flag !== undefined && flag !== "--no-study")) throw new Error("usage: npx tsx bench/e2e-jobs.ts <fixture root> <jobs.jsonl> [--no-study]");
  const withStudy = flag !== "--no-study";
  const dense3 = await source(root, "llama-aligned-llama3-8b", "llama3-8b-dense");
  const dense2 = await source(root, "llama-aligned-llama2-7b", "llama2-7b-dense");
  const families: { src: Source; transformers: boolean; long: boolean; cudnnStory: boolean; logical?: boolean }[] = [
    { src: await source(root, "llama-direct-svd-llama3-8b", "llama3-8b-direct-svd"), transformers: true, long: true, cudnnStory: true, logical: true },
    { src: prunedMlp(dense3, 11469), transformers: true, long: false, cudnnStory: false },
    { src: await source(root, "palu-llama3-8b", "llama3-8b-palu"), transformers: false, long: false, cudnnStory: false },
    { src: await source(root, "pruned-flap-llama2-7b", "llama2-7b-flap"), transformers: false, long: false, cudnnStory: false },
    { src: await source(root, "asvd-llama2-7b", "llama2-7b-asvd"), transformers: false, long: false, cudnnStory: false },
    { src: await source(root, "svdllm-llama2-7b", "llama2-7b-svdllm"), transformers: false, long: false, cudnnStory: false },
  ];
  const speedOf: Job[][] = [];
  const logits: Job[] = [];
  speedOf.push(speedJobs(original(dense3), { transformers: true, long: true, cudnnStory: true }));
  for (const f of families) {
    const orig = original(f.src);
    const speed = speedJobs(orig, f);
    speedOf.push(speed);
    const variants: ModelDesc[] = [];
    for (const [strategy, mode] of [["MINIMAL", "fold"], ["OPTIMAL", "fold"], ...(f.logical ? [["MINIMAL", "logical"]] : [])] as [Strategy, ScaleMode][]) {
      const rep = repaired(f.src, orig, strategy, mode);
      if (!rep) continue;
      if (mode === "fold" && variants.some((v) => v.attention_scale === null && sameShapes(v, rep))) continue; // OPTIMAL = MINIMAL here
      variants.push(rep);
    }
    variants.forEach((rep, i) => {
      // A logical-scale repair has the fold's shapes: time only the fold, check both functions.
      if (rep.attention_scale === null) speed.push(...speedJobs(rep, f));
      logits.push(logitsJob(orig, rep, f.transformers, i === 0));
    });
  }
  const dense2Jobs = speedJobs(original(dense2), { transformers: true, long: false, cudnnStory: false });
  // Compression study (issue 12): SVD-LLM on Llama-2-7B at 20% and 40% fewer parameters.
  const svd = families[5].src;
  const study: Job[] = [];
  for (const keep of withStudy ? [0.8, 0.6] : []) {
    const ra = svdllmRank(keep, 4096, 4096);
    const rm = svdllmRank(keep, 4096, 11008);
    const pct = Math.round((1 - keep) * 100);
    const picked = svdllmRanks(svd, `llama2-7b-svdllm-${pct}pct-r${ra}-${rm}`, ra, rm);
    const down = svdllmRanks(svd, `llama2-7b-svdllm-${pct}pct-down8-r${roundDown(ra, 8)}-${roundDown(rm, 8)}`, roundDown(ra, 8), roundDown(rm, 8));
    const pickedDesc = original(picked);
    const models = [pickedDesc, original(down)];
    const up = repaired(picked, pickedDesc, "MINIMAL", "fold");
    if (up) models.push(up);
    for (const m of models) {
      if (keep === 0.8 && m.label.endsWith("r1638-2388")) continue; // the family run above measures these shapes
      if (keep === 0.8 && m.label.endsWith("/MINIMAL")) continue;
      study.push(...speedJobs(m, { transformers: false, long: false, cudnnStory: false }));
    }
  }
  // Most telling first (a run cut short by its time limit keeps them): the dense parent and the
  // head_dim and MLP-width families, then every logits check, then the other families.
  const jobs = [...speedOf.slice(0, 3).flat(), ...logits, ...speedOf.slice(3).flat(), ...dense2Jobs, ...study];
  writeFileSync(out, jobs.map((j) => JSON.stringify(j)).join("\n") + "\n");
  const count = (op: string) => jobs.filter((j) => j.op === op).length;
  console.log(`${jobs.length} jobs (${count("e2e")} e2e, ${count("e2e_logits")} e2e_logits) -> ${out}`);
}

await main();
