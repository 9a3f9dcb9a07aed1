/**
 * Child process for the crash-safety test and the throughput bench: repairs argv[2] into argv[3]
 * (MINIMAL), prints one JSON line. Flags: --checksum-output (manifest sha256 of outputs),
 * --report-rss (add the child's own peak RSS).
 */
import { repairCheckpoint } from "../../src/repair/repair-checkpoint.js";

const [input, output, ...flags] = process.argv.slice(2);
const r = await repairCheckpoint(input, output, { strategy: "MINIMAL", checksumOutput: flags.includes("--checksum-output") });
const rss = flags.includes("--report-rss") ? { maxRssKb: process.resourceUsage().maxRSS } : {};
process.stdout.write(JSON.stringify({ seconds: r.seconds, bytesOut: r.bytesOut, ...rss }) + "\n");
