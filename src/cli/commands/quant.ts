/** `gac quant <dir>`: which quantization formats can take every layer as it is, and what padding makes each possible. Headers only. */
import { resolve } from "node:path";
import { openCheckpoint } from "../../checkpoint/open.js";
import { GacError } from "../../errors.js";
import { loadModelSpec } from "../../model/load-model-spec.js";
import { QUANT_FORMATS } from "../../quant/formats.js";
import { quantReadiness, renderQuantText } from "../../quant/readiness.js";
import { repairCheckpoint } from "../../repair/repair-checkpoint.js";
import { strategyOption } from "./plan.js";
import { booleanValue, defineCommand, stringValue } from "../command.js";
import { resolveCheckpointDir } from "../../input/resolve-input.js";
import { JSON_SCHEMAS, printJson } from "../json-output.js";

export const quantCommand = defineCommand({
  name: "quant",
  summary: "Say which quantization formats (GPTQ, AWQ, FP8, NVFP4, MXFP4) fit every layer, and what padding makes each fit",
  options: {
    formats: { type: "string", description: `Comma-separated formats (default all): ${QUANT_FORMATS.map((f) => f.id).join(", ")}`, valueName: "<ids>" },
    json: { type: "boolean", description: "Print the report as JSON (schema gac-quant/1)" },
    repair: {
      type: "string",
      description:
        "Pad a quantized checkpoint in the quantized domain into this new directory (what gac repair does with a quantized input: exact; targets are the lcm of the strategy's alignment and the format's blocks)",
      valueName: "<out>",
    },
    strategy: { type: "string", short: "s", valueName: "<name>", description: "Padding strategy for --repair (default OPTIMAL)" },
    force: { type: "boolean", description: "With --repair: replace an existing output directory" },
  },
  positionals: [{ name: "model", description: "Checkpoint directory (config.json + *.safetensors), 16-bit or quantized (GPTQ, AWQ, FP8, NVFP4), HF cache snapshot or org/name[@rev]", required: true }],
  examples: ["gac quant ./pruned-llama", "gac quant ./svdllm --formats gptq-int4-g128,fp8-block128 --json", "gac quant ./pruned-fp8 --repair ./pruned-fp8-aligned"],
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
    const dir = await resolveCheckpointDir(positionals[0] ?? ".", { cwd: io.cwd });
    const out = stringValue(values, "repair");
    if (out !== undefined) {
      const spec0 = loadModelSpec(await openCheckpoint(dir));
      if (spec0.quantization === undefined) throw new GacError("UNSUPPORTED", `${dir} is not quantized (no quantization_config): use gac repair ${dir} --out ${out}`);
      // The same repair as `gac repair` (streamed, built aside, gac-repair.json); a quantized input is padded in the quantized domain.
      const r = await repairCheckpoint(dir, resolve(io.cwd, out), { strategy: strategyOption(values), force: booleanValue(values, "force") });
      const lines = [`Repaired ${spec0.quantization.description} checkpoint in the quantized domain -> ${r.outDir}: ${r.changes.length} dims padded, ${r.edits.length} stored tensors edited`];
      for (const c of r.changes) lines.push(`  ${c.id}: ${c.from} -> ${c.to}`);
      for (const s of r.skipped) lines.push(`  skipped ${s.id} = ${s.value}: ${s.reason}`);
      lines.push(`Check it: gac verify ${dir} ${resolve(io.cwd, out)}`);
      io.out(lines.join("\n") + "\n");
      return 0;
    }
    const spec = loadModelSpec(await openCheckpoint(dir));
    const report = quantReadiness(
      spec,
      QUANT_FORMATS.filter((f) => ids.includes(f.id)),
    );
    if (booleanValue(values, "json")) printJson(io, JSON_SCHEMAS.quant, report);
    else io.out(renderQuantText(report));
    return 0;
  },
});
