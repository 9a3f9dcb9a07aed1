import { GacError } from "../errors.js";

/**
 * A command is data: its name, a one-line summary, its options and positionals, and a run function
 * that gets parsed values and an output sink. Only src/cli/main.ts touches argv, exit codes and the
 * terminal; commands print through `io` and return an exit code.
 */
export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  description: string;
  /** Shown in --help; also the parsed default. */
  default?: string | boolean;
  /** Placeholder in --help, e.g. "<dir>". */
  valueName?: string;
  multiple?: boolean;
}

interface PositionalSpec {
  name: string;
  description: string;
  required: boolean;
  /** Takes all remaining positionals. */
  variadic?: boolean;
}

export interface CommandIO {
  /** Write to stdout (no newline added). */
  out(text: string): void;
  /** Write to stderr (no newline added): progress, warnings. */
  err(text: string): void;
  /** Whether stderr is a terminal (progress bars redraw only then). */
  errIsTTY: boolean;
  /** The working directory the user ran gac from. */
  cwd: string;
  /** Aborted on SIGINT and SIGTERM: stop, remove temp output, return or throw ABORTED. */
  signal: AbortSignal;
}

export type ParsedValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

interface CommandContext {
  values: ParsedValues;
  positionals: string[];
  io: CommandIO;
}

export interface Command {
  name: string;
  summary: string;
  options: Record<string, OptionSpec>;
  positionals: PositionalSpec[];
  /** Extra help text after the option list (examples). */
  examples?: string[];
  /** Nested commands, e.g. `gac bench model`: the first positional that names one runs it instead. */
  subcommands?: Command[];
  run(ctx: CommandContext): Promise<number>;
}

export function defineCommand(c: Command): Command {
  return c;
}

/** Typed accessors, so that commands need no `as` casts. */
export function stringValue(values: ParsedValues, key: string): string | undefined {
  const v = values[key];
  return typeof v === "string" ? v : undefined;
}

export function booleanValue(values: ParsedValues, key: string): boolean {
  return values[key] === true;
}

export function stringList(values: ParsedValues, key: string): string[] {
  const v = values[key];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === "string");
  return typeof v === "string" ? [v] : [];
}

/** A number option (`integer`: whole numbers only); undefined when absent, BAD_ARGS when not a number. */
export function numberOption(values: ParsedValues, key: string, integer: boolean): number | undefined {
  const raw = stringValue(values, key);
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
    throw new GacError("BAD_ARGS", `--${key} expects ${integer ? "an integer" : "a number"}, got '${raw}'`);
  }
  return v;
}

/** JSON has no Infinity or NaN; print them as strings rather than as a misleading null. */
export function finiteOrText(_key: string, v: unknown): unknown {
  return typeof v === "number" && !Number.isFinite(v) ? String(v) : v;
}
