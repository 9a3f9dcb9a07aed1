/**
 * Scratch directories for tests that are removed when the test process exits (node --test runs
 * each file in its own process), so that `npm test` leaves nothing in /tmp even when a test
 * fails half-way or forgets its own cleanup.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const dirs: string[] = [];
let hooked = false;

export function scratchDirSync(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix.startsWith("gac-") ? prefix : `gac-${prefix}-`));
  dirs.push(dir);
  if (!hooked) {
    hooked = true;
    process.on("exit", () => {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });
  }
  return dir;
}

export async function scratchDir(prefix: string): Promise<string> {
  return scratchDirSync(prefix);
}
