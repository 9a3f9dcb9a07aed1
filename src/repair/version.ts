/** gac's version from package.json, found by walking up from this file (works from src/ and dist/src/). */
import { readFileSync } from "node:fs";

export function packageVersion(): string {
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
