/**
 * Child of e2e.test.ts: runs `gac repair <in> --out <out>` through main() with a stderr that says
 * it is a terminal (so progress is drawn in place), sends itself SIGINT once the repair's temp
 * directory exists, and prints {code, stderr} as JSON when it exits.
 */
import { writeSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { dirname } from "node:path";
import { Writable } from "node:stream";
import { main } from "../../src/cli/main.js";

const [input, out] = process.argv.slice(2);
let stderr = "";
const fakeStderr = Object.assign(
  new Writable({
    write(chunk, _enc, cb) {
      stderr += chunk.toString();
      cb();
    },
  }),
  { isTTY: true },
) as unknown as NodeJS.WriteStream;
const fakeStdout = new Writable({ write: (_c, _e, cb) => cb() }) as unknown as NodeJS.WriteStream;

// Polls overlap on a loaded machine (each awaits a readdir); only the first may signal, since a
// second SIGINT is gac's "stop now without waiting" and would skip the message under test.
let signalled = false;
const watcher = setInterval(async () => {
  const names = await readdir(dirname(out)).catch(() => []);
  if (!signalled && names.some((n) => n.includes(".gac-tmp-")) && stderr.includes("repair:")) {
    signalled = true;
    clearInterval(watcher);
    process.kill(process.pid, "SIGINT");
  }
}, 5);
// Printed on exit, so the report also comes when gac's own grace timer ends the process (a slow machine).
process.on("exit", (code) => writeSync(1, JSON.stringify({ code, stderr }) + "\n"));
process.exitCode = await main(["repair", input, "--out", out], { stdout: fakeStdout, stderr: fakeStderr });
clearInterval(watcher);
