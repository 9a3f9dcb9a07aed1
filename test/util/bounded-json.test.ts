import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_JSON_LIMITS, JsonLimitError, parseBoundedJson, scanJson, type JsonLimits } from "../../src/util/bounded-json.js";
import { GacError } from "../../src/errors.js";

const limits = (o: Partial<JsonLimits>): JsonLimits => ({ ...DEFAULT_JSON_LIMITS, ...o });

function refusal(text: string, l: JsonLimits = DEFAULT_JSON_LIMITS): JsonLimitError {
  try {
    scanJson(text, l);
  } catch (e) {
    if (e instanceof JsonLimitError) return e;
    throw e;
  }
  assert.fail(`accepted ${text.slice(0, 40)}`);
}

test("accepts what JSON.parse accepts and parses it the same", () => {
  for (const text of ['{"a":1}', ' [1, -2.5e3, true, false, null, "x\\u00e9\\n\\"", {}, []] ', '"s"', "0", '{"a":{"b":[{"c":"d"}]}}', '{"__proto__": 1}']) {
    assert.deepEqual(parseBoundedJson(text, "t", "BAD_CONFIG"), JSON.parse(text), text);
  }
});

test("refuses what JSON.parse refuses, as syntax", () => {
  for (const text of ["", "{", '{"a":}', "[1,]", "01", '{"a" 1}', '"\u0001"', '"\\x"', '"\\u12"', "{}x", "nul", "'a'"]) {
    assert.throws(() => JSON.parse(text), SyntaxError, text);
    assert.equal(refusal(text).kind, "syntax", text);
  }
});

test("nesting deeper than maxDepth is refused at the first level too deep, whatever the depth (no stack overflow)", () => {
  const e = refusal("[".repeat(1_000_000) + "]".repeat(1_000_000));
  assert.equal(e.kind, "limit");
  assert.equal(e.offset, 64);
  assert.match(e.message, /nesting deeper than 64 levels at character 64/);
  scanJson("[".repeat(64) + "]".repeat(64));
  assert.equal(refusal('{"a":'.repeat(65) + "1" + "}".repeat(65)).kind, "limit");
});

test("a string longer than maxStringLength, a container over maxEntries and a document over maxValues are refused", () => {
  assert.match(refusal(JSON.stringify("x".repeat(11)), limits({ maxStringLength: 10 })).message, /a string of 11 characters, over the 10 limit/);
  scanJson(JSON.stringify("x".repeat(10)), limits({ maxStringLength: 10 }));
  assert.match(refusal("[1,2,3,4]", limits({ maxEntries: 3 })).message, /an array with more than 3 entries/);
  assert.match(refusal('{"a":1,"b":2}', limits({ maxEntries: 1 })).message, /an object with more than 1 entries/);
  assert.match(refusal("[[1],[2]]", limits({ maxValues: 4 })).message, /more than 4 values/);
  scanJson("[[1],[2]]", limits({ maxValues: 5 }));
});

test("a key twice in one object is refused (JSON.parse would keep the last silently); the same key in two objects is fine", () => {
  assert.match(refusal('{"a":1,"b":2,"a":3}').message, /key "a" appears twice in one object/);
  assert.match(refusal('{"\\u0061":1,"a":2}').message, /key "a" appears twice/);
  scanJson('{"a":{"a":1},"b":{"a":2}}');
});

test("a number that overflows to infinity is refused (JSON would write it back as null)", () => {
  assert.match(refusal("[1e400]").message, /the number 1e400 overflows to infinity/);
  assert.match(refusal('{"t": -1e309}').message, /overflows/);
  scanJson("[1e308, 1e-400]");
});

test("parseBoundedJson names the file and says which rule: 'not valid JSON' for syntax, 'not JSON gac accepts' for limits", () => {
  assert.throws(
    () => parseBoundedJson("{", "/m/config.json", "BAD_CONFIG"),
    (e: unknown) => e instanceof GacError && e.code === "BAD_CONFIG" && /^\/m\/config.json is not valid JSON \(/.test(e.message),
  );
  assert.throws(
    () => parseBoundedJson(`{"a":${"[".repeat(99)}${"]".repeat(99)}}`, "/m/config.json", "BAD_CONFIG"),
    (e: unknown) => e instanceof GacError && /is not JSON gac accepts: nesting deeper than 64 levels/.test(e.message),
  );
});
