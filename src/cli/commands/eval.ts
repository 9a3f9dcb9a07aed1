/** `gac eval <dir...>`: perplexity of checkpoints on one text, side by side (CPU float64 or GPU). */
import { GacError } from "../../errors.js";
import { booleanValue, defineCommand, finiteOrText, numberOption, stringValue, type ParsedValues } from "../command.js";
import { DEFAULT_CONTEXT, evalCheckpoints } from "../../eval/eval-checkpoints.js";
import { renderEvalReport } from "../../eval/render-eval.js";
import { PRECISIONS, type Precision } from "../../accuracy/job.js";
import { scaleOption, strategyOption } from "./plan.js";

export function deviceOption(values: ParsedValues): "cpu" | "gpu" {
  const raw = stringValue(values, "device") ?? "cpu";
  if (raw !== "cpu" && raw !== "gpu") throw new GacError("BAD_ARGS", `--device must be cpu or gpu, got '${raw}'`);
  return raw;
}

function precisionsOption(values: ParsedValues): Precision[] | undefined {
  const raw = stringValue(values, "precision");
  if (raw === undefined) return undefined;
  return raw.split(",").map((p) => {
    const found = PRECISIONS.find((x) => x === p.trim());
    if (!found) throw new GacError("BAD_ARGS", `--precision takes ${PRECISIONS.join(", ")} (comma-separated), got '${p}'`);
    return found;
  });
}

export const evalCommand = defineCommand({
  name: "eval",
  summary: "Perplexity of checkpoints on a text (the bundled held-out split by default), side by side",
  options: {
    text: { type: "string", valueName: "<file>", description: "Evaluate this whole file (default: the last 10% of the bundled tinyshakespeare.txt)" },
    context: { type: "string", valueName: "<n>", description: "Tokens per window", default: String(DEFAULT_CONTEXT) },
    stride: { type: "string", valueName: "<n>", description: "Tokens between window starts (default: --context, non-overlapping)" },
    "max-tokens": { type: "string", valueName: "<n>", description: "Score at most this many targets (the first ones)" },
    device: { type: "string", valueName: "<cpu|gpu>", description: "cpu: float64 reference forward; gpu: float64, float32 (TF32 off) and bfloat16 in the PyTorch worker", default: "cpu" },
    precision: { type: "string", valueName: "<list>", description: `GPU precisions, comma-separated (${PRECISIONS.join(", ")}; default all)` },
    "random-weights": { type: "boolean", description: "GPU: draw the original's weights at random (for header-only real-size fixtures) and derive its repair by --strategy/--scale" },
    strategy: { type: "string", valueName: "<name>", description: "With --random-weights: the repair strategy to derive", default: "MINIMAL" },
    scale: { type: "string", valueName: "<mode>", description: "With --random-weights: fold or logical", default: "fold" },
    seed: { type: "string", valueName: "<n>", description: "With --random-weights: seed of the weights", default: "0" },
    json: { type: "boolean", description: "Print the report as JSON (schema gac-eval/1)" },
  },
  positionals: [{ name: "dirs", description: "Checkpoint directories (the original, the compressed, the repaired, ...)", required: true, variadic: true }],
  examples: ["gac eval assets/models/shakespeare-byte", "gac eval ./original ./compressed ./repaired --max-tokens 16384", "gac eval ./palu-8b --device gpu --random-weights --strategy MINIMAL"],
  async run({ values, positionals, io }) {
    const randomWeights = booleanValue(values, "random-weights")
      ? { seed: numberOption(values, "seed", true) ?? 0, strategy: strategyOption({ strategy: stringValue(values, "strategy") ?? "MINIMAL" }), scaleMode: scaleOption(values) }
      : undefined;
    const report = await evalCheckpoints(positionals, {
      textFile: stringValue(values, "text"),
      cwd: io.cwd,
      context: numberOption(values, "context", true),
      stride: numberOption(values, "stride", true),
      maxTokens: numberOption(values, "max-tokens", true),
      device: deviceOption(values),
      precisions: precisionsOption(values),
      ...(randomWeights ? { randomWeights } : {}),
      onProgress: (m) => io.err(m + "\n"),
    });
    io.out(booleanValue(values, "json") ? JSON.stringify(report, finiteOrText, 2) + "\n" : renderEvalReport(report));
    return 0;
  },
});
