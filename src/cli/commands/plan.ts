/** `gac plan <dir>`: what `gac repair` would do (= `gac repair --dry-run`), from headers only. */
import { GacError } from "../../errors.js";
import { DEFAULT_RUNTIME, RUNTIME_IDS, parseRuntime } from "../../contract/runtimes.js";
import { MAX_PP, MAX_TP } from "../../graph/shard-spec.js";
import { STRATEGIES, type Strategy } from "../../plan/types.js";
import { proposeRepair } from "../../repair/repair-checkpoint.js";
import { proposalJson, renderProposal } from "../../repair/render-plan.js";
import { introducedDynamicCosts, type DynamicCostFinding } from "../../contract/dynamic-costs.js";
import { buildKernelGraph } from "../../graph/build-kernel-graph.js";
import { applyPlanToSpec } from "../../plan/apply-plan.js";
import { DEFAULT_GPU_NAME, parseGpu } from "../../contract/gpus.js";

/** The GPU generation plan judges introduced costs on (h200: sm90), as scan does by default. */
const DEFAULT_GPU = parseGpu(DEFAULT_GPU_NAME);
import { servingDtype } from "../../scan/serving-dtype.js";
import type { RepairProposal } from "../../repair/repair-checkpoint.js";
import type { ScaleMode } from "../../repair/tensor-edits.js";
import { resolveCheckpointDir } from "../../input/resolve-input.js";
import { JSON_SCHEMAS, printJson } from "../json-output.js";
import type { RuntimeId } from "../../contract/types.js";
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

/** --tp and --pp, shared by scan, plan, repair and bench model. */
export const PARALLEL_OPTIONS: Record<string, OptionSpec> = {
  tp: { type: "string", valueName: "<n>", description: "Tensor-parallel GPUs: per-GPU shapes after vLLM/TensorRT-LLM sharding (docs/tensor-parallel.md)", default: "1" },
  pp: { type: "string", valueName: "<n>", description: "Pipeline-parallel stages: whole layers per GPU, so per-GPU shapes do not change (accepted and said so)", default: "1" },
};

function wholeNumber(values: ParsedValues, key: string, max: number, what: string): number {
  const text = stringValue(values, key);
  if (text === undefined) return 1;
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < 1 || n > max) {
    throw new GacError("BAD_ARGS", `--${key} expects a whole number from 1 to ${max} (${what}); got '${text}'`);
  }
  return n;
}

export function parallelOptions(values: ParsedValues): { tp: number; pp: number } {
  return { tp: wholeNumber(values, "tp", MAX_TP, "GPUs one model is split over"), pp: wholeNumber(values, "pp", MAX_PP, "pipeline stages") };
}

/** Options shared by plan and repair. */
export const PLAN_OPTIONS: Record<string, OptionSpec> = {
  strategy: { type: "string", short: "s", valueName: "<name>", description: `Padding strategy: ${STRATEGIES.join(", ")}`, default: "OPTIMAL" },
  scale: { type: "string", valueName: "<mode>", description: "Softmax scale after a head_dim change: fold (into q_proj; stock loaders) or logical (runtime passes d^-0.5)", default: "fold" },
  json: { type: "boolean", description: "Print the plan as JSON" },
  runtime: { type: "string", valueName: "<name>", description: `Serving runtime: PREDEFINED's head sizes and, with --tp, the sharding rules (${RUNTIME_IDS.join(", ")})`, default: DEFAULT_RUNTIME },
  ...PARALLEL_OPTIONS,
};

/**
 * Shape-dependent costs the repaired model pays and the original does not, judged for `runtime`
 * (default PyTorch SDPA, what stock transformers runs) on sm90 (H100/H200), decode with a growing cache.
 */
export function repairIntroducedCosts(p: Pick<RepairProposal, "spec" | "plan" | "changes">, runtime: RuntimeId = DEFAULT_RUNTIME): DynamicCostFinding[] {
  const dtype = servingDtype(p.spec.dtype);
  const calls = (spec: RepairProposal["spec"]) => buildKernelGraph(spec).map((c) => ({ ...c, dtype }));
  return introducedDynamicCosts(calls(p.spec), calls(applyPlanToSpec(p.spec, { ...p.plan, changes: p.changes })), runtime, DEFAULT_GPU);
}

function renderIntroduced(costs: readonly DynamicCostFinding[], runtime: RuntimeId): string {
  if (costs.length === 0) return "";
  const lines = ["", `Warning: after this repair, ${runtime} on ${DEFAULT_GPU} pays a cost that depends on how shapes change between calls:`];
  for (const c of costs) {
    lines.push(`  ${c.phase}: ${c.trigger}`, `    cost: ${c.cost}`);
    for (const f of c.fixes) lines.push(`    fix:  ${f}`);
  }
  return lines.join("\n") + "\n";
}

/** What plan and repair pass to proposeRepair besides the strategy: the runtime and the TP degree. */
export function shardingOptions(values: ParsedValues): { runtime: RuntimeId; tp: number; pp: number } {
  return { runtime: parseRuntime(stringValue(values, "runtime") ?? DEFAULT_RUNTIME), ...parallelOptions(values) };
}

export async function printPlan(input: string, values: ParsedValues, io: CommandIO): Promise<void> {
  const dir = await resolveCheckpointDir(input, { cwd: io.cwd });
  const sharding = shardingOptions(values);
  const proposal = await proposeRepair(dir, { strategy: strategyOption(values), scaleMode: scaleOption(values), ...sharding });
  const introduced = repairIntroducedCosts(proposal, sharding.runtime);
  if (booleanValue(values, "json")) printJson(io, JSON_SCHEMAS.plan, { ...proposalJson(proposal), dynamic_costs_introduced: introduced });
  else io.out(renderProposal(proposal) + renderIntroduced(introduced, sharding.runtime));
}

export const planCommand = defineCommand({
  name: "plan",
  summary: "Show how `gac repair` would pad a checkpoint: dim changes, tensor edits, memory overhead, refusals",
  options: PLAN_OPTIONS,
  positionals: [{ name: "model", description: "Checkpoint directory, HF cache snapshot or org/name[@rev] in the HF cache", required: true }],
  examples: ["gac plan ./palu-llama", "gac plan ./svdllm --strategy MINIMAL --json", "gac plan ./pruned-mlp --runtime vllm --tp 8"],
  async run({ values, positionals, io }) {
    await printPlan(positionals[0], values, io);
    return 0;
  },
});
