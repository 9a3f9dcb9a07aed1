/**
 * gac's version from its own package.json, stamped into scan, eval and verify reports and the repair
 * manifest (the one owner). Found by walking up from this file, so it works from src/ and from the
 * compiled dist/ alike.
 */
import { readFileSync } from "node:fs";

let cached: string | undefined;

function readVersion(): string {
  for (const up of ["../../package.json", "../../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "gac" && typeof pkg.version === "string") return pkg.version;
    } catch {
      // not at this level
    }
  }
  return "unknown";
}

export function gacVersion(): string {
  cached ??= readVersion();
  return cached;
}
