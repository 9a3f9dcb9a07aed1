/**
 * The fuzzing campaign as code: seeded mutations of a tiny checkpoint's safetensors header,
 * config.json and index, each run through `gac scan`, `gac plan` and `gac repair` in-process (the
 * CLI's own runCli, with main's exit-code rule), each outcome classified:
 *
 *   ok        exit 0 (repair: the output exists and is all that appeared)
 *   refused   exit 1 with one line (a GacError, or a filesystem error main maps to one)
 *   exit2     anything else thrown (a bug), or a refusal whose message is not one line
 *   hang      no answer within the case timeout
 *   modified  an input file's bytes, type or name changed
 *   leftover  a failed repair left something in the output's parent (temp dir, lock, output)
 *
 * test/fuzz/fuzz.test.ts runs a bounded number of cases in `npm test`; bench/fuzz.ts runs many.
 */
import { execFileSync } from "node:child_process";
import { cp, mkdir, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { mulberry32 } from "../../src/util/prng.js";
import { exitLikeMain, treeSnapshot as snapshot } from "../helpers/run-like-main.js";
import { tinyModel } from "../verify/tiny-model.js";
import { writeTinyCheckpoint } from "../verify/write-tiny.js";

export type Outcome = "ok" | "refused" | "exit2" | "hang" | "modified" | "leftover";
export const OUTCOMES: readonly Outcome[] = ["ok", "refused", "exit2", "hang", "modified", "leftover"];

export interface CaseResult {
  seed: number;
  mutation: string;
  command: string;
  outcome: Outcome;
  /** The error line or the problem, for the report of a bad outcome. */
  detail?: string;
}

type Rng = () => number;
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)];

// ---- hostile values --------------------------------------------------------------------------

function deep(levels: number): string {
  return "[".repeat(levels) + "]".repeat(levels);
}

/** JSON texts a hostile file could hold in place of one value. */
function hostileValue(rng: Rng): string {
  const choices: (() => string)[] = [
    () => deep(5000 + Math.floor(rng() * 3000)),
    () => deep(70),
    () => '{"a":'.repeat(3000) + "1" + "}".repeat(3000),
    () => JSON.stringify("x".repeat(2_000_000)),
    () => JSON.stringify("line1\nline2\u001b[31mred\u001b[0m\u0007"),
    () => "1e400",
    () => "-1e400",
    () => "1e308",
    () => "1e-300",
    () => "-1",
    () => "0",
    () => "1.5",
    () => "4294967297",
    () => "9007199254740993",
    () => "null",
    () => "true",
    () => '""',
    () => "[]",
    () => "{}",
    () => '"F32"',
    () => '"BOGUS"',
    () => "[1, 2, 3]",
    () => "[0, 1e400]",
    () => `[${Array.from({ length: 40 }, () => 1).join(",")}]`,
    () => JSON.stringify({ nested: { deeper: [1, { x: "y" }] } }),
  ];
  return pick(rng, choices)();
}

/** Names (tensor names, keys, shard names) a hostile file could use. */
function hostileName(rng: Rng): string {
  return pick(rng, [
    "a\nb",
    "\u001b[2J\u001b[Hclear",
    "x".repeat(100_000),
    "",
    "__proto__",
    "constructor",
    "model.layers.0.self_attn.q_proj.weight",
    "\u202eevil",
    "sub/dir/name",
    "../escape",
    "/abs/path",
    "trailing/",
    "a\u0000b",
  ]);
}

// ---- mutating JSON text ----------------------------------------------------------------------

/** Every [start, end) of a JSON value in `text` (found by a light scan; strings and numbers and containers). */
function valueSpans(text: string): [number, number][] {
  const spans: [number, number][] = [];
  const stack: number[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      // A key is followed by ':'; only values are spans.
      let k = j + 1;
      while (text[k] === " " || text[k] === "\n") k++;
      if (text[k] !== ":") spans.push([i, j + 1]);
      i = j + 1;
    } else if (c === "{" || c === "[") {
      stack.push(i);
      i++;
    } else if (c === "}" || c === "]") {
      const start = stack.pop();
      if (start !== undefined) spans.push([start, i + 1]);
      i++;
    } else if (/[-0-9tfn]/.test(c)) {
      const m = /^(-?[0-9.eE+-]+|true|false|null)/.exec(text.slice(i, i + 40));
      const len = m ? m[0].length : 1;
      spans.push([i, i + len]);
      i += len;
    } else i++;
  }
  return spans;
}

/** Key spans (the quoted key text) in `text`. */
function keySpans(text: string): [number, number][] {
  const out: [number, number][] = [];
  const re = /"((?:[^"\\]|\\.)*)"\s*:/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push([m.index, m.index + 2 + m[1].length]);
  return out;
}

