/**
 * Repair throughput against a plain file copy on the same disk.
 *
 *   node --import tsx bench/repair-throughput.ts [--gb 2] [--dir /tmp] [--runs 3] [--keep] [--checksum-output]
 *
 * Method: an SVD-LLM-shaped checkpoint (Llama-2-7B at 20%: ranks 1638 and 2388, F16, 1 GB shards)
 * with random non-sparse bytes is written once and read once more so the page cache holds it
 * (warm for copy and repair alike: nothing drops the cache, we cannot unprivileged). Then, `runs`
 * times in turn: `cp -r`, `cp -r` + `sync`, and `gac repair` (child process, MINIMAL: every rank
 * padded, so every factor is transformed), each into a new directory on the same disk after a
 * `sync`; medians with min-max are compared. Repair fsyncs its output before the atomic rename, so
 * cp+sync is the like-for-like ratio; plain `cp` is printed too. Repair's time is repairCheckpoint's
 * own (open to published, fsync included); the child's wall time (node + tsx startup added) is
 * printed too. Peak RSS of the repair child comes from
 * /usr/bin/time -f %M when present, else from the child's process.resourceUsage().maxRSS.
 * `--checksum-output` times repair with output sha256 in the manifest. Everything written is
 * deleted at the end (unless --keep).
 * Output: a table on stderr (with progress), one JSON object on stdout.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, stat, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { LLAMA2_7B_SVDLLM, writeSynthCheckpoint } from "../test/repair/synth-checkpoint.js";

const { values } = parseArgs({
  options: { gb: { type: "string", default: "2" }, dir: { type: "string" }, runs: { type: "string", default: "3" }, keep: { type: "boolean" }, "checksum-output": { type: "boolean" } },
});
const targetBytes = Number(values.gb) * 1e9;
const runs = Number(values.runs);

/** Bytes per layer and outside layers for LLAMA2_7B_SVDLLM in F16. */
const s = LLAMA2_7B_SVDLLM;
const layerBytes = 2 * (4 * 2 * s.rankAttn * s.hidden + 2 * s.rankMlp * (s.hidden + s.intermediate) + s.rankMlp * (s.intermediate + s.hidden) + 2 * s.hidden);
const outerBytes = 2 * (2 * s.vocab * s.hidden + s.hidden);
const layers = Math.max(1, Math.round((targetBytes - outerBytes) / layerBytes));

async function dirBytes(dir: string): Promise<number> {
  let n = 0;
  for (const f of await readdir(dir)) n += (await stat(join(dir, f))).size;
  return n;
}

function median(xs: number[]): number {
  const a = [...xs].sort((x, y) => x - y);
  return a[Math.floor(a.length / 2)];
}

/** Median and spread of timings, as MB/s of `bytes` (the slowest run is the min). */
function rate(bytes: number, seconds: number[]): { seconds: number; MBps: number; minMBps: number; maxMBps: number } {
  const mbps = (s: number) => bytes / 1e6 / s;
  return { seconds: median(seconds), MBps: mbps(median(seconds)), minMBps: mbps(Math.max(...seconds)), maxMBps: mbps(Math.min(...seconds)) };
}

