/** `gac repair <dir> --out <dir>`: write a padded copy of a checkpoint that computes the same function. */
import { resolve } from "node:path";
import { GacError } from "../../errors.js";
import { repairCheckpoint } from "../../repair/repair-checkpoint.js";
import { mib, renderProposal } from "../../repair/render-plan.js";
import { resolveCheckpointDir } from "../../input/resolve-input.js";
import { proposeRepair } from "../../repair/repair-checkpoint.js";
import { DEFAULT_HASH_SCHEME, HASH_SCHEMES, isHashScheme, type HashScheme } from "../../repair/file-hash.js";
import { booleanValue, defineCommand, stringValue, type CommandIO, type ParsedValues } from "../command.js";
import { JSON_SCHEMAS, printJson } from "../json-output.js";
import { formatDuration } from "../progress.js";
import { PLAN_OPTIONS, printPlan, scaleOption, shardingOptions, strategyOption } from "./plan.js";

/** Byte progress with rate and ETA on stderr, redrawn in place; only on a terminal (logs and pipes get none). */
function progressPrinter(io: CommandIO): ((done: number, total: number) => void) | undefined {
  if (!io.errIsTTY) return undefined;
  const start = performance.now();
  let last = 0;
  return (done, total) => {
    const now = performance.now();
    const final = done >= total;
    if (!final && now - last < 200) return;
    last = now;
    const seconds = Math.max(1e-3, (now - start) / 1000);
    const rate = done / seconds;
    const eta = rate > 0 ? ((total - done) / rate) * 1000 : 0;
    io.err(`\r\x1b[2Krepair: ${mib(done)} / ${mib(total)} (${((100 * done) / Math.max(1, total)).toFixed(0)}%), ${(rate / 2 ** 20).toFixed(0)} MiB/s, ETA ${formatDuration(eta)}${final ? "\n" : ""}`);
  };
}

function hashOption(values: ParsedValues): HashScheme {
  const raw = stringValue(values, "hash") ?? DEFAULT_HASH_SCHEME;
  if (!isHashScheme(raw)) throw new GacError("BAD_ARGS", `--hash must be one of ${HASH_SCHEMES.join(", ")}, got '${raw}'`);
  return raw;
}

export const repairCommand = defineCommand({
  name: "repair",
  summary: "Zero-pad irregular dims (head_dim, low-rank ranks, MLP width) into a new checkpoint with the same function",
  options: {
    out: { type: "string", short: "o", valueName: "<dir>", description: "Output directory (created atomically; never the input)" },
    ...PLAN_OPTIONS,
    force: { type: "boolean", description: "Replace an existing output that is a gac output (holds gac-repair.json) or empty; the old one is deleted only after the new one is in place" },
    "replace-any": { type: "boolean", description: "With --force: also replace an output that is neither a gac output nor empty (its contents are deleted)" },
    strict: { type: "boolean", description: "Fail instead of skipping dims that cannot be padded exactly" },
    "checksum-output": { type: "boolean", description: "Also record the hash of every output file in gac-repair.json, in the --hash scheme (input files always are)" },
    hash: {
      type: "string",
      valueName: "<scheme>",
      description:
        "How files are hashed: sha256-chunks (the sha256 of every 64 MiB chunk, on several cores at once) or sha256 (one sha256 of each whole file, the Hub's LFS oid; sequential, 1.15-1.32 GB/s per file on the GPU host we measured)",
      default: DEFAULT_HASH_SCHEME,
    },
    "dry-run": { type: "boolean", description: "Print the plan and write nothing (same as `gac plan`)" },
  },
  positionals: [{ name: "model", description: "Checkpoint directory, HF cache snapshot or org/name[@rev] in the HF cache (read only)", required: true }],
  examples: [
    "gac repair ./palu-llama --out ./palu-llama-aligned",
    "gac repair ./svdllm -o ./svdllm-16 --strategy OPTIMAL --scale logical",
    "gac repair ./model --dry-run",
    "gac repair ./pruned-mlp -o ./pruned-mlp-tp8 --runtime vllm --tp 8",
  ],
  async run({ values, positionals, io }) {
    if (booleanValue(values, "dry-run")) {
      await printPlan(positionals[0], values, io);
      return 0;
    }
    const out = stringValue(values, "out");
    if (out === undefined) throw new GacError("BAD_ARGS", "gac repair needs --out <dir> (or --dry-run to only print the plan)");
    const inputHash = hashOption(values);
    const dir = await resolveCheckpointDir(positionals[0], { cwd: io.cwd });
    const json = booleanValue(values, "json");
    // The plan goes out before any byte is written, so an interrupted or refused repair still shows what it would do.
    if (!json) io.out(renderProposal(await proposeRepair(dir, { strategy: strategyOption(values), scaleMode: scaleOption(values), ...shardingOptions(values) })));
    // An empty --out stays empty (refused by the output rules) instead of resolving to the cwd.
    const r = await repairCheckpoint(dir, out.trim() === "" ? out : resolve(io.cwd, out), {
      strategy: strategyOption(values),
      scaleMode: scaleOption(values),
      ...shardingOptions(values),
      force: booleanValue(values, "force"),
      replaceAny: booleanValue(values, "replace-any"),
      strict: booleanValue(values, "strict"),
      checksumOutput: booleanValue(values, "checksum-output"),
      inputHash,
      onProgress: progressPrinter(io),
      signal: io.signal,
    });
    if (json) printJson(io, JSON_SCHEMAS.repair, r.manifest);
    else io.out(`\nWrote ${r.outDir} (${mib(r.bytesOut)} in ${r.seconds.toFixed(1)} s, ${(r.bytesOut / 2 ** 20 / Math.max(1e-3, r.seconds)).toFixed(0)} MiB/s); details in gac-repair.json\n`);
    for (const w of r.warnings) io.err(`warning: ${w}\n`);
    if (r.skipped.length > 0) io.err(`warning: ${r.skipped.length} dims left unrepaired (listed above and in gac-repair.json 'skipped')\n`);
    return 0;
  },
});