/** One mutation of a JSON document's text; returns the new text and what was done. */
export function mutateJsonText(text: string, rng: Rng): { text: string; what: string } {
  const kind = pick(rng, ["value", "value", "value", "key", "duplicate", "bytes", "truncate", "wrap", "extra-key"]);
  switch (kind) {
    case "value": {
      const spans = valueSpans(text);
      const [s, e] = pick(rng, spans);
      const v = hostileValue(rng);
      return { text: text.slice(0, s) + v + text.slice(e), what: `value@${s}=${v.slice(0, 24)}` };
    }
    case "key": {
      const spans = keySpans(text);
      if (spans.length === 0) return { text, what: "key(none)" };
      const [s, e] = pick(rng, spans);
      const name = hostileName(rng);
      return { text: text.slice(0, s) + JSON.stringify(name) + text.slice(e), what: `key@${s}=${JSON.stringify(name.slice(0, 20))}` };
    }
    case "duplicate": {
      // Repeat the first member of the outermost object: a duplicate key.
      const m = /^\s*\{\s*("(?:[^"\\]|\\.)*"\s*:\s*("(?:[^"\\]|\\.)*"|[-0-9.eE+]+|true|false|null))/.exec(text);
      if (!m) return { text, what: "duplicate(none)" };
      const at = text.indexOf("{") + 1;
      return { text: text.slice(0, at) + m[1] + "," + text.slice(at), what: "duplicate-key" };
    }
    case "bytes": {
      const chars = text.split("");
      const n = 1 + Math.floor(rng() * 4);
      for (let k = 0; k < n; k++) chars[Math.floor(rng() * chars.length)] = pick(rng, ["{", "}", "[", "]", '"', ",", ":", "\\", "\n", "\u0000", "9", "-", "é", "\uFFFF"]);
      return { text: chars.join(""), what: `bytes x${n}` };
    }
    case "truncate":
      return { text: text.slice(0, Math.floor(rng() * text.length)), what: "truncate" };
    case "wrap":
      return { text: pick(rng, [`[${text}]`, deep(6000).slice(0, 6000) + text + deep(6000).slice(6000), `"${text.slice(0, 10)}"`, "null", "[]"]), what: "wrap" };
    default: {
      const at = text.indexOf("{") + 1;
      const key = pick(rng, ["unrelated", "rope_theta", "head_dim", "model_type", "hidden_size", "__metadata__", "weight_map"]);
      return { text: text.slice(0, at) + `${JSON.stringify(key)}: ${hostileValue(rng)},` + text.slice(at), what: `extra-key ${key}` };
    }
  }
}

// ---- safetensors files -----------------------------------------------------------------------

function splitSafetensors(bytes: Buffer): { header: string; data: Buffer } {
  const n = Number(bytes.readBigUInt64LE(0));
  return { header: bytes.subarray(8, 8 + n).toString("utf8"), data: bytes.subarray(8 + n) };
}

function joinSafetensors(header: string, data: Buffer): Buffer {
  const h = Buffer.from(header, "utf8");
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(h.byteLength));
  return Buffer.concat([prefix, h, data]);
}

/** A mutation of a safetensors file: its header JSON, its length prefix, or its size. */
function mutateSafetensors(bytes: Buffer, rng: Rng): { bytes: Buffer; what: string } {
  const { header, data } = splitSafetensors(bytes);
  const kind = rng();
  if (kind < 0.75) {
    const m = mutateJsonText(header, rng);
    return { bytes: joinSafetensors(m.text, data), what: `header ${m.what}` };
  }
  if (kind < 0.85) {
    const out = Buffer.from(bytes);
    out.writeBigUInt64LE(pick(rng, [0n, 1n, 2n ** 63n, BigInt(out.byteLength), BigInt(header.length - 1), 99_000_000n]));
    return { bytes: out, what: "length prefix" };
  }
  if (kind < 0.93) return { bytes: bytes.subarray(0, Math.floor(rng() * bytes.byteLength)), what: "truncated file" };
  return { bytes: Buffer.concat([bytes, Buffer.alloc(1 + Math.floor(rng() * 64))]), what: "trailing bytes" };
}

// ---- the campaign ----------------------------------------------------------------------------

export interface Bases {
  single: string;
  sharded: string;
}

/** Two tiny checkpoints (one file; three shards and an index) with an irregular head_dim 6. */
export async function writeBases(root: string): Promise<Bases> {
  const m = tinyModel({ hidden: 16, vocab: 24, layers: 2, heads: 4, kvHeads: 2, headDim: 6, intermediate: 20, seed: 3 });
  const single = join(root, "base-single");
  const sharded = join(root, "base-sharded");
  await writeTinyCheckpoint(m, single, "F32");
  await writeTinyCheckpoint(m, sharded, "F32", undefined, 6000);
  return { single, sharded };
}

