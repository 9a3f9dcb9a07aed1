/**
 * The config.json of the repaired checkpoint: the input's, with only the fields that the new shapes
 * change (everything else, including unknown keys, kept as read).
 *   head_dim d -> D      head_dim = D; rope_theta = rope_theta^(D/d), so that base'^(-2j/D) equals
 *                        base^(-2j/d) for every original frequency j < d/2 (default/linear/llama3)
 *   intermediate         intermediate_size, when every layer ends with the same width
 *   PaLU ranks           head_wise_ranks[module] = per-group ranks
 *   ASVD ranks           truncation_ranks[module] = rank
 */
import type { ModelSpec } from "../model/types.js";
import type { DimChange } from "../plan/types.js";

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
    const theta = spec.rope.theta ** (headDim.to / headDim.from);
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
