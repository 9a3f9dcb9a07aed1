/**
 * JSON from files gac did not write, parsed within limits. A linear pre-scan walks the text once
 * with an explicit stack (no recursion, so no stack overflow at any depth) and refuses, before any
 * value is built: nesting deeper than `maxDepth`, a string longer than `maxStringLength`, a
 * container with more than `maxEntries` entries, more than `maxValues` values in all, and a key that
 * appears twice in one object (JSON.parse would keep the last one silently; Python's json does the
 * same, so two readers of one file could disagree with nobody told). Only text that passes is
 * handed to the native JSON.parse, which then builds a value of bounded shape.
 *
 * The scan also rejects what JSON.parse would (so its errors carry a byte offset we control), and
 * numbers that overflow to Infinity (1e400): JSON cannot write them back, so a round trip would
 * turn them into null.
 */
import { GacError, type GacErrorCode } from "../errors.js";

export interface JsonLimits {
  /** Deepest nesting of objects and arrays. */
  maxDepth: number;
  /** Longest string (key or value), in UTF-16 code units of its raw JSON text. */
  maxStringLength: number;
  /** Most entries in one object or array. */
  maxEntries: number;
  /** Most values in the whole document (every scalar, object and array counts one). */
  maxValues: number;
}

/**
 * The defaults, sized from real files: a safetensors header nests 3 levels, config.json at most 5,
 * gac's own JSON (gac-repair.json, profiles, run.json) at most 8; 64 leaves room and stays far from
 * any stack. The largest real index (Kimi, ~500k tensors) has 500k weight_map entries; a 100k-tensor
 * header has 700k values. Metadata strings are short; 1 MiB covers a config embedded as a string.
 */
export const DEFAULT_JSON_LIMITS: JsonLimits = {
  maxDepth: 64,
  maxStringLength: 1_048_576,
  maxEntries: 2_000_000,
  maxValues: 20_000_000,
};

/** Why a document was refused; `offset` is the character position in the text. */
export class JsonLimitError extends Error {
  constructor(
    readonly reason: string,
    readonly offset: number,
    /** "syntax": JSON.parse would refuse it too; "limit": valid JSON over one of the limits. */
    readonly kind: "syntax" | "limit",
  ) {
    super(`${reason} at character ${offset.toLocaleString("en-US")}`);
  }
}

enum Ch {
  Quote = 0x22,
  Backslash = 0x5c,
  Comma = 0x2c,
  Colon = 0x3a,
  OpenBrace = 0x7b,
  CloseBrace = 0x7d,
  OpenBracket = 0x5b,
  CloseBracket = 0x5d,
}

