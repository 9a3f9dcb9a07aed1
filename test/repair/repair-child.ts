/** Child process for the crash-safety test and the throughput bench: repairs argv[2] into argv[3] (MINIMAL), prints one JSON line. */
import { repairCheckpoint } from "../../src/repair/repair-checkpoint.js";

const [input, output, flag] = process.argv.slice(2);
const r = await repairCheckpoint(input, output, { strategy: "MINIMAL" });
const rss = flag === "--report-rss" ? { maxRssKb: process.resourceUsage().maxRSS } : {};
process.stdout.write(JSON.stringify({ seconds: r.seconds, bytesOut: r.bytesOut, ...rss }) + "\n");
