import type { Command } from "./command.js";

export function renderCommandHelp(c: Command): string {
  const pos = c.positionals.map((p) => (p.required ? `<${p.name}${p.variadic ? "..." : ""}>` : `[${p.name}${p.variadic ? "..." : ""}]`));
  const lines = [`gac ${c.name} ${pos.join(" ")}`.trimEnd(), "", c.summary, ""];
  if (c.positionals.length > 0) {
    lines.push("Arguments:");
    for (const p of c.positionals) lines.push(`  ${p.name.padEnd(22)} ${p.description}`);
    lines.push("");
  }
  lines.push("Options:");
  const entries = Object.entries(c.options);
  for (const [name, o] of entries) {
    const flag = `${o.short ? `-${o.short}, ` : ""}--${name}${o.type === "string" ? ` ${o.valueName ?? "<value>"}` : ""}`;
    const def = o.default !== undefined && o.default !== false ? ` (default: ${String(o.default)})` : "";
    lines.push(`  ${flag.padEnd(22)} ${o.description}${def}`);
  }
  lines.push(`  ${"-h, --help".padEnd(22)} Show this help`);
  if (c.examples && c.examples.length > 0) {
    lines.push("", "Examples:");
    for (const e of c.examples) lines.push(`  ${e}`);
  }
  return lines.join("\n") + "\n";
}

export function renderMainHelp(commands: Command[], version: string): string {
  const lines = [`gac ${version} - GPU-Aligned Compression: find and repair dimensional collapse in compressed LLMs`, "", "Usage: gac <command> [options]", "", "Commands:"];
  for (const c of commands) lines.push(`  ${c.name.padEnd(10)} ${c.summary}`);
  lines.push("", "Run `gac <command> --help` for a command's options.");
  return lines.join("\n") + "\n";
}