const root = await mkdtemp(join(values.dir ?? tmpdir(), "gac-bench-repair-"));
const input = join(root, "in");
const log = (t: string) => process.stderr.write(t + "\n");
try {
  log(`writing ${layers} SVD-LLM layers + embeddings (~${((outerBytes + layers * layerBytes) / 1e9).toFixed(2)} GB) to ${input}`);
  await writeSynthCheckpoint(input, { ...s, layers, maxShardBytes: 1e9 });
  const inBytes = await dirBytes(input);
  // Warm the page cache with the whole input, so that every timed run starts from the same state.
  for (const f of await readdir(input)) execFileSync("cat", [join(input, f)], { stdio: ["ignore", "ignore", "inherit"] });
  const child = join(import.meta.dirname, "..", "test", "repair", "repair-child.ts");
  const haveTime = existsSync("/usr/bin/time");
  const cpSync: number[] = [];
  const cpPlain: number[] = [];
  const repair: number[] = [];
  const repairWall: number[] = [];
  const rss: number[] = [];
  let outBytes = 0;
  for (let i = 0; i < runs; i++) {
    for (const withSync of [false, true]) {
      const dst = join(root, "copy");
      execFileSync("sync");
      const t = performance.now();
      execFileSync("cp", ["-r", input, dst]);
      if (withSync) execFileSync("sync");
      (withSync ? cpSync : cpPlain).push((performance.now() - t) / 1000);
      await rm(dst, { recursive: true, force: true });
    }
    const out = join(root, "out");
    const timeFile = join(root, "time.txt");
    execFileSync("sync");
    const t = performance.now();
    const cmd = haveTime ? ["/usr/bin/time", "-f", "%M", "-o", timeFile, process.execPath] : [process.execPath];
    const flags = [...(haveTime ? [] : ["--report-rss"]), ...(values["checksum-output"] ? ["--checksum-output"] : [])];
    const r = spawnSync(cmd[0], [...cmd.slice(1), "--import", "tsx", child, input, out, ...flags], { encoding: "utf8" });
    repairWall.push((performance.now() - t) / 1000);
    if (r.status !== 0) throw new Error(`repair child failed: ${r.stderr}`);
    const result = JSON.parse(r.stdout.trim().split("\n").pop()!) as { seconds: number; bytesOut: number; maxRssKb?: number };
    repair.push(result.seconds);
    rss.push(haveTime ? Number(readFileSync(timeFile, "utf8").trim().split("\n").pop()) : (result.maxRssKb ?? NaN));
    outBytes = await dirBytes(out);
    await rm(out, { recursive: true, force: true });
    log(
      `run ${i + 1}/${runs}: cp ${cpPlain[i].toFixed(2)} s, cp+sync ${cpSync[i].toFixed(2)} s, repair ${result.seconds.toFixed(2)} s (child wall ${repairWall[i].toFixed(2)} s), peak RSS ${(rss[i] / 1024).toFixed(0)} MB`,
    );
  }
  const cp = rate(inBytes, cpPlain);
  const cpSyncRate = rate(inBytes, cpSync);
  const repairRate = rate(inBytes, repair);
  const repairProcess = rate(inBytes, repairWall);
  const report = {
    inputBytes: inBytes,
    outputBytes: outBytes,
    layers,
    runs,
    checksumOutput: values["checksum-output"] ?? false,
    cp,
    cpSync: cpSyncRate,
    repair: repairRate,
    repairProcess,
    ratioVsCpSync: cpSyncRate.seconds / repairRate.seconds,
    ratioVsCp: cp.seconds / repairRate.seconds,
    peakRssMB: Math.max(...rss) / 1024,
    rssSource: haveTime ? "/usr/bin/time -f %M" : "process.resourceUsage().maxRSS",
    pageCache: "warm for all runs: the input is read once before timing and never dropped",
  };
  const row = (name: string, r: typeof cp, note: string) =>
    `${name.padEnd(9)} ${r.MBps.toFixed(0).padStart(7)} MB/s  (${r.minMBps.toFixed(0)}-${r.maxMBps.toFixed(0)})  ${r.seconds.toFixed(2).padStart(6)} s  ${note}`;
  log("");
  log(`${(inBytes / 1e9).toFixed(2)} GB in, ${(outBytes / 1e9).toFixed(2)} GB out, ${runs} runs each, median (min-max), page cache warm for all`);
  log(row("cp", cp, ""));
  log(row("cp+sync", cpSyncRate, ""));
  log(row("repair", repairRate, `${(100 * report.ratioVsCpSync).toFixed(0)}% of cp+sync, ${(100 * report.ratioVsCp).toFixed(0)}% of cp; peak RSS ${report.peakRssMB.toFixed(0)} MB`));
  log(row("(process)", repairProcess, "repair child's wall time, node + tsx startup included"));
  process.stdout.write(JSON.stringify(report, null, 2) + "\n");
} finally {
  if (!values.keep) await rm(root, { recursive: true, force: true });
}
