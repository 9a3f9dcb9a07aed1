/** Every command gac has, in the order --help lists them. One import line per command file. */
import type { Command } from "./command.js";

export const COMMANDS: Command[] = [];
