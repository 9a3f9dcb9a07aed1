/**
 * The commit a run was measured with: recorded in run.json by `gac bench` (GAC_GIT_COMMIT where the
 * code runs from a copy without .git, as on the GPU machine) and shown in the report's environment
 * block; a run that did not record it (the committed runs predate this) reads "not recorded".
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { gitCommitOfPackage } from "../../src/cli/commands/bench.js";
import { GacError } from "../../src/errors.js";
import { describeEnvironment, NOT_RECORDED } from "../../src/report/index.js";
import { parseRunJson } from "../../src/report/load.js";
import { runJson } from "./fixtures.js";

test("GAC_GIT_COMMIT names the commit run.json records, and a malformed one is refused", () => {
  assert.equal(gitCommitOfPackage({ GAC_GIT_COMMIT: "0123456789ABCDEF0123456789ABCDEF01234567" }), "0123456789abcdef0123456789abcdef01234567");
  assert.throws(
    () => gitCommitOfPackage({ GAC_GIT_COMMIT: "main; rm -rf /" }),
    (e: unknown) => e instanceof GacError && e.code === "BAD_ARGS" && /GAC_GIT_COMMIT/.test(e.message),
  );
});

test("the environment block shows a recorded commit and says 'not recorded' for a run without one", () => {
  const recorded = parseRunJson(runJson("NVIDIA H200", "r1"), "run.json").env;
  assert.match(describeEnvironment(recorded), /commit 0123456789ab,/);
  const old = parseRunJson(JSON.stringify({ ...JSON.parse(runJson("NVIDIA H200", "r2")), git_commit: null }), "run.json").env;
  assert.match(describeEnvironment(old), new RegExp(`commit ${NOT_RECORDED},`));
  assert.doesNotMatch(describeEnvironment(old), /\?/);
});
