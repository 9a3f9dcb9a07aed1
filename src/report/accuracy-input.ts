/**
 * Accuracy inputs of a report, told apart by their `schema` tag, never by file name:
 *   - `gac eval --json` documents (gac-eval/1): loss and perplexity per (checkpoint, precision);
 *   - `gac verify --device gpu --json` documents (gac-verify-gpu/1): named logit comparisons.
 * A file holds one document (pretty-printed or not) or JSON lines of them. Only the fields a table
 * shows are read, and each is checked: a damaged document is one BAD_RESULTS line naming the file,
 * the line and the field, never a table with a silent hole.
 */
import { JSON_SCHEMAS } from "../cli/json-output.js";
import { GacError } from "../errors.js";
import { EVAL_SCHEMA } from "../eval/eval-checkpoints.js";
import { decodeJsonLines } from "../store/results-store.js";
import { parseBoundedJson } from "../util/bounded-json.js";
import { GPU_VERIFY_SCHEMA } from "../verify/gpu-verify.js";

export { EVAL_SCHEMA, GPU_VERIFY_SCHEMA };

/** One line of a `gac eval` report: a checkpoint at one precision. */
export interface EvalRow {
  dir: string;
  family: string;
  dtype: string;
  params: number;
  /** "fold" / "logical" for a gac repair (its gac-repair.json), null for a plain checkpoint. */
  scale_mode: string | null;
  /** "bytes" for a byte-level model, "random-weights" where the eval drew the weights (their losses say nothing about quality). */
  tokenizer: string;
  precision: string;
  loss: number;
  perplexity: number;
}

export interface EvalDoc {
  file: string;
  /** 1-based line of a JSON-lines file; undefined for a file of one document. */
  line?: number;
  device: string;
  gpu?: string;
  torch?: string;
  text_sha256: string;
  text_kind: string;
  targets: number;
  context: number;
  results: EvalRow[];
}

export interface VerifyComparison {
  name: string;
  max_rel_diff: number;
  max_abs_diff: number;
  /** A number, or Infinity for a reference ("bound": "Infinity" in the JSON). */
  bound: number;
  cause: string;
  pass: boolean;
}

