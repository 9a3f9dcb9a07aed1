/** Every command gac has, in the order --help lists them. One import line per command file. */
import type { Command } from "./command.js";
import { reportCommand } from "./commands/report.js";
import { verifyCommand } from "./commands/verify.js";

export const COMMANDS: Command[] = [reportCommand, verifyCommand];
