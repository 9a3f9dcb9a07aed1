/** `gac fixtures`: write a small real-layout checkpoint with planted irregular dims, or list the kinds. */
import { resolve } from "node:path";
import { GacError } from "../../errors.js";
import { FIXTURE_KINDS, generateFixture, isFixtureKind, type FixtureDtype } from "../../fixtures/index.js";
import { booleanValue, defineCommand, stringValue } from "../command.js";

const DTYPES: readonly FixtureDtype[] = ["F32", "F16", "BF16"];

function isFixtureDtype(s: string): s is FixtureDtype {
  return (DTYPES as readonly string[]).includes(s);
}

function nonNegativeInteger(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new GacError("BAD_ARGS", `${flag} takes a non-negative integer, got '${text}'`);
  return Number(text);
}

export const fixturesCommand = defineCommand({
  name: "fixtures",
  summary: "Write a small test checkpoint in a real compressed layout (PaLU, ASVD, SVD-LLM, pruned, ...)",
  positionals: [{ name: "kind", description: "Fixture kind (see --list)", required: false }],
  options: {
    out: { type: "string", short: "o", valueName: "<dir>", description: "Output directory (written atomically)" },
    seed: { type: "string", valueName: "<n>", description: "Seed of the random weights", default: "0" },
    dtype: { type: "string", valueName: "<dtype>", description: "Weight dtype: F32, F16 or BF16", default: "F32" },
    "shard-bytes": { type: "string", valueName: "<n>", description: "Shard with an index when tensors exceed n bytes" },
    force: { type: "boolean", description: "Replace the output directory if it exists" },
    list: { type: "boolean", description: "List the fixture kinds and exit" },
    json: { type: "boolean", description: "Print what was written as JSON" },
  },
  examples: ["gac fixtures --list", "gac fixtures palu --out /tmp/palu", "gac fixtures asvd --out /tmp/asvd --dtype F16 --shard-bytes 2000000"],
  async run({ values, positionals, io }) {
    if (booleanValue(values, "list")) {
      const width = Math.max(...FIXTURE_KINDS.map((k) => k.kind.length));
      io.out(FIXTURE_KINDS.map((k) => `${k.kind.padEnd(width)}  ${k.summary}\n`).join(""));
      return 0;
    }
    const [kind] = positionals;
    if (kind === undefined) throw new GacError("BAD_ARGS", "missing argument <kind>; kinds: " + FIXTURE_KINDS.map((k) => k.kind).join(", "));
    if (!isFixtureKind(kind)) throw new GacError("BAD_ARGS", `unknown fixture kind '${kind}'; kinds: ${FIXTURE_KINDS.map((k) => k.kind).join(", ")}`);
    const out = stringValue(values, "out");
    if (out === undefined) throw new GacError("BAD_ARGS", "missing --out <dir> (see `gac fixtures --help`)");
    const dtype = stringValue(values, "dtype") ?? "F32";
    if (!isFixtureDtype(dtype)) throw new GacError("BAD_ARGS", `--dtype takes F32, F16 or BF16, got '${dtype}'`);
    const seed = nonNegativeInteger(stringValue(values, "seed"), "--seed") ?? 0;
    if (seed > 0xffffffff) throw new GacError("BAD_ARGS", `--seed takes a 32-bit integer, got ${seed}`);
    const maxShardBytes = nonNegativeInteger(stringValue(values, "shard-bytes"), "--shard-bytes");
    if (maxShardBytes === 0) throw new GacError("BAD_ARGS", "--shard-bytes must be positive");
    const info = await generateFixture(kind, resolve(io.cwd, out), { seed, dtype, maxShardBytes, force: booleanValue(values, "force") });
    if (booleanValue(values, "json")) {
      io.out(JSON.stringify(info, null, 2) + "\n");
      return 0;
    }
    const planted = info.expectedIrregular.length === 0 ? "nothing irregular (control)" : info.expectedIrregular.map((d) => `${d.id}=${d.value}`).join(", ");
    io.out(`wrote ${info.kind} (${info.dtype}, seed ${info.seed}) to ${info.dir}\n  ${info.description}\n  planted: ${planted}\n`);
    return 0;
  },
});
