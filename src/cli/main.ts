/**
 * The only place that reads argv, prints errors and decides exit codes.
 * A GacError prints one line ("gac: <message>") and exits 1; anything else is a bug: stack, exit 2.
 */
import { parseArgs } from "node:util";
import { readFileSync } from "node:fs";
import { fsError, GacError } from "../errors.js";
import { COMMANDS } from "./registry.js";
import { renderCommandHelp, renderMainHelp } from "./help.js";
import type { Command, CommandIO } from "./command.js";

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

function parseCommandArgs(c: Command, argv: string[]) {
  const options: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean; default?: string | boolean }> = {
    help: { type: "boolean", short: "h" },
  };
  for (const [name, o] of Object.entries(c.options)) {
    options[name] = { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}), ...(o.default !== undefined ? { default: o.default } : {}) };
  }
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new GacError("BAD_ARGS", `${(e as Error).message.split("\n")[0]} (see \`gac ${c.name} --help\`)`);
  }
}

export async function runCli(argv: string[], io: CommandIO, commands: Command[] = COMMANDS): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.out(renderMainHelp(commands, packageVersion()));
    return name === undefined ? 1 : 0;
  }
  if (name === "--version" || name === "-v") {
    io.out(packageVersion() + "\n");
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) throw new GacError("BAD_ARGS", `unknown command '${name}'; commands: ${commands.map((c) => c.name).join(", ")}`);
  const { values, positionals } = parseCommandArgs(command, rest);
  if (values.help === true) {
    io.out(renderCommandHelp(command));
    return 0;
  }
  const required = command.positionals.filter((p) => p.required).length;
  const variadic = command.positionals.some((p) => p.variadic);
  if (positionals.length < required) {
    const missing = command.positionals[positionals.length];
    throw new GacError("BAD_ARGS", `missing argument <${missing?.name ?? "?"}> (see \`gac ${command.name} --help\`)`);
  }
  if (!variadic && positionals.length > command.positionals.length) {
    throw new GacError("BAD_ARGS", `unexpected argument '${positionals[command.positionals.length]}' (see \`gac ${command.name} --help\`)`);
  }
  return command.run({ values, positionals, io });
}

export async function main(argv: string[]): Promise<number> {
  const controller = new AbortController();
  process.once("SIGINT", () => controller.abort());
  const io: CommandIO = {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    errIsTTY: process.stderr.isTTY === true,
    cwd: process.cwd(),
    signal: controller.signal,
  };
  try {
    return await runCli(argv, io);
  } catch (e) {
    // A filesystem error (ENOSPC, EACCES, ELOOP, ...) that reached here untyped is still the environment's, not a bug.
    const known = fsError(e);
    if (known) {
      process.stderr.write(`gac: ${known.message}\n`);
      return 1;
    }
    process.stderr.write(`gac: internal error (a bug; please report it)\n${(e as Error)?.stack ?? String(e)}\n`);
    return 2;
  }
}
