/**
 * One JSON style for every `--json` output: snake_case keys, a `schema` tag naming the document
 * kind and version ("gac-<thing>/<n>", one JSON Schema per kind in docs/schemas/), 2-space
 * indent, and Infinity/NaN written as strings (JSON has neither; null would read as "missing").
 *
 * Library objects keep their TypeScript names (camelCase); the CLI converts keys here, once.
 * Only identifier-like keys are converted (`maxRelDiff` -> `max_rel_diff`); keys that are data,
 * such as tensor names (`model.layers.0.self_attn.q_proj.weight`) or strategy names (`MINIMAL`),
 * are left as they are.
 */
import { isGacError } from "../errors.js";
import type { CommandIO } from "./command.js";

/** Every JSON document the CLI prints, by schema tag; docs/schemas/<tag without "/n">.schema.json describes each. */
export const JSON_SCHEMAS = {
  scan: "gac-scan/1",
  ggufScan: "gac-gguf-scan/1",
  plan: "gac-plan/1",
  repair: "gac-repair/1",
  verify: "gac-verify/1",
  demo: "gac-demo/1",
  quant: "gac-quant/1",
  benchList: "gac-bench-list/1",
  benchSummary: "gac-bench-summary/1",
  fixturesList: "gac-fixtures-list/1",
  fixtures: "gac-fixtures/1",
  profile: "gac-profile-written/1",
  report: "gac-report-written/1",
  error: "gac-error/1",
} as const;

export type JsonSchemaTag = (typeof JSON_SCHEMAS)[keyof typeof JSON_SCHEMAS];

const CAMEL_KEY = /^[a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)+$/;

/** `maxRelDiff` -> `max_rel_diff`; anything that is not a camelCase identifier is returned as is. */
export function snakeCaseKey(key: string): string {
  if (!CAMEL_KEY.test(key)) return key;
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** A deep copy with every camelCase key in snake_case (arrays and plain objects; other values as they are). */
function snakeCaseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeCaseKeys);
  if (typeof value !== "object" || value === null) return value;
  if (value instanceof Date) return value.toISOString();
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[snakeCaseKey(k)] = snakeCaseKeys(v);
  return out;
}

function finiteOrText(_key: string, v: unknown): unknown {
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  if (typeof v === "bigint") return Number(v);
  return v;
}

export function stringifyJson(value: unknown): string {
  return JSON.stringify(value, finiteOrText, 2) + "\n";
}

/** `{ schema, ...value }` in the JSON style (a `schema` key already in `value` is replaced). */
export function jsonDocument(schema: JsonSchemaTag, value: object): Record<string, unknown> {
  const body = snakeCaseKeys(value) as Record<string, unknown>;
  delete body.schema;
  return { schema, ...body };
}

export function printJson(io: Pick<CommandIO, "out">, schema: JsonSchemaTag, value: object): void {
  io.out(stringifyJson(jsonDocument(schema, value)));
}

/** A failure as `gac-error/1`: the GacError code (or BUG), its one-line message and the exit code. */
export function errorJson(e: unknown, exitCode: number): Record<string, unknown> {
  const code = isGacError(e) ? e.code : "BUG";
  const message = e instanceof Error ? e.message : String(e);
  return { schema: JSON_SCHEMAS.error, error: { code, message, exit_code: exitCode } };
}
