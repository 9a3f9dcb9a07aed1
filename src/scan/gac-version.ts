/** The version in gac's own package.json, stamped into reports. */
import { readFileSync } from "node:fs";

let cached: string | undefined;

export function gacVersion(): string {
  if (cached === undefined) {
    const pkg: unknown = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
    cached = typeof pkg === "object" && pkg !== null && "version" in pkg && typeof pkg.version === "string" ? pkg.version : "unknown";
  }
  return cached;
}
