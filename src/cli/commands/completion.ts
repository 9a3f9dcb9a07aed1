/** `gac completion <shell>`: a completion script for bash, zsh or fish, generated from the command data. */
import { GacError } from "../../errors.js";
import { defineCommand, type Command } from "../command.js";

const SHELLS = ["bash", "zsh", "fish"] as const;

interface Entry {
  /** "bench model" for a subcommand. */
  path: string;
  flags: string[];
  subcommands: string[];
}

function entries(commands: readonly Command[], prefix = ""): Entry[] {
  return commands.flatMap((c) => {
    const path = `${prefix}${c.name}`;
    const flags = [...Object.entries(c.options).map(([name]) => `--${name}`), "--help"];
    const subs = c.subcommands ?? [];
    return [{ path, flags, subcommands: subs.map((s) => s.name) }, ...entries(subs, `${path} `)];
  });
}

function bashCompletion(commands: readonly Command[]): string {
  const list = entries(commands);
  const cases = list.map((e) => `    "${e.path}") words="${[...e.subcommands, ...e.flags].join(" ")}" ;;`).join("\n");
  return `# gac bash completion: eval "$(gac completion bash)" (zsh: autoload -U bashcompinit && bashcompinit first)
_gac() {
  local cur path i words
  cur="\${COMP_WORDS[COMP_CWORD]}"
  path=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in -*) ;; *) if [ -z "$path" ] || [[ " $(_gac_subs "$path") " == *" \${COMP_WORDS[i]} "* ]]; then path="\${path:+$path }\${COMP_WORDS[i]}"; fi ;; esac
  done
  case "$path" in
    "") words="${commands.map((c) => c.name).join(" ")} help --help --version" ;;
${cases}
    *) words="" ;;
  esac
  if [[ "$cur" == -* || -n "$words" ]]; then COMPREPLY=($(compgen -W "$words" -- "$cur")); fi
  [ \${#COMPREPLY[@]} -eq 0 ] && COMPREPLY=($(compgen -f -- "$cur"))
}
_gac_subs() {
  case "$1" in
${list
  .filter((e) => e.subcommands.length > 0)
  .map((e) => `    "${e.path}") echo "${e.subcommands.join(" ")}" ;;`)
  .join("\n")}
  esac
}
complete -F _gac gac
`;
}

function fishCompletion(commands: readonly Command[]): string {
  const lines = ["# gac fish completion: gac completion fish > ~/.config/fish/completions/gac.fish", "complete -c gac -f"];
  for (const c of commands) lines.push(`complete -c gac -n __fish_use_subcommand -a ${c.name} -d ${JSON.stringify(c.summary.slice(0, 80))}`);
  for (const e of entries(commands)) {
    const [top] = e.path.split(" ");
    for (const sub of e.subcommands) lines.push(`complete -c gac -n "__fish_seen_subcommand_from ${top}" -a ${sub}`);
    for (const f of e.flags) lines.push(`complete -c gac -n "__fish_seen_subcommand_from ${top}" -l ${f.slice(2)}`);
  }
  return lines.join("\n") + "\n";
}

export function createCompletionCommand(commands: () => readonly Command[]): Command {
  return defineCommand({
    name: "completion",
    summary: "Print a shell completion script (bash, zsh or fish)",
    options: {},
    positionals: [{ name: "shell", description: SHELLS.join(", "), required: true }],
    examples: ['eval "$(gac completion bash)"', 'autoload -U bashcompinit && bashcompinit && eval "$(gac completion zsh)"', "gac completion fish > ~/.config/fish/completions/gac.fish"],
    async run({ positionals, io }) {
      const shell = positionals[0];
      if (shell === "bash" || shell === "zsh") io.out(bashCompletion(commands()));
      else if (shell === "fish") io.out(fishCompletion(commands()));
      else throw new GacError("BAD_ARGS", `gac completion takes ${SHELLS.join(", ")}; got '${shell}'`);
      return 0;
    },
  });
}
