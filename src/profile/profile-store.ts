/** Profiles on disk: `profiles/<gpu-slug>.json`, read with checks, written atomically, found by GPU name. */
import { mkdir, readdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { GacError } from "../errors.js";
import { parseBoundedJson } from "../util/bounded-json.js";
import { readUtf8File } from "../util/read-json-file.js";
import { gpuSlug } from "./build-profile.js";
import { PROFILE_SCHEMA, type GpuProfile } from "./types.js";

/** A profile of every series gac measures is ~160 KB; 64 MB is far beyond any real one. */
export const MAX_PROFILE_BYTES = 64_000_000;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Check the parts predict.ts relies on; the rest is carried as written. */
export function parseProfile(text: string, path: string): GpuProfile {
  const v = parseBoundedJson(text, `profile ${path}`, "BAD_RESULTS");
  if (!isRecord(v) || v.schema !== PROFILE_SCHEMA) throw new GacError("BAD_RESULTS", `profile ${path} is not a ${PROFILE_SCHEMA} file`);
  if (!isRecord(v.gpu) || typeof v.gpu.name !== "string") throw new GacError("BAD_RESULTS", `profile ${path} has no gpu.name`);
  if (!Array.isArray(v.series)) throw new GacError("BAD_RESULTS", `profile ${path} has no series list`);
  v.series.forEach((s, i) => {
    if (!isRecord(s) || typeof s.op !== "string" || !isRecord(s.shape) || !Array.isArray(s.points)) throw new GacError("BAD_RESULTS", `profile ${path}: series ${i} needs op, shape and points`);
    for (const p of s.points) {
      if (!isRecord(p) || typeof p.dim !== "number" || typeof p.median_ms !== "number" || !(p.median_ms > 0)) {
        throw new GacError("BAD_RESULTS", `profile ${path}: series '${String(s.key)}' has a point without a positive dim and median_ms`);
      }
    }
  });
  return v as unknown as GpuProfile;
}

export async function loadProfile(path: string): Promise<GpuProfile> {
  const text = await readUtf8File(path, { code: "BAD_RESULTS", what: "a gac profile", maxBytes: MAX_PROFILE_BYTES }).catch((e: unknown) => {
    throw e instanceof GacError && e.code === "MISSING_FILE" ? new GacError("NO_PROFILE", `profile ${path} does not exist`) : e;
  });
  return parseProfile(text, path);
}

/** Write `<dir>/<slug>.json` (temp file, then rename); returns the path. */
export async function writeProfile(dir: string, profile: GpuProfile): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${profile.gpu.slug}.json`);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(profile, null, 2) + "\n");
  await rename(tmp, path);
  return path;
}

/** The profiles/ directory shipped with the package (src/profile or dist/profile -> ../../profiles). */
export function packagedProfilesDir(): string {
  return fileURLToPath(new URL("../../profiles/", import.meta.url));
}

/**
 * The best profile for a GPU name in `dirs`: an exact name or slug match before a `gpu.match`
 * substring match, measured before published, newer before older. Unreadable files are skipped.
 */
export async function findProfile(gpuName: string, dirs: readonly string[]): Promise<{ profile: GpuProfile; path: string } | null> {
  const wanted = gpuName.toLowerCase();
  const slug = gpuSlug(gpuName);
  const found: { profile: GpuProfile; path: string; rank: number }[] = [];
  for (const dir of dirs) {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names.filter((n) => n.endsWith(".json")).sort()) {
      const path = join(dir, name);
      let profile: GpuProfile;
      try {
        profile = await loadProfile(path);
      } catch {
        continue;
      }
      const exact = profile.gpu.name.toLowerCase() === wanted || profile.gpu.slug === slug;
      const partial = (profile.gpu.match ?? []).some((m) => wanted.includes(m.toLowerCase()));
      if (!exact && !partial) continue;
      found.push({ profile, path, rank: (exact ? 2 : 0) + (profile.source === "measured" ? 1 : 0) });
    }
  }
  found.sort((a, b) => b.rank - a.rank || b.profile.created.localeCompare(a.profile.created));
  return found[0] ? { profile: found[0].profile, path: found[0].path } : null;
}
