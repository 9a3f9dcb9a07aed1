import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../../src/cli/main.js";
import { reportCommand } from "../../src/cli/commands/report.js";
import { GacError } from "../../src/errors.js";
import { A100, benchRecords, runJson } from "./fixtures.js";
import { captureIO } from "../helpers/capture-io.js";

test("gac report reads a results parent directory and writes the report where --out says", async () => {
  const root = await mkdtemp(join(tmpdir(), "gac-report-cli-"));
  try {
    await mkdir(join(root, "results", "r1"), { recursive: true });
    await writeFile(join(root, "results", "r1", "run.json"), runJson(A100, "r1"));
    await writeFile(
      join(root, "results", "r1", "results.jsonl"),
      benchRecords(A100)
        .filter((r) => r.suite === "S2" || r.suite === "C99")
        .map((r) => JSON.stringify(r))
        .join("\n"),
    );
    const io = captureIO(root);
    const code = await runCli(["report", "results", "--out", "rep"], io, [reportCommand]);
    assert.equal(code, 0);
    assert.match(io.stdout, /1 figure\(s\), 1 table\(s\)/);
    assert.match(io.stderr, /note: suite 'C99' has no figure yet/);
    assert.deepEqual((await readdir(join(root, "rep", "figures"))).sort(), ["s2-backend-matrix.png", "s2-backend-matrix.svg"]);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test("gac report without --out is a usage error", async () => {
  await assert.rejects(runCli(["report", "results"], captureIO(tmpdir()), [reportCommand]), (e: unknown) => e instanceof GacError && e.code === "BAD_ARGS" && /--out/.test(e.message));
});
