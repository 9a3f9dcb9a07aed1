/** `gac verify <original> <repaired>`: do both checkpoints compute the same function (CPU float64, or GPU)? */
import { GacError } from "../../errors.js";
import { resolveCheckpointDir } from "../../input/resolve-input.js";
import { JSON_SCHEMAS, printJson } from "../json-output.js";
import { booleanValue, defineCommand, finiteOrText, numberOption, stringValue } from "../command.js";
import { DEFAULT_SEED, DEFAULT_TOKENS, verifyCheckpoints } from "../../verify/verify-checkpoints.js";
import { LAYERWISE_PARAM_THRESHOLD } from "../../verify/layerwise.js";
import { figuresLine, renderVerifyReport, sci } from "../../verify/render-report.js";
import { DEFAULT_GPU_TOKENS, verifyOnGpu } from "../../verify/gpu-verify.js";
import { renderGpuVerifyReport } from "../../verify/render-gpu-report.js";
import { deviceOption } from "./eval.js";
import { createProgress, etaFromPace } from "../progress.js";
import { scaleOption, strategyOption } from "./plan.js";

export const verifyCommand = defineCommand({
  name: "verify",
  summary: "Check that a repaired checkpoint computes the same logits as the original (CPU float64, or GPU fp32/bf16)",
  options: {
    tokens: { type: "string", valueName: "<n>", description: `Seeded random token ids (or hidden-state rows) to run (default ${DEFAULT_TOKENS}; ${DEFAULT_GPU_TOKENS} on the GPU)` },
    seed: { type: "string", valueName: "<n>", description: "Seed of the random inputs (and of --random-weights)", default: String(DEFAULT_SEED) },
    tolerance: { type: "string", valueName: "<x>", description: "CPU: pass threshold on max |a-b| / max |a| (default: 1e-5 for float32, 1e-2 for 16-bit weights)" },
    layerwise: { type: "boolean", description: `CPU: compare layer by layer on random hidden states (automatic above ${LAYERWISE_PARAM_THRESHOLD / 1e6}M params)` },
    device: { type: "string", valueName: "<cpu|gpu>", description: "gpu: full size in the PyTorch worker, fp32 (TF32 off) and bf16, beside the bf16 noise floor", default: "cpu" },
    "random-weights": { type: "boolean", description: "GPU: random weights for a header-only original; the repair is derived by --strategy/--scale (no repaired dir)" },
    strategy: { type: "string", valueName: "<name>", description: "With --random-weights: the repair strategy", default: "MINIMAL" },
    scale: { type: "string", valueName: "<mode>", description: "With --random-weights: fold or logical", default: "fold" },
    json: { type: "boolean", description: "Print the report as JSON" },
  },
  positionals: [
    { name: "original", description: "The checkpoint before repair", required: true },
    { name: "repaired", description: "The output of `gac repair` (its gac-repair.json says how the softmax scale was kept)", required: false },
  ],
  examples: [
    "gac verify ./palu-llama ./palu-llama-repaired",
    "gac verify ./big ./big-repaired --layerwise --tokens 8 --json",
    "gac verify ./palu-llama ./palu-llama-repaired --device gpu",
    "gac verify ./palu-8b-sparse --device gpu --random-weights --strategy MINIMAL --scale fold",
  ],
  async run({ values, positionals, io }) {
    // Flags first: a typo in --tokens is reported before any path is looked at.
    const tokens = numberOption(values, "tokens", true);
    const seed = numberOption(values, "seed", true);
    const tolerance = numberOption(values, "tolerance", false);
    const [originalDir, repairedDir] = await Promise.all(positionals.map((p) => resolveCheckpointDir(p, { cwd: io.cwd })));
    const json = booleanValue(values, "json");
    if (deviceOption(values) === "gpu") {
      const report = await verifyOnGpu(originalDir, repairedDir, {
        tokens,
        seed,
        ...(booleanValue(values, "random-weights") ? { randomWeights: { strategy: strategyOption({ strategy: stringValue(values, "strategy") ?? "MINIMAL" }), scaleMode: scaleOption(values) } } : {}),
        onProgress: (m) => io.err(m + "\n"),
      });
      io.out(json ? JSON.stringify(report, finiteOrText, 2) + "\n" : renderGpuVerifyReport(report));
      const failed = report.comparisons.filter((c) => !c.pass).map((c) => `${c.name} ${sci(c.max_rel_diff)} > ${sci(c.bound)}`);
      if (!report.pass) throw new GacError("VERIFY_FAILED", `on the GPU the repaired model differs past its bounds: ${failed.join("; ") || "repaired tensors differ from the edited original"}`);
      return 0;
    }
    if (booleanValue(values, "random-weights")) throw new GacError("BAD_ARGS", "--random-weights runs on the GPU only (--device gpu)");
    if (repairedDir === undefined) throw new GacError("BAD_ARGS", "gac verify needs two directories: the original and the repaired checkpoint");
    // On a terminal a progress line with ETA; in logs and pipes one line per layer (layerwise mode).
    const progress = createProgress(io);
    const started = performance.now();
    const report = await verifyCheckpoints(originalDir, repairedDir, {
      tokens,
      seed,
      tolerance,
      layerwise: booleanValue(values, "layerwise"),
      onLayer: io.errIsTTY ? undefined : (d, of) => io.err(`${d.part ?? `layer ${d.layer + 1}/${of}`}: max rel diff ${sci(d.stats.maxRelDiff)}\n`),
      onProgress: (p) => progress.update({ ...p, etaMs: etaFromPace(performance.now() - started, p.done, p.total) }),
    }).finally(() => progress.end());
    if (json) printJson(io, JSON_SCHEMAS.verify, report);
    else io.out(renderVerifyReport(report));
    if (!report.pass) {
      throw new GacError("VERIFY_FAILED", `repaired model differs past the tolerance ${sci(report.tolerance)}: ${figuresLine(report.stats)}`);
    }
    return 0;
  },
});
