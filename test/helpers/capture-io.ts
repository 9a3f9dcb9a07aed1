/** The CommandIO every CLI test hands to runCli: stdout and stderr collected as strings, no terminal. */
import type { CommandIO } from "../../src/cli/command.js";

export interface CapturedIO extends CommandIO {
  stdout: string;
  stderr: string;
}

export function captureIO(cwd: string = process.cwd()): CapturedIO {
  const io: CapturedIO = {
    stdout: "",
    stderr: "",
    out(t) {
      io.stdout += t;
    },
    err(t) {
      io.stderr += t;
    },
    errIsTTY: false,
    cwd,
    signal: new AbortController().signal,
  };
  return io;
}
