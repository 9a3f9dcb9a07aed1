/** The process entry (bin/gac.js runs its build): run the CLI on argv and exit with its code. */
import { main } from "./main.js";

process.exitCode = await main(process.argv.slice(2));
