import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { GacError } from "../../src/errors.js";
import { exitCodeFor, wantsJson } from "../../src/cli/main.js";
import { EXIT } from "../../src/cli/exit-codes.js";
import { errorJson, JSON_SCHEMAS, jsonDocument, snakeCaseKey, stringifyJson } from "../../src/cli/json-output.js";

test("camelCase identifiers become snake_case; data keys such as tensor and strategy names stay as they are", () => {
  assert.equal(snakeCaseKey("maxRelDiff"), "max_rel_diff");
  assert.equal(snakeCaseKey("paramOverheadPct"), "param_overhead_pct");
  for (const k of ["model.layers.0.self_attn.q_proj.weight", "MINIMAL", "aligned8", "head_dim", "layers.0.mlp.gate_proj.rank", "x"]) assert.equal(snakeCaseKey(k), k);
});

test("a document carries its schema tag first, snake_case keys at every depth, and Infinity as text", () => {
  const doc = jsonDocument(JSON_SCHEMAS.verify, { schema: "old", stats: { maxRelDiff: Number.POSITIVE_INFINITY }, perTensor: { "lm_head.weight": { maxAbsDiff: 0 } }, list: [{ bytesOut: 1 }] });
  assert.deepEqual(Object.keys(doc), ["schema", "stats", "per_tensor", "list"]);
  assert.equal(
    stringifyJson(doc),
    '{\n  "schema": "gac-verify/1",\n  "stats": {\n    "max_rel_diff": "Infinity"\n  },\n  "per_tensor": {\n    "lm_head.weight": {\n      "max_abs_diff": 0\n    }\n  },\n  "list": [\n    {\n      "bytes_out": 1\n    }\n  ]\n}\n',
  );
});

test("errors map to the documented exit codes and to gac-error/1", () => {
  assert.equal(exitCodeFor(new GacError("BAD_ARGS", "x")), EXIT.INPUT_ERROR);
  assert.equal(exitCodeFor(new GacError("VERIFY_FAILED", "x")), EXIT.VERIFY_FAILED);
  assert.equal(exitCodeFor(new TypeError("x")), EXIT.BUG);
  assert.equal(exitCodeFor(new GacError("ABORTED", "x"), "SIGTERM"), EXIT.SIGTERM);
  assert.equal(exitCodeFor(new GacError("ABORTED", "x")), EXIT.SIGINT);
  assert.deepEqual(errorJson(new TypeError("boom"), 2), { schema: "gac-error/1", error: { code: "BUG", message: "boom", exit_code: 2 } });
  assert.equal(wantsJson(["scan", "x", "--json"]), true);
  assert.equal(wantsJson(["scan", "--", "--json"]), false);
});

test("every schema tag the CLI prints has a JSON Schema in docs/schemas/", async () => {
  for (const tag of Object.values(JSON_SCHEMAS)) {
    const file = new URL(`../../docs/schemas/${tag.split("/")[0]}.schema.json`, import.meta.url);
    const schema = JSON.parse(await readFile(file, "utf8")) as { properties?: { schema?: { const?: string } } };
    assert.equal(schema.properties?.schema?.const, tag, `${file.pathname} pins schema to ${tag}`);
  }
});
