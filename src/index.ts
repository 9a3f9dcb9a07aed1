/**
 * gac as a library: the same operations as the CLI, typed the same way (GPU and runtime names as
 * `--gpu` and `--runtime` take them). Everything else under src/ is internal and may change.
 * The report renderer (vega, resvg) is a separate entry, `gac/report`, so that importing gac
 * stays light. Errors are GacError with a stable `code` (src/errors.ts).
 *
 *   import { scanCheckpoint, repairCheckpoint, verifyCheckpoints } from "gac";
 *   const report = await scanCheckpoint("meta-llama/Llama-3.1-8B", { gpu: "h200", runtime: "vllm" });
 */

// Errors.
export { GacError, isGacError, type GacErrorCode } from "./errors.js";

// Inputs: checkpoint directories, the HF cache (offline), GGUF files.
export { resolveModelInput, resolveCheckpointDir, type ModelInput, type ResolveOptions } from "./input/resolve-input.js";
export { hubCacheDir, parseRepoRef, type RepoRef } from "./input/hf-cache.js";

// Scan.
export { scanCheckpoint } from "./scan/scan-checkpoint.js";
export type { ScanOptions } from "./scan/build-scan-report.js";
export { renderScanText } from "./scan/render-scan-text.js";
export { findGpuProfile } from "./scan/scan-profile.js";
export { packagedProfilesDir } from "./profile/profile-store.js";
export { SCAN_SCHEMA, type ScanReport, type ScanCall, type ScanDim, type ScanStrategy, type ScanSummary } from "./scan/types.js";
export { scanGguf, renderGgufScanText, GGUF_SCAN_SCHEMA, type GgufScanReport, type GgufTensorBlocks } from "./gguf/scan-gguf.js";
export { rowBlocks, QUANT_BLOCKS, type RowBlocks } from "./gguf/quant-blocks.js";
export { DEFAULT_GPU_NAME, GPUS, parseGpu } from "./contract/gpus.js";
export { DEFAULT_RUNTIME, RUNTIME_IDS, parseRuntime } from "./contract/runtimes.js";
export type { GpuId, RuntimeId } from "./contract/types.js";

// Plan and repair.
export { proposeRepair, repairCheckpoint, type RepairOptions, type RepairProposal, type RepairResult } from "./repair/repair-checkpoint.js";
export { renderProposal } from "./repair/render-plan.js";
export { REPAIR_MANIFEST_FILE, readPriorRepair, readRepairScale, type RepairManifest } from "./repair/manifest.js";
export { STRATEGIES, type Strategy, type DimChange, type Refusal } from "./plan/types.js";
export type { ScaleMode } from "./repair/tensor-edits.js";

// Verify.
export { verifyCheckpoints, type VerifyOptions, type VerifyReport } from "./verify/verify-checkpoints.js";
export { renderVerifyReport } from "./verify/render-report.js";

// Bench clients: suites, the GPU worker, the results store, profiles.
export { runBench, type BenchOptions, type BenchSummary } from "./bench/run-bench.js";
export { planModelBench, runModelBench } from "./bench/run-model-bench.js";
export { SUITES, expandSuites } from "./bench/suites.js";
export { pythonWorkerSpawner, type SpawnWorker } from "./bench/worker-client.js";
export { loadResults } from "./store/results-store.js";
export { buildProfile } from "./profile/build-profile.js";

// Test checkpoints in real compressed layouts.
export { generateFixture, FIXTURE_KINDS, type FixtureKind, type FixtureInfo, type FixtureOptions } from "./fixtures/index.js";