interface Frame {
  isObject: boolean;
  entries: number;
  keys?: Set<string>;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
/** A run of characters that need no attention inside a string (a loop in the regex engine, no backtracking). */
const PLAIN_RUN = /[^"\\\u0000-\u001f]*/y;
const HEX4 = /^[0-9a-fA-F]{4}$/;
/** The characters after a backslash that JSON allows: " \ / b f n r t. */
const SIMPLE_ESCAPES = new Set([0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74]);

/**
 * Checks `text` against `limits` and JSON's grammar without building anything; throws
 * JsonLimitError on the first problem.
 */
export function scanJson(text: string, limits: JsonLimits = DEFAULT_JSON_LIMITS): void {
  const stack: Frame[] = [];
  let i = 0;
  let values = 0;
  const n = text.length;
  const skipSpace = () => {
    while (i < n && isSpace(text.charCodeAt(i))) i++;
  };
  const fail = (reason: string): never => {
    throw new JsonLimitError(reason, i, "syntax");
  };
  const overLimit = (reason: string): never => {
    throw new JsonLimitError(reason, i, "limit");
  };
  /** Reads a string starting at the opening quote; returns its raw text (quotes included). */
  const readString = (): string => {
    const start = i;
    let j = i + 1;
    for (;;) {
      if (j >= n) {
        i = j;
        fail("an unterminated string");
      }
      PLAIN_RUN.lastIndex = j;
      PLAIN_RUN.test(text);
      j = PLAIN_RUN.lastIndex;
      if (j >= n) continue;
      const c = text.charCodeAt(j);
      if (c === Ch.Quote) break;
      if (c < 0x20) {
        i = j;
        fail("a control character inside a string");
      }
      if (c === Ch.Backslash) {
        const e = text.charCodeAt(j + 1);
        if (e === 0x75 /* u */) {
          if (!HEX4.test(text.slice(j + 2, j + 6))) {
            i = j;
            fail("an invalid \\u escape");
          }
          j += 6;
          continue;
        }
        if (!SIMPLE_ESCAPES.has(e)) {
          i = j;
          fail("an invalid escape");
        }
        j += 2;
      }
    }
    if (j - start - 1 > limits.maxStringLength) {
      overLimit(`a string of ${(j - start - 1).toLocaleString("en-US")} characters, over the ${limits.maxStringLength.toLocaleString("en-US")} limit`);
    }
    i = j + 1;
    return text.slice(start, i);
  };
  const countValue = () => {
    if (++values > limits.maxValues) overLimit(`more than ${limits.maxValues.toLocaleString("en-US")} values`);
    const top = stack[stack.length - 1];
    if (top && ++top.entries > limits.maxEntries) overLimit(`an ${top.isObject ? "object" : "array"} with more than ${limits.maxEntries.toLocaleString("en-US")} entries`);
  };

  // One value, then (inside containers) separators, until the stack is empty.
  for (;;) {
    skipSpace();
    if (i >= n) fail("unexpected end of text");
    const top = stack[stack.length - 1];
    if (top?.isObject) {
      // A key and a colon come before each member's value.
      if (text.charCodeAt(i) !== Ch.Quote) fail("expected a string key");
      const raw = readString();
      const key = raw.includes("\\") ? (JSON.parse(raw) as string) : raw.slice(1, -1);
      top.keys ??= new Set();
      if (top.keys.has(key)) overLimit(`key ${JSON.stringify(key.length > 80 ? key.slice(0, 80) + "..." : key)} appears twice in one object`);
      top.keys.add(key);
      skipSpace();
      if (text.charCodeAt(i) !== Ch.Colon) fail("expected ':' after a key");
      i++;
      skipSpace();
    }
    countValue();
    const c = text.charCodeAt(i);
    if (c === Ch.OpenBrace || c === Ch.OpenBracket) {
      if (stack.length >= limits.maxDepth) overLimit(`nesting deeper than ${limits.maxDepth} levels`);
      i++;
      skipSpace();
      const close = c === Ch.OpenBrace ? Ch.CloseBrace : Ch.CloseBracket;
      if (text.charCodeAt(i) === close) {
        i++;
      } else {
        stack.push({ isObject: c === Ch.OpenBrace, entries: 0 });
        continue;
      }
    } else if (c === Ch.Quote) {
      readString();
    } else if (text.startsWith("true", i)) i += 4;
    else if (text.startsWith("false", i)) i += 5;
    else if (text.startsWith("null", i)) i += 4;
    else {
      NUMBER.lastIndex = i;
      if (!NUMBER.test(text)) fail("an unexpected character");
      const end = NUMBER.lastIndex;
      if (!Number.isFinite(Number(text.slice(i, end)))) overLimit(`the number ${text.slice(i, Math.min(end, i + 40))} overflows to infinity`);
      i = end;
    }
    // After a value: close containers or move to the next entry.
    for (;;) {
      skipSpace();
      const frame = stack[stack.length - 1];
      if (!frame) {
        if (i < n) fail("text after the end of the document");
        return;
      }
      const d = text.charCodeAt(i);
      if (d === Ch.Comma) {
        i++;
        break;
      }
      if (d === (frame.isObject ? Ch.CloseBrace : Ch.CloseBracket)) {
        i++;
        stack.pop();
        continue;
      }
      fail(i >= n ? "unexpected end of text" : `expected ',' or '${frame.isObject ? "}" : "]"}'`);
    }
  }
}

/**
 * Parses `text` within `limits`. `where` names the source in the message ("config.json in /m");
 * problems are a GacError of `code`.
 */
export function parseBoundedJson(text: string, where: string, code: GacErrorCode, limits: JsonLimits = DEFAULT_JSON_LIMITS): unknown {
  try {
    scanJson(text, limits);
  } catch (e) {
    if (e instanceof JsonLimitError) throw new GacError(code, e.kind === "syntax" ? `${where} is not valid JSON (${e.message})` : `${where} is not JSON gac accepts: ${e.message}`);
    throw e;
  }
  return JSON.parse(text);
}
