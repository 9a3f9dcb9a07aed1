/** Every JSON kind the CLI prints still validates against its committed schema (docs/schemas/). Slow-ish: runs ~20 commands in process. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { Ajv2020 } from "ajv/dist/2020.js";
import { jsonSamples } from "../helpers/json-samples.js";

test("each printed JSON document validates against docs/schemas/<kind>.schema.json", async () => {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  for (const [tag, docs] of await jsonSamples()) {
    const schema = JSON.parse(await readFile(new URL(`../../docs/schemas/${tag.split("/")[0]}.schema.json`, import.meta.url), "utf8"));
    const validate = ajv.compile(schema);
    for (const doc of docs) assert.ok(validate(doc), `${tag}: ${ajv.errorsText(validate.errors)}`);
  }
});