export interface VerifyDoc {
  file: string;
  line?: number;
  original: string;
  repaired: string;
  weights: string;
  scale_mode: string | null;
  dtype: string;
  serving: string;
  gpu: string;
  torch: string;
  tokens: number;
  comparisons: VerifyComparison[];
  pass: boolean;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** The schema tag of a parsed document, or undefined. */
export function schemaOf(doc: unknown): string | undefined {
  return isObject(doc) && typeof doc.schema === "string" ? doc.schema : undefined;
}

/**
 * The JSON documents of a file: the whole text when it is one document, else one per non-blank line.
 * A file whose first line is a complete JSON value is JSON lines; anything else is read as one document.
 */
export function jsonDocuments(text: string, file: string): { line?: number; value: unknown }[] {
  const first = text.split("\n").find((l) => l.trim() !== "") ?? "";
  let firstIsWhole = false;
  try {
    JSON.parse(first);
    firstIsWhole = true;
  } catch {
    firstIsWhole = false;
  }
  if (!firstIsWhole || first.trim() === text.trim()) return [{ value: parseBoundedJson(text, file, "BAD_RESULTS") }];
  return decodeJsonLines(text, file, { lenientEnd: true }).lines.map(({ line, value }) => ({ line, value }));
}

function damaged(where: string, what: string, kind: string): GacError {
  return new GacError("BAD_RESULTS", `${where}: ${what}: the ${kind} document is damaged`);
}

function field<T>(doc: Json, key: string, ok: (v: unknown) => v is T, where: string, kind: string, wants: string): T {
  const v = doc[key];
  if (!ok(v)) throw damaged(where, `'${key}' is ${v === undefined ? "missing" : JSON.stringify(v)?.slice(0, 40)}, not ${wants}`, kind);
  return v;
}
const isStr = (v: unknown): v is string => typeof v === "string";
const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isBool = (v: unknown): v is boolean => typeof v === "boolean";
const isStrOrNull = (v: unknown): v is string | null => v === null || typeof v === "string";
/** JSON has no Infinity: gac writes it as the string "Infinity" (src/cli/json-output.ts). */
const isBound = (v: unknown): v is number | string => isNum(v) || v === "Infinity";

const ERROR_SCHEMA = JSON_SCHEMAS.error;
function errorMessage(doc: unknown): string {
  const e = isObject(doc) && isObject(doc.error) ? doc.error : {};
  return isStr(e.message) ? e.message : "no message";
}

const whereOf = (file: string, line?: number) => (line === undefined ? file : `${file}:${line}`);

/** A parsed gac-eval/1 document -> EvalDoc, every field a table uses checked. */
export function parseEvalDoc(doc: unknown, file: string, line?: number): EvalDoc {
  const where = whereOf(file, line);
  const kind = "gac eval";
  if (!isObject(doc)) throw damaged(where, "not a JSON object", kind);
  const text = isObject(doc.text) ? doc.text : {};
  const results = field(doc, "results", Array.isArray, where, kind, "a list of results");
  return {
    file,
    line,
    device: field(doc, "device", isStr, where, kind, "a device name"),
    gpu: isStr(doc.gpu) ? doc.gpu : undefined,
    torch: isStr(doc.torch) ? doc.torch : undefined,
    text_sha256: field(text, "sha256", isStr, `${where} (text)`, kind, "a text hash"),
    text_kind: isStr(text.kind) ? text.kind : "text",
    targets: field(doc, "targets", isNum, where, kind, "a number of targets"),
    context: field(doc, "context", isNum, where, kind, "a context length"),
    results: results.map((r: unknown, i: number) => {
      const at = `${where} (result ${i + 1})`;
      if (!isObject(r)) throw damaged(at, "not a JSON object", kind);
      return {
        dir: field(r, "dir", isStr, at, kind, "a checkpoint directory"),
        family: isStr(r.family) ? r.family : "unknown",
        dtype: isStr(r.dtype) ? r.dtype : "unknown",
        params: field(r, "params", isNum, at, kind, "a parameter count"),
        scale_mode: field(r, "scale_mode", isStrOrNull, at, kind, "a scale mode or null"),
        tokenizer: isStr(r.tokenizer) ? r.tokenizer : "",
        precision: field(r, "precision", isStr, at, kind, "a precision"),
        loss: field(r, "loss", isNum, at, kind, "a finite loss"),
        perplexity: field(r, "perplexity", isNum, at, kind, "a finite perplexity"),
      };
    }),
  };
}

/** A parsed gac-verify-gpu/1 document -> VerifyDoc. */
export function parseVerifyDoc(doc: unknown, file: string, line?: number): VerifyDoc {
  const where = whereOf(file, line);
  const kind = "gac verify --device gpu";
  if (!isObject(doc)) throw damaged(where, "not a JSON object", kind);
  const comparisons = field(doc, "comparisons", Array.isArray, where, kind, "a list of comparisons");
  return {
    file,
    line,
    original: field(doc, "original", isStr, where, kind, "a checkpoint"),
    repaired: field(doc, "repaired", isStr, where, kind, "a checkpoint"),
    weights: isStr(doc.weights) ? doc.weights : "checkpoint",
    scale_mode: field(doc, "scale_mode", isStrOrNull, where, kind, "a scale mode or null"),
    dtype: isStr(doc.dtype) ? doc.dtype : "unknown",
    serving: isStr(doc.serving) ? doc.serving : "bfloat16",
    gpu: field(doc, "gpu", isStr, where, kind, "a GPU name"),
    torch: isStr(doc.torch) ? doc.torch : "",
    tokens: isNum(doc.tokens) ? doc.tokens : 0,
    pass: field(doc, "pass", isBool, where, kind, "true or false"),
    comparisons: comparisons.map((c: unknown, i: number) => {
      const at = `${where} (comparison ${i + 1})`;
      if (!isObject(c)) throw damaged(at, "not a JSON object", kind);
      const bound = field(c, "bound", isBound, at, kind, "a bound");
      return {
        name: field(c, "name", isStr, at, kind, "a comparison name"),
        max_rel_diff: field(c, "max_rel_diff", isNum, at, kind, "a finite max_rel_diff"),
        max_abs_diff: field(c, "max_abs_diff", isNum, at, kind, "a finite max_abs_diff"),
        bound: bound === "Infinity" ? Number.POSITIVE_INFINITY : Number(bound),
        cause: isStr(c.cause) ? c.cause : "",
        pass: field(c, "pass", isBool, at, kind, "true or false"),
      };
    }),
  };
}

export interface AccuracyDocs {
  evals: EvalDoc[];
  verifies: VerifyDoc[];
}

/** Whether a parsed document is one of the accuracy kinds (by its schema tag). */
export function isAccuracyDoc(doc: unknown): boolean {
  const s = schemaOf(doc);
  return s === EVAL_SCHEMA || s === GPU_VERIFY_SCHEMA;
}

/**
 * The accuracy documents of a file's text. Every document must carry one of the two schema tags
 * (or be a gac error document, named in a note); a line that carries another (or none) in a file
 * that started as accuracy output is damage.
 */
export function parseAccuracyText(text: string, file: string, notes: string[] = []): AccuracyDocs {
  const out: AccuracyDocs = { evals: [], verifies: [] };
  for (const { line, value } of jsonDocuments(text, file)) {
    const schema = schemaOf(value);
    if (schema === EVAL_SCHEMA) out.evals.push(parseEvalDoc(value, file, line));
    else if (schema === GPU_VERIFY_SCHEMA) out.verifies.push(parseVerifyDoc(value, file, line));
    // A failed verify prints its report and then its error (bench/gpu-accuracy.sh keeps both).
    else if (schema === ERROR_SCHEMA) notes.push(`${whereOf(file, line)}: a gac error document was kept beside the accuracy output and is not a result: ${errorMessage(value)}`);
    else throw damaged(whereOf(file, line), `schema ${schema === undefined ? "missing" : `'${schema}'`} where ${EVAL_SCHEMA} or ${GPU_VERIFY_SCHEMA} was expected`, "accuracy");
  }
  return out;
}
