/**
 * The GPU profile a scan predicts times from: which profile a `--gpu` name selects, what the report
 * says about it, and the per-call predictor that the unrepaired model and every strategy's
 * repaired model share. Calls reach the predictor at the serving dtype (serving-dtype.ts).
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { KernelCall } from "../graph/types.js";
import { gpuSlug } from "../profile/build-profile.js";
import { predictCall } from "../profile/predict.js";
import { findProfile, loadProfile } from "../profile/profile-store.js";
import type { GpuProfile, ProfileOp } from "../profile/types.js";
import type { ServingDtype } from "./serving-dtype.js";
import type { ScanProfile } from "./types.js";

export interface LoadedProfile {
  profile: GpuProfile;
  path: string;
}

/**
 * About the cost of launching one kernel through PyTorch (CUDA launch plus dispatch, a few µs): a
 * call predicted below it was scaled down linearly from a far larger reference shape, and its
 * real time is launch-bound, so the prediction understates it.
 */
const LAUNCH_FLOOR_MS = 0.005;

/** The ops a forward pass needs a table for, as the notes name them. */
const NEEDED_OPS: readonly { ops: readonly ProfileOp[]; what: string }[] = [
  { ops: ["gemm_k", "gemm_n"], what: "GEMM" },
  { ops: ["sdpa_prefill"], what: "prefill attention" },
  { ops: ["sdpa_decode"], what: "decode attention" },
];

/** The report's `profile` entry: where the numbers come from, with a note per caveat. */
export function describeProfile(loaded: LoadedProfile, dtype: ServingDtype, calls: readonly { predicted_ms: number | null }[]): ScanProfile {
  const { profile } = loaded;
  const notes: string[] = [];
  const tableDtype = dtype === "F16" ? "fp16" : "bf16";
  const missing = NEEDED_OPS.filter(({ ops }) => !profile.series.some((s) => ops.includes(s.op) && s.dtype === tableDtype && s.points.length > 0));
  const present = (ops: readonly ProfileOp[]) => profile.series.some((s) => ops.includes(s.op) && s.points.length > 0);
  const standIn = missing.filter(({ ops }) => present(ops)).map((m) => m.what);
  if (standIn.length > 0) notes.push(`the profile has no ${tableDtype} table for ${standIn.join(", ")}: the other 16-bit dtype's tables stand in`);
  const absent = missing.filter(({ ops }) => !present(ops)).map((m) => m.what);
  if (absent.length > 0) notes.push(`the profile has no table for ${absent.join(", ")}: those calls have no prediction`);
  const tiny = calls.filter((c) => c.predicted_ms !== null && c.predicted_ms < LAUNCH_FLOOR_MS).length;
  if (tiny > 0) {
    notes.push(
      `${tiny} of ${calls.length} calls predict under ${LAUNCH_FLOOR_MS * 1000} µs, below a kernel launch: times are scaled linearly from the profile's large reference shapes, ` +
        "so small calls come out too fast and the totals of a small model are rough",
    );
  }
  return { path: loaded.path, gpu: profile.gpu.name, source: profile.source, runs: [...profile.source_runs], created: profile.created, notes };
}

/** Predicted milliseconds of one call, or null when the profile has no table for it. */
export function profilePredictor(profile: GpuProfile): (call: KernelCall) => number | null {
  return (call) => predictCall(profile, call)?.ms ?? null;
}

/**
 * The profile for a `--gpu` name in `dirs`. findProfile matches device names as torch reports them
 * ("NVIDIA H200") and published stand-ins by `gpu.match`; `--gpu` takes the short names of
 * contract/gpus.ts ("h200"), which select a profile when they are one of the words of its GPU name
 * or slug ("h200" in nvidia-h200, "rtx6000-ada" in nvidia-rtx6000-ada-generation; not "h20" in nvidia-h200). A measured profile beats a published stand-in; among equals the newer wins.
 */
export async function findGpuProfile(gpuName: string, dirs: readonly string[]): Promise<LoadedProfile | null> {
  const byName = await findProfile(gpuName, dirs);
  if (byName?.profile.source === "measured") return byName;
  const word = gpuSlug(gpuName);
  const byWord: LoadedProfile[] = [];
  for (const dir of dirs) {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names.filter((n) => n.endsWith(".json")).sort()) {
      const path = join(dir, name);
      const profile = await loadProfile(path).catch(() => null);
      if (profile?.source === "measured" && [profile.gpu.slug, gpuSlug(profile.gpu.name)].some((s) => `-${s}-`.includes(`-${word}-`))) byWord.push({ profile, path });
    }
  }
  byWord.sort((a, b) => b.profile.created.localeCompare(a.profile.created));
  return byWord[0] ?? byName;
}
