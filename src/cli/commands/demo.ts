/** `gac demo`: the README's main job. The seeds' PaLU case: scan -> repair -> scan -> verify -> measured effect. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { booleanValue, defineCommand, stringValue } from "../command.js";
import { DEFAULT_GPU_NAME, parseGpu } from "../../contract/gpus.js";
import { DEFAULT_RUNTIME, RUNTIME_IDS, parseRuntime } from "../../contract/runtimes.js";
import { findGpuProfile } from "../../scan/scan-profile.js";
import { packagedProfilesDir } from "../../profile/profile-store.js";
import { runDemo } from "../../demo/run-demo.js";
import { renderDemo } from "../../demo/render-demo.js";
import { GacError } from "../../errors.js";
import { trackTempPath } from "../../util/temp-paths.js";
import { JSON_SCHEMAS, printJson } from "../json-output.js";
import { strategyOption } from "./plan.js";

export const demoCommand = defineCommand({
  name: "demo",
  summary: "Scan, repair and verify a bundled PaLU-like checkpoint (per-head ranks 114-125), with the measured effect",
  options: {
    out: { type: "string", short: "o", description: "Keep the checkpoints here (default: a new temp directory)", valueName: "<dir>" },
    strategy: { type: "string", short: "s", description: "Padding strategy: MINIMAL, OPTIMAL, PREDEFINED, TRADEOFF", valueName: "<name>", default: "MINIMAL" },
    gpu: { type: "string", description: "GPU whose profile gives the effect (measured: h200; published: a100)", valueName: "<name>", default: DEFAULT_GPU_NAME },
    runtime: { type: "string", description: `Serving runtime: ${RUNTIME_IDS.join(", ")}`, valueName: "<name>", default: DEFAULT_RUNTIME },
    force: { type: "boolean", description: "Replace earlier demo output in --out" },
    json: { type: "boolean", description: "Print the scans, repair manifest, verify report and effects as JSON" },
  },
  positionals: [],
  examples: ["gac demo", "gac demo --out ./demo --strategy OPTIMAL --gpu a100"],
  async run({ values, io }) {
    const gpuName = stringValue(values, "gpu") ?? DEFAULT_GPU_NAME;
    const gpu = parseGpu(gpuName);
    const runtime = parseRuntime(stringValue(values, "runtime") ?? DEFAULT_RUNTIME);
    const strategy = strategyOption(values);
    const out = stringValue(values, "out");
    // Without --out the checkpoints (about 76 MB) live in a temp dir that is removed at the end, or on a signal.
    const workDir = out !== undefined ? resolve(io.cwd, out) : await mkdtemp(join(tmpdir(), "gac-demo-"));
    if (out === undefined) trackTempPath(workDir);
    try {
      const profile = await findGpuProfile(gpuName, [resolve(io.cwd, "profiles"), packagedProfilesDir()]);
      const result = await runDemo({
        workDir,
        strategy,
        force: booleanValue(values, "force"),
        scan: { runtime, gpu, gpuName, ...(profile ? { profile } : {}) },
        onStep: (s) => io.err(`gac demo: ${s}\n`),
      });
      if (booleanValue(values, "json")) {
        const { before, after, verify, effects, repair } = result;
        printJson(io, JSON_SCHEMAS.demo, { before, after, repair: repair.manifest, verify, effects });
      } else {
        io.out(renderDemo(result));
        if (out === undefined) io.out(`\n(the checkpoints were in a temp directory, now removed; \`gac demo --out <dir>\` keeps them)\n`);
      }
      if (!result.verify.pass) throw new GacError("VERIFY_FAILED", `the repaired demo model differs from the original past the tolerance (see above)`);
    } finally {
      if (out === undefined) await rm(workDir, { recursive: true, force: true });
    }
    return 0;
  },
});
