/** `gac fixtures`: write a real-layout checkpoint with planted irregular dims (tiny, or real-scale sparse), or list the kinds. */
import { resolve } from "node:path";
import { GacError } from "../../errors.js";
import { FIXTURE_INFO_FILE, FIXTURE_KINDS, FIXTURE_SCALES, generateFixture, isFixtureKind, isFixtureScale, type FixtureDtype, type FixtureInfo } from "../../fixtures/index.js";
import { booleanValue, defineCommand, stringValue } from "../command.js";
import { JSON_SCHEMAS, printJson } from "../json-output.js";

const DTYPES: readonly FixtureDtype[] = ["F32", "F16", "BF16"];

function isFixtureDtype(s: string): s is FixtureDtype {
  return (DTYPES as readonly string[]).includes(s);
}

function nonNegativeInteger(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new GacError("BAD_ARGS", `${flag} takes a non-negative integer, got '${text}'`);
  return Number(text);
}

/** Past this many planted dims the text line summarises (a real-scale PaLU plants 496). */
const MAX_LISTED_DIMS = 8;

function plantedLine(info: FixtureInfo): string {
  const dims = info.expectedIrregular;
  if (dims.length === 0) return "nothing irregular (control)";
  if (dims.length <= MAX_LISTED_DIMS) return dims.map((d) => `${d.id}=${d.value}`).join(", ");
  const values = [...new Set(dims.map((d) => d.value))].sort((a, b) => a - b);
  return `${dims.length} irregular dims, values ${values.join(", ")} (first ${dims[0].id}=${dims[0].value}; all in ${FIXTURE_INFO_FILE})`;
}

function storageLine(info: FixtureInfo): string {
  const gb = (info.tensorBytes / 1e9).toFixed(2);
  return info.sparse ? `sparse: ${gb} GB of tensors as holes, headers real, every weight reads as zero` : `${gb} GB of seeded random weights`;
}

export const fixturesCommand = defineCommand({
  name: "fixtures",
  summary: "Write a test checkpoint in a real compressed layout (PaLU, ASVD, SVD-LLM, pruned, ...), tiny or real-size sparse",
  positionals: [{ name: "kind", description: "Fixture kind (see --list)", required: false }],
  options: {
    out: { type: "string", short: "o", valueName: "<dir>", description: "Output directory (written atomically)" },
    seed: { type: "string", valueName: "<n>", description: "Seed of the random weights", default: "0" },
    size: { type: "string", valueName: "<size>", description: `Model size: ${FIXTURE_SCALES.join(", ")}; --list shows each kind's`, default: "tiny" },
    sparse: { type: "boolean", description: "Real scale: write headers only, weights a hole of zeros (16 GB on almost no disk)" },
    "force-dense": { type: "boolean", description: "Real scale: write 13-16 GB of random weights instead (about 45 min)" },
    dtype: { type: "string", valueName: "<dtype>", description: "Weight dtype: F32, F16 or BF16 (default: F32 tiny, BF16 real scale)" },
    "shard-bytes": { type: "string", valueName: "<n>", description: "Shard with an index when tensors exceed n bytes (default: 5 GB at real scale)" },
    force: { type: "boolean", description: "Replace the output directory if it exists" },
    list: { type: "boolean", description: "List the fixture kinds and exit" },
    json: { type: "boolean", description: "Print what was written (or, with --list, the kinds) as JSON" },
  },
  examples: [
    "gac fixtures --list",
    "gac fixtures palu --out /tmp/palu",
    "gac fixtures asvd --out /tmp/asvd --dtype F16 --shard-bytes 2000000",
    "gac fixtures palu --out /tmp/palu-8b --size llama3-8b --sparse",
  ],
  async run({ values, positionals, io }) {
    if (booleanValue(values, "list")) {
      if (booleanValue(values, "json")) {
        printJson(io, JSON_SCHEMAS.fixturesList, { kinds: FIXTURE_KINDS.map((k) => ({ kind: k.kind, summary: k.summary, scales: k.scales })) });
        return 0;
      }
      const width = Math.max(...FIXTURE_KINDS.map((k) => k.kind.length));
      io.out(FIXTURE_KINDS.map((k) => `${k.kind.padEnd(width)}  ${k.summary} [${k.scales.join(", ")}]\n`).join(""));
      return 0;
    }
    const [kind] = positionals;
    if (kind === undefined) throw new GacError("BAD_ARGS", "missing argument <kind>; kinds: " + FIXTURE_KINDS.map((k) => k.kind).join(", "));
    if (!isFixtureKind(kind)) throw new GacError("BAD_ARGS", `unknown fixture kind '${kind}'; kinds: ${FIXTURE_KINDS.map((k) => k.kind).join(", ")}`);
    const out = stringValue(values, "out");
    if (out === undefined) throw new GacError("BAD_ARGS", "missing --out <dir> (see `gac fixtures --help`)");
    const scale = stringValue(values, "size") ?? "tiny";
    if (!isFixtureScale(scale)) throw new GacError("BAD_ARGS", `--size takes ${FIXTURE_SCALES.join(", ")}, got '${scale}'`);
    const dtype = stringValue(values, "dtype");
    if (dtype !== undefined && !isFixtureDtype(dtype)) throw new GacError("BAD_ARGS", `--dtype takes F32, F16 or BF16, got '${dtype}'`);
    const sparse = booleanValue(values, "sparse");
    const forceDense = booleanValue(values, "force-dense");
    if (sparse && forceDense) throw new GacError("BAD_ARGS", "--sparse and --force-dense contradict each other: choose one");
    const seed = nonNegativeInteger(stringValue(values, "seed"), "--seed") ?? 0;
    if (seed > 0xffffffff) throw new GacError("BAD_ARGS", `--seed takes a 32-bit integer, got ${seed}`);
    const maxShardBytes = nonNegativeInteger(stringValue(values, "shard-bytes"), "--shard-bytes");
    if (maxShardBytes === 0) throw new GacError("BAD_ARGS", "--shard-bytes must be positive");
    const info = await generateFixture(kind, out.trim() === "" ? out : resolve(io.cwd, out), { seed, dtype, scale, sparse, forceDense, maxShardBytes, force: booleanValue(values, "force") });
    if (booleanValue(values, "json")) {
      printJson(io, JSON_SCHEMAS.fixtures, info);
      return 0;
    }
    if (info.scale === "tiny") io.out(`wrote ${info.kind} (${info.dtype}, seed ${info.seed}) to ${info.dir}\n  ${info.description}\n  planted: ${plantedLine(info)}\n`);
    else io.out(`wrote ${info.kind} at ${info.scale} scale (${info.dtype}) to ${info.dir}\n  ${info.description}\n  ${storageLine(info)}\n  planted: ${plantedLine(info)}\n`);
    return 0;
  },
});
