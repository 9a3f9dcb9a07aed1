/**
 * The compression study's worker job lines (docs/e2e-protocol.md, op `e2e`), pure: variants' specs
 * and configs in, job lines, aliases and refusals out (bench/compress-study-jobs.ts reads the
 * checkpoints and writes the files).
 *
 * Every model is timed in gac's engine; in stock transformers only where it can build the model from
 * its config.json (transformersRefusal, the rule `gac bench e2e` plans by). FLAP's layout keeps the
 * original intermediate_size, so prune-mlp's a, c, d are refused with that reason (the H200 run of
 * 2026-12-02 had them fail inside transformers instead); b, written as `gac repair` writes it
 * (config updated), loads.
 */
import type { TensorShapes } from "../src/checkpoint/types.js";
import { transformersRefusal } from "../src/bench/e2e/engines.js";
import { buildModelSpec } from "../src/model/build-model-spec.js";
import type { ModelSpec } from "../src/model/types.js";
import { planRepair } from "../src/plan/plan-repair.js";
import { updateConfig } from "../src/repair/config-update.js";
import { screenChanges } from "../src/repair/exactness.js";
import { tensorEdits } from "../src/repair/tensor-edits.js";

export interface StudyModel {
  label: string;
  spec: ModelSpec;
  hf_config: Record<string, unknown>;
  checkpoint: null;
  weights: "random";
  attention_scale: null;
  base: null;
}

/** One variant as read from its (header-only) checkpoint. */
export interface StudyVariant {
  name: string;
  config: Record<string, unknown>;
  shapes: TensorShapes;
}

export interface StudyJobs {
  jobs: object[];
  /** label -> the label of the model with the same spec, timed in its place. */
  aliases: Record<string, string>;
  /** Engine configurations not planned for a model, and why. */
  refusals: { label: string; config: string; reason: string }[];
}

const PREFILL = [{ batch: 1, seq: 2048 }];
const DECODE = [{ batch: 1, context: 4096 }];
const TIMING = { prefill_repeats: 5, decode_steps: 10, warmup: 1 };
const TRANSFORMERS = "transformers/sdpa/dynamic";

function job(m: StudyModel, engine: string, config: string, cache: string): object {
  return { type: "job", id: `e2e/${m.label}/${engine}/${config}/${cache}`, op: "e2e", params: { model: m, engine, config, cache, prefill: PREFILL, decode: DECODE, ...TIMING } };
}

const model = (label: string, spec: ModelSpec, hf_config: Record<string, unknown>): StudyModel => ({
  label,
  spec,
  hf_config,
  checkpoint: null,
  weights: "random",
  attention_scale: null,
  base: null,
});

/**
 * Variant a after `gac repair --strategy OPTIMAL`, as the repaired checkpoint would read back: the
 * plan's tensor edits applied to a's shapes and the updated config, read by buildModelSpec (so its
 * config disagreements are the repaired checkpoint's, not a's). Null when the repair changes nothing.
 */
export function repairedOptimal(label: string, a: StudyVariant): StudyModel | null {
  const spec = buildModelSpec(a.config, a.shapes);
  const plan = planRepair(spec, "OPTIMAL");
  const { accepted } = screenChanges(spec, plan.changes, "fold");
  if (accepted.length === 0) return null;
  const lookup = (name: string) => {
    const t = a.shapes.get(name);
    if (t === undefined) throw new Error(`${a.name}: the repair plan names tensor ${name}, which the checkpoint does not have`);
    return t;
  };
  const edited = new Map(tensorEdits(spec, accepted, "fold", lookup).map((e) => [e.tensor, e.to]));
  const shapes = new Map([...a.shapes].map(([name, t]) => [name, { dtype: t.dtype, shape: edited.get(name) ?? t.shape }]));
  const config = updateConfig(a.config, spec, accepted).config;
  return model(label, buildModelSpec(config, shapes), config);
}

/**
 * Job lines for every variant (and b after each a), in the order given. A model with the same spec
 * as one already planned is not timed again: `aliases` maps it to that one.
 */
export function planStudyJobs(variants: readonly StudyVariant[]): StudyJobs {
  const out: StudyJobs = { jobs: [], aliases: {}, refusals: [] };
  const timed = new Map<string, string>();
  const add = (m: StudyModel) => {
    const key = JSON.stringify(m.spec);
    const same = timed.get(key);
    if (same !== undefined) {
      out.aliases[m.label] = same;
      return;
    }
    timed.set(key, m.label);
    out.jobs.push(job(m, "gac", "eager", "static"));
    const why = transformersRefusal(m.spec, m.hf_config);
    if (why === null) out.jobs.push(job(m, "transformers", "sdpa", "dynamic"));
    else out.refusals.push({ label: m.label, config: TRANSFORMERS, reason: why });
  };
  for (const v of variants) {
    add(model(v.name, buildModelSpec(v.config, v.shapes), v.config));
    if (v.name.endsWith("-a")) {
      const b = repairedOptimal(v.name.replace(/-a$/, "-b"), v);
      if (b !== null) add(b);
    }
  }
  return out;
}
