/** scanCheckpoint: headers only (no tensor bytes are read), so a 16+ GB checkpoint scans in milliseconds. */
import { openCheckpoint } from "../checkpoint/open.js";
import { resolveCheckpointDir, type ResolveOptions } from "../input/resolve-input.js";
import { loadModelSpec } from "../model/load-model-spec.js";
import { buildScanReport, type ScanOptions } from "./build-scan-report.js";
import type { ScanReport } from "./types.js";

/**
 * `input` is a checkpoint directory, an HF cache snapshot or `models--org--name` directory, or an
 * `org/name[@revision]` in the HF cache (offline). GPU and runtime are names as the CLI takes them.
 */
export async function scanCheckpoint(input: string, opts: ScanOptions & ResolveOptions = {}): Promise<ScanReport> {
  const ckpt = await openCheckpoint(await resolveCheckpointDir(input, opts));
  return buildScanReport(loadModelSpec(ckpt), opts);
}
