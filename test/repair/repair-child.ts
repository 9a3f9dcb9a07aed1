/** Child process for the crash-safety test: repairs argv[2] into argv[3] and prints one JSON line. */
import { repairCheckpoint } from "../../src/repair/repair-checkpoint.js";

const [input, output] = process.argv.slice(2);
const r = await repairCheckpoint(input, output, { strategy: "MINIMAL" });
process.stdout.write(JSON.stringify({ seconds: r.seconds, bytesOut: r.bytesOut }) + "\n");
