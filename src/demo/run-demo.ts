/**
 * `gac demo` as a library call: the seeds' PaLU case end to end. Generate the bundled fixture,
 * scan it, repair it, scan the result, verify both with the CPU reference forward, and look up the
 * measured effect of each padding in the GPU profile.
 */
import { join } from "node:path";
import { generateFixture, type FixtureInfo } from "../fixtures/index.js";
import { scanCheckpoint } from "../scan/scan-checkpoint.js";
import type { ScanOptions } from "../scan/build-scan-report.js";
import type { ScanReport } from "../scan/types.js";
import { repairCheckpoint, type RepairResult } from "../repair/repair-checkpoint.js";
import { verifyCheckpoints, type VerifyReport } from "../verify/verify-checkpoints.js";
import type { Strategy } from "../plan/types.js";
import { measuredEffects, type MeasuredEffect } from "./measured-effect.js";

interface DemoOptions {
  /** Directory that receives original/ and repaired/ (created if missing). */
  workDir: string;
  strategy: Strategy;
  /** Scan settings (runtime, GPU, profile) used for both scans. */
  scan: ScanOptions;
  force?: boolean;
  onStep?: (step: string) => void;
}

export interface DemoResult {
  fixture: FixtureInfo;
  before: ScanReport;
  repair: RepairResult;
  after: ScanReport;
  verify: VerifyReport;
  /** Empty when no profile was given or it lacks the sizes. */
  effects: MeasuredEffect[];
}

export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const step = opts.onStep ?? (() => {});
  step("generating the bundled PaLU-like checkpoint");
  const fixture = await generateFixture("demo", join(opts.workDir, "original"), { force: opts.force });
  step("scanning it");
  const before = await scanCheckpoint(fixture.dir, opts.scan);
  step(`repairing it (${opts.strategy})`);
  const repair = await repairCheckpoint(fixture.dir, join(opts.workDir, "repaired"), { strategy: opts.strategy, force: opts.force });
  step("scanning the repaired checkpoint");
  const after = await scanCheckpoint(repair.outDir, opts.scan);
  step("verifying both with the float64 CPU reference forward");
  const verify = await verifyCheckpoints(fixture.dir, repair.outDir);
  const effects = opts.scan.profile ? measuredEffects(opts.scan.profile.profile, repair.changes) : [];
  return { fixture, before, repair, after, verify, effects };
}
