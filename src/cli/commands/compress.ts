/** `gac compress <dense-dir> --out <dir> --method M --budget B`: compress with the alignment policy built in. */
import { resolve } from "node:path";
import { compressCheckpoint } from "../../compress/compress-checkpoint.js";
import { DEFAULT_CALIBRATION_TOKENS } from "../../compress/calibration.js";
import { renderCompressReport } from "../../compress/render-compress.js";
import { DEFAULT_PROFILE_TOLERANCE, type AlignPolicy, type RoundMode, type SizeTarget } from "../../compress/size-policy.js";
import { COMPRESS_METHODS, isCompressMethod } from "../../compress/types.js";
import { GacError } from "../../errors.js";
import { loadProfile, packagedProfilesDir } from "../../profile/profile-store.js";
import { findGpuProfile } from "../../scan/scan-profile.js";
import { booleanValue, defineCommand, stringValue, type ParsedValues } from "../command.js";

function fraction(values: ParsedValues, key: string): number | undefined {
  const raw = stringValue(values, key);
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(v) || v <= 0 || v > 1) throw new GacError("BAD_ARGS", `--${key} expects a fraction in (0, 1], got '${raw}'`);
  return v;
}

function sizeTarget(values: ParsedValues): SizeTarget {
  const budget = fraction(values, "budget");
  const energy = fraction(values, "energy");
  if (budget !== undefined && energy !== undefined) throw new GacError("BAD_ARGS", "give --budget or --energy, not both: one decides each size");
  if (budget !== undefined) return { kind: "budget", fraction: budget };
  if (energy !== undefined) return { kind: "energy", fraction: energy };
  throw new GacError("BAD_ARGS", "gac compress needs --budget <fraction of parameters kept> or --energy <fraction of energy kept per matrix>");
}

function alignPolicy(values: ParsedValues): AlignPolicy {
  const align = stringValue(values, "align") ?? "none";
  const round = stringValue(values, "round") ?? "nearest";
  if (round !== "down" && round !== "up" && round !== "nearest") throw new GacError("BAD_ARGS", `--round expects down, up or nearest, got '${round}'`);
  const mode: RoundMode = round;
  if (align === "none") return { kind: "none" };
  if (align === "8" || align === "16") return { kind: "multiple", of: Number(align), round: mode };
  if (align === "profile") {
    const raw = stringValue(values, "tolerance");
    const tolerance = raw === undefined ? DEFAULT_PROFILE_TOLERANCE : Number(raw);
    if (!Number.isFinite(tolerance) || tolerance < 0) throw new GacError("BAD_ARGS", `--tolerance expects a non-negative number, got '${raw}'`);
    return { kind: "profile", tolerance };
  }
  throw new GacError("BAD_ARGS", `--align expects none, 8, 16 or profile, got '${align}'`);
}

function positiveInt(values: ParsedValues, key: string): number | undefined {
  const raw = stringValue(values, key);
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (!Number.isSafeInteger(v) || v <= 0) throw new GacError("BAD_ARGS", `--${key} expects a positive integer, got '${raw}'`);
  return v;
}

