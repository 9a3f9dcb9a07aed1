/** scanCheckpoint: headers only (no tensor bytes are read), so a 16+ GB checkpoint scans in milliseconds. */
import { openCheckpoint } from "../checkpoint/open.js";
import { loadModelSpec } from "../model/load-model-spec.js";
import { buildScanReport, type ScanOptions } from "./build-scan-report.js";
import type { ScanReport } from "./types.js";

export async function scanCheckpoint(dir: string, opts: ScanOptions = {}): Promise<ScanReport> {
  const ckpt = await openCheckpoint(dir);
  return buildScanReport(loadModelSpec(ckpt), opts);
}
