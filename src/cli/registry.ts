/** Every command gac has, in the order --help lists them. One import line per command file. */
import type { Command } from "./command.js";
import { reportCommand } from "./commands/report.js";
import { verifyCommand } from "./commands/verify.js";
import { evalCommand } from "./commands/eval.js";
import { benchCommand } from "./commands/bench.js";
import { profileCommand } from "./commands/profile.js";
import { fixturesCommand } from "./commands/fixtures.js";
import { scanCommand } from "./commands/scan.js";
import { planCommand } from "./commands/plan.js";
import { repairCommand } from "./commands/repair.js";
import { demoCommand } from "./commands/demo.js";
import { compressCommand } from "./commands/compress.js";
import { quantCommand } from "./commands/quant.js";
import { createCompletionCommand } from "./commands/completion.js";

export const COMMANDS: Command[] = [
  scanCommand,
  planCommand,
  repairCommand,
  verifyCommand,
  evalCommand,
  compressCommand,
  quantCommand,
  demoCommand,
  benchCommand,
  profileCommand,
  reportCommand,
  fixturesCommand,
  createCompletionCommand(() => COMMANDS),
];