/** Applies one seeded mutation to the checkpoint copy `dir`; returns what it did. */
async function mutate(dir: string, sharded: boolean, rng: Rng): Promise<string> {
  const files = (await readdir(dir)).sort();
  const shards = files.filter((f) => f.endsWith(".safetensors"));
  const r = rng();
  if (r < 0.04) {
    // The filesystem itself: a FIFO, a link loop or a directory where a file should be.
    const target = pick(rng, [...shards, "config.json", ...(sharded ? ["model.safetensors.index.json"] : [])]);
    await rm(join(dir, target), { force: true });
    const how = pick(rng, ["fifo", "loop", "dir"]);
    if (how === "fifo") execFileSync("mkfifo", [join(dir, target)]);
    else if (how === "loop") {
      await symlink(`${target}.b`, join(dir, target));
      await symlink(target, join(dir, `${target}.b`));
    } else await mkdir(join(dir, target));
    return `${how} as ${target}`;
  }
  const targets = sharded ? ["shard", "config", "index", "index"] : ["shard", "shard", "config"];
  const which = pick(rng, targets);
  if (which === "shard") {
    const name = pick(rng, shards);
    const m = mutateSafetensors(await readFile(join(dir, name)), rng);
    await writeFile(join(dir, name), m.bytes);
    return `${name}: ${m.what}`;
  }
  const name = which === "config" ? "config.json" : "model.safetensors.index.json";
  let text = await readFile(join(dir, name), "utf8");
  if (which === "index" && rng() < 0.4) {
    // Shard names: the index's own attack surface.
    const shard = pick(rng, shards);
    const replacement = pick(rng, ["sub/" + shard, shard + "/", "./" + shard, "../" + shard, "/" + shard, "missing.safetensors", hostileName(rng)]);
    if (replacement.startsWith("sub/")) {
      await mkdir(join(dir, "sub"), { recursive: true });
      await cp(join(dir, shard), join(dir, "sub", shard));
    }
    text = text.split(JSON.stringify(shard)).join(JSON.stringify(replacement));
    await writeFile(join(dir, name), text);
    return `index shard name ${JSON.stringify(replacement.slice(0, 30))}`;
  }
  const m = mutateJsonText(text, rng);
  await writeFile(join(dir, name), m.text);
  return `${name}: ${m.what}`;
}

export interface CampaignOptions {
  /** First case seed; case i uses seed + i. */
  seed: number;
  cases: number;
  /** Stop starting new cases after this many ms (the in-repo test's time bound). */
  budgetMs?: number;
  /** Per command. */
  timeoutMs?: number;
  onCase?: (r: CaseResult[]) => void;
}

/** Runs the campaign in `root` (created and emptied by the caller); returns every command's result. */
export async function runCampaign(root: string, opts: CampaignOptions): Promise<CaseResult[]> {
  const bases = await writeBases(root);
  const results: CaseResult[] = [];
  const t0 = Date.now();
  for (let i = 0; i < opts.cases; i++) {
    if (opts.budgetMs !== undefined && Date.now() - t0 > opts.budgetMs) break;
    const seed = opts.seed + i;
    const rng = mulberry32(seed);
    const sharded = rng() < 0.5;
    const caseDir = join(root, `case-${seed}`);
    const input = join(caseDir, "in");
    const outParent = join(caseDir, "out");
    await mkdir(outParent, { recursive: true });
    await cp(sharded ? bases.sharded : bases.single, input, { recursive: true });
    const mutation = await mutate(input, sharded, rng);
    const before = await snapshot(input);
    const caseResults: CaseResult[] = [];
    const commands: [string, string[]][] = [
      ["scan", ["scan", input, "--json"]],
      ["plan", ["plan", input]],
      ["repair", ["repair", input, "--out", join(outParent, "repaired")]],
    ];
    for (const [command, args] of commands) {
      const r = await exitLikeMain(args, caseDir, opts.timeoutMs ?? 20_000);
      let outcome: Outcome = r.code === 0 ? "ok" : r.code === 1 ? "refused" : r.code === 2 ? "exit2" : "hang";
      let detail = r.detail;
      if (outcome !== "hang" && (await snapshot(input).catch(() => "gone")) !== before) {
        outcome = "modified";
        detail = `input changed by ${command}`;
      }
      if (command === "repair" && (outcome === "ok" || outcome === "refused")) {
        const left = await readdir(outParent);
        const expected = outcome === "ok" ? ["repaired"] : [];
        if (left.join("/") !== expected.join("/")) {
          outcome = "leftover";
          detail = `left in the output's parent: ${left.join(", ")}`;
        }
      }
      caseResults.push({ seed, mutation, command, outcome, ...(detail !== undefined && outcome !== "ok" && outcome !== "refused" ? { detail } : {}) });
    }
    results.push(...caseResults);
    opts.onCase?.(caseResults);
    // FIFOs and loops are removed with the rest; a hung case's files stay for inspection.
    if (!caseResults.some((c) => c.outcome === "hang")) await rm(caseDir, { recursive: true, force: true });
  }
  return results;
}

/** Counts per outcome and command, for reports. */
export function tally(results: readonly CaseResult[]): Record<string, Record<Outcome, number>> {
  const out: Record<string, Record<Outcome, number>> = {};
  for (const r of results) {
    out[r.command] ??= Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
    out[r.command][r.outcome]++;
  }
  return out;
}
