/**
 * Temp output that is being built right now (a repair's `.out.gac-tmp-*` directory, an atomic
 * file's temp name). The builders register what they create; the CLI removes whatever is
 * registered when a signal stops it, so `kill -TERM` never leaves a hidden gigabyte-sized directory
 * behind. A path that was already renamed into place no longer exists under its temp name (the
 * names carry the pid and random hex, so they are never reused), so removing it is a no-op.
 * Only temp names are registered, never a target or the `.gac-old-` copy of a replaced one: those
 * hold the user's data. Library code never exits.
 */
import { rmSync } from "node:fs";

const live = new Set<string>();

export function trackTempPath(path: string): void {
  live.add(path);
}

/** Removes every registered temp path, synchronously (it runs in a signal handler). Returns what it removed. */
export function removeTrackedTempPathsSync(): string[] {
  const removed: string[] = [];
  for (const path of live) {
    try {
      rmSync(path, { recursive: true, force: true });
      removed.push(path);
    } catch {
      // Best effort: the process is exiting; a leftover is cleaned by cleanStaleTemps next run.
    }
    live.delete(path);
  }
  return removed;
}
