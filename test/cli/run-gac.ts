/** Runs the real CLI in a child process (src/cli/entry.ts through tsx), as a user's shell would. */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export const ENTRY = fileURLToPath(new URL("../../src/cli/entry.ts", import.meta.url));

export interface GacRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Called once the child is running (to signal it, or to close its stdout). */
  onSpawn?: (child: ChildProcess) => void;
}

export function runGac(args: string[], opts: RunOptions = {}): Promise<GacRun> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", ENTRY, ...args], {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stdout.on("error", () => undefined);
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code, signal) => resolveRun({ code, signal, stdout, stderr }));
    opts.onSpawn?.(child);
  });
}
