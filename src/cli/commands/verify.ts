/** `gac verify <original> <repaired>`: do both checkpoints compute the same function (CPU, float64)? */
import { GacError } from "../../errors.js";
import { resolveCheckpointDir } from "../../input/resolve-input.js";
import { JSON_SCHEMAS, printJson } from "../json-output.js";
import { createProgress } from "../progress.js";
import { booleanValue, defineCommand, stringValue, type ParsedValues } from "../command.js";
import { DEFAULT_SEED, DEFAULT_TOKENS, verifyCheckpoints } from "../../verify/verify-checkpoints.js";
import { LAYERWISE_PARAM_THRESHOLD } from "../../verify/layerwise.js";
import { figuresLine, renderVerifyReport, sci } from "../../verify/render-report.js";

function numberOption(values: ParsedValues, key: string, integer: boolean): number | undefined {
  const raw = stringValue(values, key);
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
    throw new GacError("BAD_ARGS", `--${key} expects ${integer ? "an integer" : "a number"}, got '${raw}'`);
  }
  return v;
}

export const verifyCommand = defineCommand({
  name: "verify",
  summary: "Check that a repaired checkpoint computes the same logits as the original (CPU, float64)",
  options: {
    tokens: { type: "string", valueName: "<n>", description: "Seeded random token ids (or hidden-state rows) to run", default: String(DEFAULT_TOKENS) },
    seed: { type: "string", valueName: "<n>", description: "Seed of the random inputs", default: String(DEFAULT_SEED) },
    tolerance: { type: "string", valueName: "<x>", description: "Pass threshold on max |a-b| / max |a| (default: 1e-5 for float32, 1e-2 for 16-bit weights)" },
    layerwise: { type: "boolean", description: `Compare layer by layer on random hidden states (automatic above ${LAYERWISE_PARAM_THRESHOLD / 1e6}M params)` },
    json: { type: "boolean", description: "Print the report as JSON (docs/schemas/gac-verify.schema.json)" },
  },
  positionals: [
    { name: "original", description: "The checkpoint before repair", required: true },
    { name: "repaired", description: "The output of `gac repair` (its gac-repair.json says how the softmax scale was kept)", required: true },
  ],
  examples: ["gac verify ./palu-llama ./palu-llama-repaired", "gac verify ./big ./big-repaired --layerwise --tokens 8 --json"],
  async run({ values, positionals, io }) {
    // Layer by layer, progress with ETA on a terminal (big models take minutes on the CPU).
    const progress = createProgress(io);
    const start = performance.now();
    // Flags first: a typo in --tokens is reported before any path is looked at.
    const tokens = numberOption(values, "tokens", true);
    const seed = numberOption(values, "seed", true);
    const tolerance = numberOption(values, "tolerance", false);
    const [originalDir, repairedDir] = await Promise.all(positionals.map((p) => resolveCheckpointDir(p, { cwd: io.cwd })));
    const report = await verifyCheckpoints(originalDir, repairedDir, {
      tokens,
      seed,
      tolerance,
      layerwise: booleanValue(values, "layerwise"),
      onLayer: (d, of) => {
        const done = d.layer + 1;
        const elapsed = performance.now() - start;
        progress.update({ done, total: of, etaMs: (elapsed / done) * (of - done), current: `layer ${done}: max rel diff ${sci(d.stats.maxRelDiff)}` });
      },
    }).finally(() => progress.end());
    if (booleanValue(values, "json")) printJson(io, JSON_SCHEMAS.verify, report);
    else io.out(renderVerifyReport(report));
    if (!report.pass) {
      throw new GacError("VERIFY_FAILED", `repaired model differs past the tolerance ${sci(report.tolerance)}: ${figuresLine(report.stats)}`);
    }
    return 0;
  },
});
