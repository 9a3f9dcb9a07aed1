/**
 * Turns gac's command data (src/cli/command.ts) into a commander program. commander (v14, the
 * last major that supports Node 20) does the parsing, help, `help <command>`, typo suggestions
 * and nested subcommands; command files stay plain data and never import it.
 */
import { Command as Commander, CommanderError, Option } from "commander";
import { GacError } from "../errors.js";
import type { Command, CommandIO, ParsedValues } from "./command.js";

/** Help wraps at a fixed width, so that it reads the same in every terminal and in pinned tests. */
const HELP_WIDTH = 100;

const EXIT_CODES_HELP =
  "Exit codes: 0 ok, 1 input error, 2 bug in gac, 3 verify failed, 4 scan --fail-on found collapse,\n" +
  "130/143 interrupted (SIGINT/SIGTERM). Under --json, errors are a gac-error/1 object on stdout (docs/cli.md).";

const PROGRAM_SUMMARY = "GPU-Aligned Compression: find and repair dimensional collapse in compressed LLMs";

/** commander wants `<x>` (required value) or `[x]` (optional); command files may write a bare name. */
function valuePlaceholder(valueName: string | undefined): string {
  if (valueName === undefined) return "<value>";
  return /^[<[]/.test(valueName) ? valueName : `<${valueName}>`;
}

function positionalUsage(p: Command["positionals"][number]): string {
  const name = `${p.name}${p.variadic ? "..." : ""}`;
  return p.required ? `<${name}>` : `[${name}]`;
}

/** The command path users type, e.g. "gac bench model". */
function commandPath(cmd: Commander): string {
  const names: string[] = [];
  for (let c: Commander | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

interface Invocation {
  command: Command;
  values: ParsedValues;
  positionals: string[];
}

function addCommand(parent: Commander, c: Command, onAction: (inv: Invocation) => void): void {
  const cmd = parent.command(c.name).summary(c.summary).description(c.summary);
  cmd.helpOption("-h, --help", "Show this help");
  for (const p of c.positionals) cmd.argument(positionalUsage(p), p.description);
  const attributes: [string, string][] = [];
  for (const [name, o] of Object.entries(c.options)) {
    const flags = `${o.short ? `-${o.short}, ` : ""}--${name}${o.type === "string" ? ` ${valuePlaceholder(o.valueName)}` : ""}`;
    const option = new Option(flags, o.description);
    if (o.default !== undefined && o.default !== false) option.default(o.default, String(o.default));
    if (o.multiple) option.argParser((v: string, prev: unknown) => [...(Array.isArray(prev) ? prev : []), v]);
    cmd.addOption(option);
    attributes.push([name, option.attributeName()]);
  }
  if (c.examples && c.examples.length > 0) cmd.addHelpText("after", `\nExamples:\n${c.examples.map((e) => `  ${e}`).join("\n")}\n`);
  // A subcommand's options are its own: `gac bench model --list` lists the model's cases, not the suites.
  if (c.subcommands && c.subcommands.length > 0) cmd.enablePositionalOptions();
  for (const sub of c.subcommands ?? []) addCommand(cmd, sub, onAction);
  cmd.action(() => {
    const opts = cmd.opts();
    const values: ParsedValues = {};
    // Options the user gave first, then defaults (the order parseArgs had; `gac bench` records it in run.json).
    const given = attributes.filter(([, a]) => cmd.getOptionValueSource(a) !== "default");
    const defaults = attributes.filter(([, a]) => cmd.getOptionValueSource(a) === "default");
    for (const [name, attribute] of [...given, ...defaults]) {
      // commander reads `--no-x` as x = false (true by default); commands read the flag as written: "no-x" is true when given.
      if (name.startsWith("no-") && c.options[name].type === "boolean") {
        if (opts[attribute] === false) values[name] = true;
      } else if (opts[attribute] !== undefined) values[name] = opts[attribute] as ParsedValues[string];
    }
    onAction({ command: c, values, positionals: [...cmd.args] });
  });
}

/** commander's messages are "error: ...\n(Did you mean ...?)"; gac prints one line. */
function oneLine(message: string): string {
  return message
    .replace(/^error: /, "")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "")
    .join(" ");
}

/**
 * Parses argv against the commands and runs the one it names. Bad arguments throw a BAD_ARGS
 * GacError (one line, with commander's suggestion); `--help`, `help <command>` and `--version`
 * print and return 0; no command at all prints the help and returns 1.
 */
export async function runProgram(argv: string[], io: CommandIO, commands: Command[], version: string): Promise<number> {
  let invocation: Invocation | undefined;
  let failedCommand = "";
  const program = new Commander("gac")
    .description(`gac ${version} - ${PROGRAM_SUMMARY}`)
    .version(version, "-v, --version", "Print gac's version")
    .helpOption("-h, --help", "Show this help")
    .helpCommand("help [command]", "Show the help of a command")
    .showSuggestionAfterError(true)
    .enablePositionalOptions()
    .configureHelp({ helpWidth: HELP_WIDTH })
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s),
      writeErr: (s) => io.err(s),
      outputError: () => undefined,
    })
    .hook("preSubcommand", (_cmd, sub) => {
      failedCommand = commandPath(sub);
    });
  for (const c of commands) addCommand(program, c, (inv) => (invocation = inv));
  program.addHelpText("after", `\n${EXIT_CODES_HELP}\n`);
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help") return e.exitCode;
    const help = failedCommand !== "" ? `gac help ${failedCommand.replace(/^gac /, "")}` : "gac --help";
    throw new GacError("BAD_ARGS", `${oneLine(e.message)} (see \`${help}\`)`);
  }
  if (!invocation) return 1;
  return invocation.command.run({ values: invocation.values, positionals: invocation.positionals, io });
}

/** A command's `--help` text, as `gac <name> --help` prints it (for pinned-help tests). */
export function commandHelp(c: Command): string {
  let text = "";
  const io: CommandIO = { out: (t) => void (text += t), err: () => undefined, errIsTTY: false, cwd: ".", signal: new AbortController().signal };
  const program = new Commander("gac")
    .configureHelp({ helpWidth: HELP_WIDTH })
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: () => undefined, outputError: () => undefined });
  addCommand(program, c, () => undefined);
  const cmd = program.commands.find((x) => x.name() === c.name);
  cmd?.outputHelp();
  return text;
}
