/** `gac plan <dir>`: what `gac repair` would do (= `gac repair --dry-run`), from headers only. */
import { GacError } from "../../errors.js";
import { STRATEGIES, type Strategy } from "../../plan/types.js";
import { proposeRepair } from "../../repair/repair-checkpoint.js";
import { proposalJson, renderProposal } from "../../repair/render-plan.js";
import { introducedDynamicCosts, type DynamicCostFinding } from "../../contract/dynamic-costs.js";
import { DEFAULT_RUNTIME } from "../../contract/runtimes.js";
import { buildKernelGraph } from "../../graph/build-kernel-graph.js";
import { applyPlanToSpec } from "../../plan/apply-plan.js";
import { DEFAULT_GPU } from "../../scan/build-scan-report.js";
import { servingDtype } from "../../scan/serving-dtype.js";
import type { RepairProposal } from "../../repair/repair-checkpoint.js";
import type { ScaleMode } from "../../repair/tensor-edits.js";
import { booleanValue, defineCommand, stringValue, type CommandIO, type OptionSpec, type ParsedValues } from "../command.js";

export function strategyOption(values: ParsedValues): Strategy {
  const raw = (stringValue(values, "strategy") ?? "OPTIMAL").toUpperCase();
  const s = STRATEGIES.find((x) => x === raw);
  if (!s) throw new GacError("BAD_ARGS", `--strategy must be one of ${STRATEGIES.join(", ")}, got '${stringValue(values, "strategy")}'`);
  return s;
}

export function scaleOption(values: ParsedValues): ScaleMode {
  const raw = stringValue(values, "scale") ?? "fold";
  if (raw !== "fold" && raw !== "logical") throw new GacError("BAD_ARGS", `--scale must be fold or logical, got '${raw}'`);
  return raw;
}

/** Options shared by plan and repair. */
export const PLAN_OPTIONS: Record<string, OptionSpec> = {
  strategy: { type: "string", short: "s", valueName: "<name>", description: `Padding strategy: ${STRATEGIES.join(", ")}`, default: "OPTIMAL" },
  scale: { type: "string", valueName: "<mode>", description: "Softmax scale after a head_dim change: fold (into q_proj; stock loaders) or logical (runtime passes d^-0.5)", default: "fold" },
  json: { type: "boolean", description: "Print the plan as JSON" },
};

/**
 * Shape-dependent costs the repaired model pays and the original does not, judged for PyTorch SDPA
 * (what stock transformers runs) on sm90 (H100/H200), decode with a growing cache.
 */
export function repairIntroducedCosts(p: Pick<RepairProposal, "spec" | "plan" | "changes">): DynamicCostFinding[] {
  const dtype = servingDtype(p.spec.dtype);
  const calls = (spec: RepairProposal["spec"]) => buildKernelGraph(spec).map((c) => ({ ...c, dtype }));
  return introducedDynamicCosts(calls(p.spec), calls(applyPlanToSpec(p.spec, { ...p.plan, changes: p.changes })), DEFAULT_RUNTIME, DEFAULT_GPU);
}

function renderIntroduced(costs: readonly DynamicCostFinding[]): string {
  if (costs.length === 0) return "";
  const lines = ["", `Warning: after this repair, ${DEFAULT_RUNTIME} on ${DEFAULT_GPU} pays a cost that depends on how shapes change between calls:`];
  for (const c of costs) {
    lines.push(`  ${c.phase}: ${c.trigger}`, `    cost: ${c.cost}`);
    for (const f of c.fixes) lines.push(`    fix:  ${f}`);
  }
  return lines.join("\n") + "\n";
}

export async function printPlan(dir: string, values: ParsedValues, io: CommandIO): Promise<void> {
  const proposal = await proposeRepair(dir, { strategy: strategyOption(values), scaleMode: scaleOption(values) });
  const introduced = repairIntroducedCosts(proposal);
  if (booleanValue(values, "json")) io.out(JSON.stringify({ ...proposalJson(proposal), dynamic_costs_introduced: introduced }, null, 2) + "\n");
  else io.out(renderProposal(proposal) + renderIntroduced(introduced));
}

export const planCommand = defineCommand({
  name: "plan",
  summary: "Show how `gac repair` would pad a checkpoint: dim changes, tensor edits, memory overhead, refusals",
  options: PLAN_OPTIONS,
  positionals: [{ name: "dir", description: "Checkpoint directory (config.json + *.safetensors)", required: true }],
  examples: ["gac plan ./palu-llama", "gac plan ./svdllm --strategy MINIMAL --json"],
  async run({ values, positionals, io }) {
    await printPlan(positionals[0], values, io);
    return 0;
  },
});
