/**
 * A progress line on stderr: done/total, percent, ETA and the current case, redrawn in place. Only
 * on a terminal: CI logs and pipes get no progress (the summary at the end says what happened).
 */
import type { CommandIO } from "./command.js";

interface ProgressState {
  done: number;
  total: number;
  etaMs: number;
  current?: string;
}

const BAR_WIDTH = 24;
/** Longest current-case text on a redrawn line; ids run to ~120 characters. */
const MAX_CURRENT = 60;

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/** One progress line, without newline or cursor codes. */
function formatProgress(p: ProgressState): string {
  const fraction = p.total === 0 ? 1 : p.done / p.total;
  const filled = Math.round(fraction * BAR_WIDTH);
  const bar = `[${"#".repeat(filled)}${".".repeat(BAR_WIDTH - filled)}]`;
  const current = p.current ? `  ${p.current.length > MAX_CURRENT ? `${p.current.slice(0, MAX_CURRENT - 3)}...` : p.current}` : "";
  return `${bar} ${p.done}/${p.total} ${Math.floor(fraction * 100)}%  ETA ${formatDuration(p.etaMs)}${current}`;
}

/** Remaining time at the average pace so far: elapsed x (total - done) / done; 0 before the first step. */
export function etaFromPace(elapsedMs: number, done: number, total: number): number {
  return done === 0 ? 0 : (elapsedMs * (total - done)) / done;
}

interface ProgressReporter {
  update(p: ProgressState): void;
  /** Finish the line (a newline on a terminal). */
  end(): void;
}

export function createProgress(io: Pick<CommandIO, "err" | "errIsTTY">): ProgressReporter {
  let drawn = false;
  return {
    update(p) {
      if (!io.errIsTTY) return;
      io.err(`\r\x1b[2K${formatProgress(p)}`);
      drawn = true;
    },
    end() {
      if (drawn) io.err("\n");
    },
  };
}
