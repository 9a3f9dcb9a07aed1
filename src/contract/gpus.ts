/**
 * GPU generations and the names `--gpu` accepts. The contract only needs the compute capability:
 * every rule in rules/ branches on it (cuDNN-first on sm90/sm100, FA3 on sm90 only, ...).
 */
import { GacError } from "../errors.js";
import type { GpuId } from "./types.js";

interface GpuSpec {
  id: GpuId;
  /** Compute capability major and minor (sm90 -> 9, 0). */
  major: number;
  minor: number;
  /** Names accepted by --gpu, lower case; the first is shown in reports. */
  names: readonly string[];
}

export const GPUS: Record<GpuId, GpuSpec> = {
  sm80: { id: "sm80", major: 8, minor: 0, names: ["a100", "a800", "a30"] },
  sm86: { id: "sm86", major: 8, minor: 6, names: ["a10", "a40", "a6000", "rtx3090"] },
  sm89: { id: "sm89", major: 8, minor: 9, names: ["l40s", "l40", "l4", "rtx4090", "rtx6000-ada"] },
  sm90: { id: "sm90", major: 9, minor: 0, names: ["h100", "h200", "h800", "h20", "gh200"] },
  sm100: { id: "sm100", major: 10, minor: 0, names: ["b200", "gb200"] },
};

/** The GPU every command assumes without --gpu: the one gac's measured profiles come from. */
export const DEFAULT_GPU_NAME = "h200";

export const GPU_IDS: readonly GpuId[] = ["sm80", "sm86", "sm89", "sm90", "sm100"];

/** "H100" -> "sm90", "sm80" -> "sm80"; GacError UNKNOWN_GPU listing every accepted name otherwise. */
export function parseGpu(name: string): GpuId {
  const key = name.trim().toLowerCase();
  for (const gpu of Object.values(GPUS)) {
    if (gpu.id === key || gpu.names.includes(key)) return gpu.id;
  }
  const valid = Object.values(GPUS).map((g) => `${g.id} (${g.names.join(", ")})`);
  throw new GacError("UNKNOWN_GPU", `unknown GPU '${name}'; valid: ${valid.join("; ")}`);
}

/** "sm90" -> "h100 (sm90)": the name reports print. */
export function gpuLabel(id: GpuId): string {
  return `${GPUS[id].names[0]} (${id})`;
}
