/** `gac quant <dir>`: which quantization formats can take every layer as it is, and what padding makes each possible. Headers only. */
import { openCheckpoint } from "../../checkpoint/open.js";
import { GacError } from "../../errors.js";
import { loadModelSpec } from "../../model/load-model-spec.js";
import { QUANT_FORMATS } from "../../quant/formats.js";
import { quantReadiness, renderQuantText } from "../../quant/readiness.js";
import { booleanValue, defineCommand, stringValue } from "../command.js";
import { resolveCheckpointDir } from "../../input/resolve-input.js";
import { JSON_SCHEMAS, printJson } from "../json-output.js";

export const quantCommand = defineCommand({
  name: "quant",
  summary: "Say which quantization formats (GPTQ, AWQ, FP8, NVFP4, MXFP4) fit every layer, and what padding makes each fit",
  options: {
    formats: { type: "string", description: `Comma-separated formats (default all): ${QUANT_FORMATS.map((f) => f.id).join(", ")}`, valueName: "<ids>" },
    json: { type: "boolean", description: "Print the report as JSON (schema gac-quant/1)" },
  },
  positionals: [{ name: "model", description: "Checkpoint directory (config.json + *.safetensors, 16-bit), HF cache snapshot or org/name[@rev]", required: true }],
  examples: ["gac quant ./pruned-llama", "gac quant ./svdllm --formats gptq-int4-g128,fp8-block128 --json"],
  async run({ values, positionals, io }) {
    const wanted = stringValue(values, "formats");
    const ids =
      wanted === undefined
        ? QUANT_FORMATS.map((f) => f.id as string)
        : wanted
            .split(",")
            .map((s) => s.trim())
            .filter(Boolean);
    const unknown = ids.filter((id) => !QUANT_FORMATS.some((f) => f.id === id));
    if (unknown.length > 0) throw new GacError("BAD_ARGS", `--formats: unknown format ${unknown.join(", ")}; known: ${QUANT_FORMATS.map((f) => f.id).join(", ")}`);
    const spec = loadModelSpec(await openCheckpoint(await resolveCheckpointDir(positionals[0] ?? ".", { cwd: io.cwd })));
    const report = quantReadiness(
      spec,
      QUANT_FORMATS.filter((f) => ids.includes(f.id)),
    );
    if (booleanValue(values, "json")) printJson(io, JSON_SCHEMAS.quant, report);
    else io.out(renderQuantText(report));
    return 0;
  },
});
