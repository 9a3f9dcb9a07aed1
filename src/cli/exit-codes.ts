/**
 * gac's exit codes (docs/cli.md). Scripts and CI branch on them, so each means one thing:
 * a bad input is never reported as a failed verification, and a bug is never an input error.
 */
export const EXIT = {
  /** Done; for verify, the repaired model matches. */
  OK: 0,
  /** A bad input or environment: a flag, a path, a file gac refuses. One line says what to do. */
  INPUT_ERROR: 1,
  /** A bug in gac: the stack is printed. */
  BUG: 2,
  /** `gac verify` (and `gac demo`) ran and the two models differ past the tolerance. */
  VERIFY_FAILED: 3,
  /** `gac scan --fail-on collapse` found a call off the fast path. */
  COLLAPSE_FOUND: 4,
  /** Interrupted by SIGINT (128 + 2); temp output was removed. */
  SIGINT: 130,
  /** Interrupted by SIGTERM (128 + 15); temp output was removed. */
  SIGTERM: 143,
} as const;
