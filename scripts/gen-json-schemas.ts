/**
 * Writes docs/schemas/<kind>.schema.json (JSON Schema 2020-12) for every JSON document the CLI
 * prints, inferred from real documents (test/helpers/json-samples.ts). Objects keep
 * additionalProperties open: within one schema tag fields are only added, never renamed or
 * retyped. Maps keyed by data (tensor names, dim ids, block sizes) become additionalProperties.
 *   node --import tsx scripts/gen-json-schemas.ts
 */
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { jsonSamples } from "../test/helpers/json-samples.js";

type Schema = Record<string, unknown>;

const OUT = fileURLToPath(new URL("../docs/schemas/", import.meta.url));

function jsonType(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

/** Keys that are data, not field names: dotted ids, numbers, ids with spaces or colons. */
function isDataKey(k: string): boolean {
  return /[.:\s/]/.test(k) || /^\d+$/.test(k);
}

function infer(values: unknown[]): Schema {
  const types = new Set(values.map(jsonType));
  if (types.has("integer") && types.has("number")) types.delete("integer");
  const schemas: Schema[] = [];
  for (const t of types) {
    const of = values.filter((v) => jsonType(v) === t || (t === "number" && jsonType(v) === "integer"));
    if (t === "object") {
      const objects = of as Record<string, unknown>[];
      const keys = [...new Set(objects.flatMap((o) => Object.keys(o)))];
      if (keys.length > 0 && keys.every(isDataKey)) {
        schemas.push({ type: "object", additionalProperties: infer(objects.flatMap((o) => Object.values(o))) });
        continue;
      }
      const properties: Record<string, Schema> = {};
      for (const k of keys) properties[k] = infer(objects.filter((o) => k in o).map((o) => o[k]));
      const required = keys.filter((k) => objects.every((o) => k in o));
      schemas.push({ type: "object", properties, ...(required.length > 0 ? { required } : {}) });
    } else if (t === "array") {
      const items = (of as unknown[][]).flat();
      schemas.push(items.length > 0 ? { type: "array", items: infer(items) } : { type: "array" });
    } else schemas.push({ type: t });
  }
  if (schemas.length === 1) return schemas[0];
  if (schemas.every((s) => Object.keys(s).length === 1)) return { type: schemas.map((s) => s.type) };
  return { anyOf: schemas };
}

const samples = await jsonSamples();
for (const [tag, docs] of samples) {
  const kind = tag.split("/")[0];
  const body = infer(docs);
  const properties = { ...(body.properties as Record<string, Schema>), schema: { const: tag } };
  const schema = {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: `https://gac.dev/schemas/${kind}.schema.json`,
    title: tag,
    description: `What \`gac ... --json\` prints as ${tag}; inferred from real output by scripts/gen-json-schemas.ts. Fields are only added within a tag.`,
    ...body,
    properties,
  };
  await writeFile(`${OUT}${kind}.schema.json`, JSON.stringify(schema, null, 2) + "\n");
  console.log(`${kind}.schema.json from ${docs.length} document(s)`);
}
