/**
 * The long fuzzing run: N seeded cases (test/fuzz/fuzz-cases.ts) through scan, plan and repair,
 * counts per outcome and command printed at the end, every bad outcome listed with its seed.
 *
 *   node --import tsx bench/fuzz.ts [cases=10000] [seed=1] [--json results.json] [--root DIR]
 *
 * --root puts the cases under DIR (e.g. a tmpfs: repair fsyncs every file it publishes, and on a
 * shared disk that is most of a case's time).
 *
 * Exit 1 when any case ended in exit2, hang, modified or leftover.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCampaign, tally, type CaseResult } from "../test/fuzz/fuzz-cases.js";

const args = process.argv.slice(2);
const jsonAt = args.indexOf("--json");
const jsonPath = jsonAt >= 0 ? args.splice(jsonAt, 2)[1] : undefined;
const rootAt = args.indexOf("--root");
const rootBase = rootAt >= 0 ? args.splice(rootAt, 2)[1] : tmpdir();
const cases = Number(args[0] ?? 10_000);
const seed = Number(args[1] ?? 1);
const root = await mkdtemp(join(rootBase, "gac-fuzz-"));
const t0 = Date.now();
let done = 0;
const bad: CaseResult[] = [];
try {
  const results = await runCampaign(root, {
    seed,
    cases,
    onCase: (rs) => {
      done++;
      for (const r of rs) {
        if (r.outcome === "ok" || r.outcome === "refused") continue;
        bad.push(r);
        // As it happens: a run that ends in hangs may never reach its summary.
        process.stderr.write(`BAD seed ${r.seed} ${r.command} ${r.outcome}: ${r.mutation} :: ${r.detail ?? ""}\n`);
      }
      if (done % 500 === 0) process.stderr.write(`${done}/${cases} cases, ${bad.length} bad, ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
    },
  });
  const counts = tally(results);
  const mutations = new Map<string, number>();
  for (const r of results) if (r.command === "scan") mutations.set(r.mutation.split(/[:@ =]/)[0], (mutations.get(r.mutation.split(/[:@ =]/)[0]) ?? 0) + 1);
  console.log(`gac fuzz: ${done} cases (seeds ${seed}..${seed + done - 1}), ${results.length} commands, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  console.log(`${"command".padEnd(8)} ${["ok", "refused", "exit2", "hang", "modified", "leftover"].map((o) => o.padStart(9)).join("")}`);
  for (const [command, c] of Object.entries(counts))
    console.log(
      `${command.padEnd(8)} ${Object.values(c)
        .map((n) => String(n).padStart(9))
        .join("")}`,
    );
  for (const r of bad.slice(0, 50)) console.log(`BAD seed ${r.seed} ${r.command} ${r.outcome}: ${r.mutation} :: ${r.detail ?? ""}`);
  if (jsonPath) await writeFile(jsonPath, JSON.stringify({ schema: "gac-fuzz/1", cases: done, seed, counts, bad }, null, 2) + "\n");
  process.exitCode = bad.length > 0 ? 1 : 0;
} finally {
  await rm(root, { recursive: true, force: true });
}