export const compressCommand = defineCommand({
  name: "compress",
  summary: "Compress a dense checkpoint (SVD per head, SVD-LLM pairs, ASVD, PaLU grouped K/V, MLP pruning) with aligned or profile-chosen sizes",
  options: {
    out: { type: "string", short: "o", valueName: "<dir>", description: "Output directory (created atomically; never the input)" },
    method: { type: "string", valueName: "<m>", description: `Compression method: ${COMPRESS_METHODS.join(", ")}` },
    budget: { type: "string", valueName: "<b>", description: "Fraction of each compressed matrix's parameters to keep, in (0, 1]" },
    energy: { type: "string", valueName: "<e>", description: "Instead of --budget: keep the fewest units holding this fraction of each matrix's energy (1 = full rank)" },
    align: { type: "string", valueName: "<a>", description: "none, 8, 16, or profile (cheapest size near the target on the GPU profile)", default: "none" },
    round: { type: "string", valueName: "<r>", description: "With --align 8/16: down, up (more real singular vectors) or nearest", default: "nearest" },
    tolerance: { type: "string", valueName: "<x>", description: `With --align profile: extra relative error allowed for speed (default ${DEFAULT_PROFILE_TOLERANCE})` },
    calibration: { type: "string", valueName: "<file>", description: "Calibration text (byte-level tokens) for whitening, scaling and importance scores" },
    "calibration-tokens": { type: "string", valueName: "<n>", description: `Calibration tokens used (default ${DEFAULT_CALIBRATION_TOKENS})` },
    gpu: { type: "string", valueName: "<name>", description: "GPU whose profile predicts each size's time (--align profile uses it; default h200 there)" },
    profile: { type: "string", valueName: "<file>", description: "GPU profile file (default: the newest for --gpu in ./profiles or the packaged profiles/)" },
    "sizes-only": { type: "boolean", description: "Read headers only and write a sparse checkpoint (all-zero weights) with the policy's sizes, for speed runs at real size" },
    "rope-window": { type: "string", valueName: "<w>", description: "svd-heads: prefix (highest-frequency RoPE pairs) or mass (the window with the most q.k score mass)", default: "prefix" },
    "head-group-size": { type: "string", valueName: "<n>", description: "palu: KV heads per low-rank group (default PaLU's 4, lowered to a divisor of the KV head count)" },
    uniform: { type: "boolean", description: "prune-mlp: the same kept fraction in every layer (default: FLAP's adaptive per-layer widths)" },
    force: { type: "boolean", description: "Replace an existing output directory" },
    json: { type: "boolean", description: "Print the report (gac-compress/1) as JSON" },
  },
  positionals: [{ name: "dir", description: "Dense checkpoint directory (config.json + *.safetensors)", required: true }],
  examples: [
    "gac compress ./model --out ./model-svdllm --method svd-pairs --budget 0.6 --calibration data.txt",
    "gac compress ./model --out ./model-asvd16 --method asvd --budget 0.6 --align 16 --round up --calibration data.txt",
    "gac compress ./model --out ./model-palu --method palu --budget 0.7 --head-group-size 1 --calibration data.txt",
    "gac compress ./model --out ./model-heads --method svd-heads --budget 0.75 --align profile --gpu h200",
    "gac compress ./llama3-8b-sparse --out ./flap-8 --method prune-mlp --budget 0.7 --align 8 --sizes-only",
  ],
  async run({ values, positionals, io }) {
    const method = stringValue(values, "method");
    if (method === undefined || !isCompressMethod(method)) {
      throw new GacError("BAD_ARGS", `--method expects one of ${COMPRESS_METHODS.join(", ")}, got ${method === undefined ? "nothing" : `'${method}'`}`);
    }
    const out = stringValue(values, "out");
    if (out === undefined) throw new GacError("BAD_ARGS", "gac compress needs --out <dir>");
    const align = alignPolicy(values);
    let profile;
    if (align.kind === "profile" || stringValue(values, "gpu") !== undefined || stringValue(values, "profile") !== undefined) {
      const gpuName = stringValue(values, "gpu") ?? "h200";
      const profileArg = stringValue(values, "profile");
      const path = profileArg === undefined ? undefined : resolve(io.cwd, profileArg);
      profile = path !== undefined ? { profile: await loadProfile(path), path } : ((await findGpuProfile(gpuName, [resolve(io.cwd, "profiles"), packagedProfilesDir()])) ?? undefined);
      if (profile === undefined) throw new GacError("NO_PROFILE", `no GPU profile for '${gpuName}' in ./profiles or the packaged profiles/: give --profile <file> or run gac profile`);
    }
    const calibration = stringValue(values, "calibration");
    const ropeWindow = stringValue(values, "rope-window") ?? "prefix";
    if (ropeWindow !== "prefix" && ropeWindow !== "mass") throw new GacError("BAD_ARGS", `--rope-window expects prefix or mass, got '${ropeWindow}'`);
    const report = await compressCheckpoint(resolve(io.cwd, positionals[0]), resolve(io.cwd, out), {
      method,
      target: sizeTarget(values),
      align,
      calibrationPath: calibration === undefined ? undefined : resolve(io.cwd, calibration),
      calibration: { maxTokens: positiveInt(values, "calibration-tokens") },
      profile,
      sizesOnly: booleanValue(values, "sizes-only"),
      uniform: booleanValue(values, "uniform"),
      ropeWindow,
      headGroupSize: positiveInt(values, "head-group-size"),
      force: booleanValue(values, "force"),
    });
    io.out(booleanValue(values, "json") ? JSON.stringify(report, null, 2) + "\n" : renderCompressReport(report));
    return 0;
  },
});
