import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const python = spawnSync("python3", ["--version"], { encoding: "utf8" });

test("the Python worker's pure parts (protocol, stopping rule, statistics) pass their unit tests", { skip: python.status !== 0 ? "python3 is not installed" : false }, () => {
  const run = spawnSync("python3", ["-m", "unittest", "discover", "-s", "python/tests", "-t", "python"], { cwd: root, encoding: "utf8", timeout: 120_000 });
  assert.equal(run.status, 0, run.stderr.slice(-4000));
  assert.match(run.stderr, /\nOK/);
});
