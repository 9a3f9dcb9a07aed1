/**
 * The only place that reads argv, owns the terminal, handles signals and decides exit codes
 * (src/cli/exit-codes.ts, docs/cli.md). A GacError prints one line ("gac: <message>") and exits 1
 * (3 for a failed verification); anything else is a bug: stack, exit 2. Under `--json` errors are
 * a `gac-error/1` object on stdout instead, so a script reading stdout always gets JSON.
 */
import { fsError, isGacError, type GacError } from "../errors.js";
import { gacVersion } from "../scan/gac-version.js";
import { removeTrackedTempPathsSync } from "../util/temp-paths.js";
import type { Command, CommandIO } from "./command.js";
import { EXIT } from "./exit-codes.js";
import { errorJson, stringifyJson } from "./json-output.js";
import { runProgram } from "./program.js";
import { COMMANDS } from "./registry.js";

/** After a signal, how long a command may take to stop by itself before gac removes its temp output and exits. */
const SIGNAL_GRACE_MS = 5000;

/** Parses argv and runs the command it names; bad arguments throw a BAD_ARGS GacError. */
export async function runCli(argv: string[], io: CommandIO, commands: Command[] = COMMANDS): Promise<number> {
  return runProgram(argv, io, commands, gacVersion());
}

/** Whether the user asked for JSON (errors then print as JSON too); options after `--` are not options. */
export function wantsJson(argv: string[]): boolean {
  const end = argv.indexOf("--");
  return (end === -1 ? argv : argv.slice(0, end)).includes("--json");
}

type StopSignal = "SIGINT" | "SIGTERM";

function signalExit(signal: StopSignal): number {
  return signal === "SIGTERM" ? EXIT.SIGTERM : EXIT.SIGINT;
}

/** The exit code of a failure: see src/cli/exit-codes.ts. */
export function exitCodeFor(e: unknown, stopped?: StopSignal): number {
  if (stopped !== undefined) return signalExit(stopped);
  if (!isGacError(e)) return EXIT.BUG;
  if (e.code === "VERIFY_FAILED") return EXIT.VERIFY_FAILED;
  if (e.code === "ABORTED") return EXIT.SIGINT;
  return EXIT.INPUT_ERROR;
}

interface MainStreams {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

export async function main(argv: string[], streams: MainStreams = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const json = wantsJson(argv);
  const controller = new AbortController();
  let stopped: StopSignal | undefined;
  /** stderr holds a progress line that has no newline yet: a message must start on its own line. */
  let lineOpen = false;
  const writeErr = (t: string) => {
    if (t === "") return;
    streams.stderr.write(t);
    lineOpen = !t.endsWith("\n");
  };
  const freshLine = () => {
    if (lineOpen) writeErr("\n");
  };
  // A reader that closed the pipe (`gac scan --json | head`) got what it wanted: stop quietly.
  streams.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE") throw e;
    removeTrackedTempPathsSync();
    process.exit(EXIT.OK);
  });
  streams.stderr.on("error", () => undefined);
  const onSignal = (signal: StopSignal) => {
    if (stopped !== undefined) {
      // A second signal: the user does not want to wait for the command to stop.
      removeTrackedTempPathsSync();
      process.exit(signalExit(stopped));
    }
    stopped = signal;
    controller.abort();
    setTimeout(() => {
      removeTrackedTempPathsSync();
      freshLine();
      writeErr(`gac: interrupted by ${signal}; temp output removed\n`);
      process.exit(signalExit(signal));
    }, SIGNAL_GRACE_MS).unref();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const io: CommandIO = {
    out: (t) => void streams.stdout.write(t),
    err: writeErr,
    errIsTTY: streams.stderr.isTTY === true,
    cwd: process.cwd(),
    signal: controller.signal,
  };
  try {
    const code = await runCli(argv, io);
    if (stopped !== undefined) {
      removeTrackedTempPathsSync();
      freshLine();
      writeErr(`gac: interrupted by ${stopped}\n`);
      return signalExit(stopped);
    }
    return code;
  } catch (caught) {
    removeTrackedTempPathsSync();
    // A filesystem error (ENOSPC, EACCES, ELOOP, ...) that reached here untyped is the environment's, not a bug.
    const e: unknown = fsError(caught) ?? caught;
    const code = exitCodeFor(e, stopped);
    freshLine();
    if (json) streams.stdout.write(stringifyJson(errorJson(e, code)));
    if (code === EXIT.BUG) {
      writeErr(`gac: internal error (a bug; please report it)\n${(e as Error)?.stack ?? String(e)}\n`);
    } else if (!json) {
      const message = stopped !== undefined ? `interrupted by ${stopped}; temp output removed` : (e as GacError).message;
      writeErr(`gac: ${message}\n`);
    }
    return code;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
