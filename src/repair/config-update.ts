/**
 * The config.json of the repaired checkpoint: the input's, with only the fields that the new shapes
 * change (everything else, including unknown keys, kept as read).
 *   head_dim d -> D      head_dim = D; rope_theta = rope_theta^(D/d), so that base'^(-2j/D) equals
 *                        base^(-2j/d) for every original frequency j < d/2 (default/linear/llama3)
 *   intermediate         intermediate_size, when every layer ends with the same width
 *   PaLU ranks           head_wise_ranks[module] = per-group ranks
 *   ASVD ranks           truncation_ranks[module] = rank
 */
import { MAX_CONFIG_BYTES } from "../checkpoint/open.js";
import { GacError, describeValue, formatCount } from "../errors.js";
import type { ModelSpec } from "../model/types.js";
import type { DimChange } from "../plan/types.js";
import { parseBoundedJson } from "../util/bounded-json.js";

export interface ConfigFieldChange {
  field: string;
  from: unknown;
  to: unknown;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The config key of a module: "model.layers.3.self_attn.k_proj" (PaLU and ASVD write these names). */
function moduleKeys(record: Record<string, unknown>, layer: number, linear: string): string[] {
  const suffix = `layers.${layer}.${linear}`;
  return Object.keys(record).filter((k) => k === suffix || k.endsWith(`.${suffix}`));
}

/**
 * rope_theta after head_dim d -> D: theta^(D/d). Refused unless it is a finite positive number
 * whose D/d-th root gives back theta (1e308 overflows to Infinity, which JSON writes as null;
 * 1e-300 underflows to 0; a subnormal result keeps too few bits for the identity to hold).
 */
export function paddedRopeTheta(theta: number, from: number, to: number): number {
  if (!(Number.isFinite(theta) && theta > 0)) {
    throw new GacError("BAD_CONFIG", `rope_theta is ${describeValue(theta)}; RoPE needs a finite positive base`);
  }
  const next = theta ** (to / from);
  const back = Math.log(next) * (from / to);
  const ok = Number.isFinite(next) && next >= Number.MIN_VALUE * 2 ** 52 && Math.abs(back - Math.log(theta)) <= 1e-9 * Math.max(1, Math.abs(Math.log(theta)));
  if (!ok) {
    throw new GacError(
      "UNSUPPORTED",
      `head_dim ${from} -> ${to} needs rope_theta ${theta}^(${to}/${from}) = ${next}, which is not a finite positive number a config can hold exactly; this head_dim cannot be padded (rerun with a strategy that keeps head_dim, or fix rope_theta)`,
    );
  }
  return next;
}

/** Same JSON value (numbers compared with ===, so -0 and 0 agree as JSON writes them). */
function sameJson(a: unknown, b: unknown): boolean {
  if (typeof a !== "object" || a === null || typeof b !== "object" || b === null) return a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const rb = b as Record<string, unknown>;
  return ka.every((k) => Object.hasOwn(rb, k) && sameJson((a as Record<string, unknown>)[k], rb[k]));
}

/**
 * The output config.json text: indented when that fits gac's own config limit, compact otherwise
 * (indenting a 14 MB config doubled it past the 16 MB limit), and checked by reading it back under
 * the limits every config is read with: it must load and hold exactly `config`.
 */
export function serializeConfig(config: Record<string, unknown>, where: string): string {
  const pretty = JSON.stringify(config, null, 2) + "\n";
  const text = Buffer.byteLength(pretty) <= MAX_CONFIG_BYTES ? pretty : JSON.stringify(config) + "\n";
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_CONFIG_BYTES) {
    throw new GacError(
      "BAD_CONFIG",
      `the repaired config.json of ${where} would have ${formatCount(bytes)} bytes, over gac's ${formatCount(MAX_CONFIG_BYTES)}-byte config limit: shrink the input's config.json`,
    );
  }
  const back = parseBoundedJson(text, `the repaired config.json of ${where}`, "BAD_CONFIG");
  if (!sameJson(back, config)) {
    throw new GacError("BAD_CONFIG", `the repaired config.json of ${where} does not read back as written (a value JSON cannot hold): check the input's config.json for unusual numbers`);
  }
  return text;
}

export function updateConfig(config: Record<string, unknown>, spec: ModelSpec, changes: readonly DimChange[]): { config: Record<string, unknown>; changed: ConfigFieldChange[] } {
  const out: Record<string, unknown> = structuredClone(config);
  const changed: ConfigFieldChange[] = [];
  const set = (target: Record<string, unknown>, key: string, field: string, value: unknown) => {
    if (JSON.stringify(target[key]) === JSON.stringify(value)) return;
    changed.push({ field, from: target[key] ?? null, to: value });
    target[key] = value;
  };

  const headDim = changes.find((c) => c.site.kind === "head_dim");
  if (headDim) {
    set(out, "head_dim", "head_dim", headDim.to);
    const theta = paddedRopeTheta(spec.rope.theta, headDim.from, headDim.to);
    const params = out.rope_parameters;
    if (isRecord(params) && typeof params.rope_theta === "number") set(params, "rope_theta", "rope_parameters.rope_theta", theta);
    else set(out, "rope_theta", "rope_theta", theta);
  }

  if (changes.some((c) => c.site.kind === "intermediate")) {
    const widths = new Map(spec.layers.map((l) => [l.index, l.mlp.intermediate]));
    for (const c of changes) if (c.site.kind === "intermediate") widths.set(c.site.layer, c.to);
    const distinct = new Set(widths.values());
    if (distinct.size === 1) set(out, "intermediate_size", "intermediate_size", [...distinct][0]);
  }

  for (const field of ["head_wise_ranks", "truncation_ranks"] as const) {
    const record = out[field];
    if (!isRecord(record)) continue;
    for (const c of changes) {
      const site = c.site;
      if (site.kind !== "rank") continue;
      for (const key of moduleKeys(record, site.layer, site.linear)) {
        const current = record[key];
        if (field === "head_wise_ranks" && Array.isArray(current) && site.group !== undefined && site.group < current.length) {
          const next = [...current];
          next[site.group] = c.to;
          set(record, key, `${field}.${key}`, next);
        } else if (field === "truncation_ranks" && typeof current === "number") {
          set(record, key, `${field}.${key}`, c.to);
        }
      }
    }
  }
  return { config: out, changed: mergeChanges(changed) };
}

/** Several group changes of one PaLU module are one field change (first `from`, last `to`). */
function mergeChanges(changes: ConfigFieldChange[]): ConfigFieldChange[] {
  const byField = new Map<string, ConfigFieldChange>();
  for (const c of changes) {
    const prev = byField.get(c.field);
    byField.set(c.field, prev ? { field: c.field, from: prev.from, to: c.to } : c);
  }
  return [...byField.values()];
}
