/** `gac scan <dir>`: which kernel calls of a checkpoint collapse on a runtime and GPU, and what repair would cost. Headers only. */
import { resolve } from "node:path";
import { GacError } from "../../errors.js";
import { booleanValue, defineCommand, stringValue, type ParsedValues } from "../command.js";
import { DEFAULT_GPU_NAME, parseGpu } from "../../contract/gpus.js";
import { openCheckpoint } from "../../checkpoint/open.js";
import { resolveModelInput } from "../../input/resolve-input.js";
import { loadModelSpec } from "../../model/load-model-spec.js";
import { buildScanReport } from "../../scan/build-scan-report.js";
import { renderGgufScanText, scanGguf } from "../../gguf/scan-gguf.js";
import { EXIT } from "../exit-codes.js";
import { JSON_SCHEMAS, printJson } from "../json-output.js";
import { DEFAULT_RUNTIME, RUNTIME_IDS, parseRuntime } from "../../contract/runtimes.js";
import { DEFAULT_WORKLOAD, type Workload } from "../../graph/types.js";
import { renderScanText } from "../../scan/render-scan-text.js";
import { findGpuProfile } from "../../scan/scan-profile.js";
import { loadProfile, packagedProfilesDir } from "../../profile/profile-store.js";
import { PARALLEL_OPTIONS, parallelOptions } from "./plan.js";

/** A token count above this is a typo, not a workload (1M tokens of prefill per sequence). */
const MAX_TOKENS = 1 << 20;

function positiveInt(values: ParsedValues, key: string, fallback: number): number {
  const text = stringValue(values, key);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n <= 0 || n > MAX_TOKENS) {
    throw new GacError("BAD_ARGS", `--${key} expects a whole number from 1 to ${MAX_TOKENS}; got '${text}'`);
  }
  return n;
}

export const scanCommand = defineCommand({
  name: "scan",
  summary: "Find the kernel calls of a checkpoint that leave the fast path (reads headers only)",
  options: {
    runtime: { type: "string", description: `Serving runtime: ${RUNTIME_IDS.join(", ")}`, valueName: "<name>", default: DEFAULT_RUNTIME },
    gpu: { type: "string", description: "GPU: a100, l40s, h100, h200, b200, ... or sm80/sm86/sm89/sm90/sm100", valueName: "<name>", default: DEFAULT_GPU_NAME },
    json: { type: "boolean", description: "Print the report as JSON (docs/scan-json.md, docs/schemas/gac-scan.schema.json)" },
    "fail-on": { type: "string", description: "Exit 4 when a call collapses: `collapse` (slow or refused) or `refused`; GGUF: a row misses a quant block", valueName: "<what>" },
    "prefill-len": { type: "string", description: "Prompt length of the prefill phase", valueName: "<n>", default: String(DEFAULT_WORKLOAD.prefillLen) },
    batch: { type: "string", description: "Sequences per batch, prefill and decode", valueName: "<n>", default: String(DEFAULT_WORKLOAD.prefillBatch) },
    "kv-len": { type: "string", description: "KV-cache length the decode phase attends to", valueName: "<n>", default: String(DEFAULT_WORKLOAD.kvLen) },
    ...PARALLEL_OPTIONS,
    profile: {
      type: "string",
      description: "GPU profile to predict times from (default: the newest for --gpu in ./profiles or the packaged profiles/, measured before published)",
      valueName: "<file>",
    },
  },
  positionals: [{ name: "model", description: "Checkpoint directory, HF cache snapshot, org/name[@rev] in the HF cache, or a .gguf file", required: true }],
  examples: [
    "gac scan ./llama3-palu --gpu a100",
    "gac scan ./direct-svd --runtime vllm --gpu h200 --json > scan.json",
    "gac scan ./direct-svd --gpu h100 --profile profiles/nvidia-h100-80gb-hbm3.json",
    "gac scan meta-llama/Llama-3.1-8B --fail-on collapse",
    "gac scan ./model-Q4_K_M.gguf",
    "gac scan ./pruned-mlp --runtime vllm --gpu h200 --tp 8",
  ],
  async run({ values, positionals, io }) {
    const failOn = stringValue(values, "fail-on");
    if (failOn !== undefined && failOn !== "collapse" && failOn !== "refused") throw new GacError("BAD_ARGS", `--fail-on takes collapse or refused; got '${failOn}'`);
    const input = await resolveModelInput(positionals[0] ?? ".", { cwd: io.cwd });
    if (input.kind === "gguf") {
      const report = await scanGguf(input.file);
      if (booleanValue(values, "json")) printJson(io, JSON_SCHEMAS.ggufScan, report);
      else io.out(renderGgufScanText(report));
      return failOn !== undefined && (report.misaligned.length > 0 || report.attention.flash_attn_ok === false) ? EXIT.COLLAPSE_FOUND : EXIT.OK;
    }
    const runtime = parseRuntime(stringValue(values, "runtime") ?? DEFAULT_RUNTIME);
    const gpuName = stringValue(values, "gpu") ?? DEFAULT_GPU_NAME;
    const gpu = parseGpu(gpuName);
    const batch = positiveInt(values, "batch", DEFAULT_WORKLOAD.prefillBatch);
    const workload: Workload = {
      prefillBatch: batch,
      prefillLen: positiveInt(values, "prefill-len", DEFAULT_WORKLOAD.prefillLen),
      decodeBatch: batch,
      kvLen: positiveInt(values, "kv-len", DEFAULT_WORKLOAD.kvLen),
    };
    // Predicted times come from --profile, else from a profile of this GPU in ./profiles (where
    // `gac profile` writes) or the packaged ones; with none they stay null and the text says so.
    const profileArg = stringValue(values, "profile");
    const profilePath = profileArg === undefined ? undefined : resolve(io.cwd, profileArg);
    const profile = profilePath !== undefined ? { profile: await loadProfile(profilePath), path: profilePath } : await findGpuProfile(gpuName, [resolve(io.cwd, "profiles"), packagedProfilesDir()]);
    const report = buildScanReport(loadModelSpec(await openCheckpoint(input.dir)), { runtime, gpu, gpuName, workload, profile: profile ?? undefined, ...parallelOptions(values) });
    if (booleanValue(values, "json")) printJson(io, JSON_SCHEMAS.scan, report);
    else io.out(renderScanText(report));
    if (failOn === undefined) return EXIT.OK;
    const failing = report.calls.filter((c) => c.verdict === "refused" || (failOn === "collapse" && c.verdict === "slow"));
    if (failing.length === 0) return EXIT.OK;
    io.err(`gac: --fail-on ${failOn}: ${failing.length} of ${report.calls.length} calls ${failOn === "collapse" ? "leave the fast path" : "are refused"} (first: ${failing[0].id})\n`);
    return EXIT.COLLAPSE_FOUND;
  },
});
