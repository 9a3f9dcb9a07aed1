// A program that uses gac as a library, by its package name: write a PaLU-like test checkpoint,
// scan it for an H200 under vLLM, repair it, verify the repair, and remove what it wrote.
//   npm install gac && node scan-and-repair.mjs
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateFixture, isGacError, repairCheckpoint, scanCheckpoint, verifyCheckpoints } from "gac";

const work = await mkdtemp(join(tmpdir(), "gac-example-"));
try {
  const fixture = await generateFixture("palu", join(work, "palu"));
  const before = await scanCheckpoint(fixture.dir, { gpu: "h200", runtime: "vllm" });
  const slow = before.calls.filter((c) => c.verdict !== "fast").length;
  console.log(`scan: ${before.model.family} on ${before.gpu.name}: ${slow} of ${before.calls.length} calls off the fast path`);

  const repaired = await repairCheckpoint(fixture.dir, join(work, "palu-aligned"), { strategy: "MINIMAL" });
  console.log(`repair: ${repaired.manifest.changes.length} dims padded, +${repaired.manifest.overhead.paramOverheadPct.toFixed(2)}% parameters`);

  const after = await scanCheckpoint(repaired.outDir, { gpu: "h200", runtime: "vllm" });
  console.log(`scan after: ${after.calls.filter((c) => c.verdict !== "fast").length} of ${after.calls.length} calls off the fast path`);

  const verify = await verifyCheckpoints(fixture.dir, repaired.outDir);
  console.log(`verify: ${verify.pass ? "PASS" : "FAIL"} (max rel diff ${verify.stats.maxRelDiff.toExponential(2)})`);
  process.exitCode = verify.pass ? 0 : 3;
} catch (e) {
  console.error(isGacError(e) ? `gac: ${e.message}` : e);
  process.exitCode = 1;
} finally {
  await rm(work, { recursive: true, force: true });
}
