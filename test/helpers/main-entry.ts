/** The CLI entry for tests that need a separate process (another user, a kill): src/cli/main.ts's main. */
import { main } from "../../src/cli/main.js";

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
