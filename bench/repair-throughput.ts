/**
 * Repair throughput of every repair path as a ratio to `cp -r` + `sync` on the same files.
 *
 *   node --import tsx bench/repair-throughput.ts [--layers 1] [--vocab 4096] [--runs 2] [--dtypes BF16,F16,F32]
 *        [--paths fold,logical,mlp,lowrank,palu] [--sharded-dtypes BF16] [--dir /tmp] [--json out.json] [--keep]
 *        [--hash-schemes sha256-chunks,sha256]   (default: the repair's default scheme; each scheme is a row)
 *        [--hash-workers N]   (the repair's hash worker threads; default: the repair's own, max(1, min(4, cores - 1)))
 *        [--baseline OTHER/bench/repair-throughput.ts]   (also repair with another checkout's code, rows with code "baseline")
 *   (GPU host, no tsx: tsc -p tsconfig.bench.json, then node dist-bench/bench/repair-throughput.js ...)
 *
 * Paths (real layer shapes, `--layers` layers, a `--vocab`-row embedding and lm_head so that they
 * weigh in the file about as much as in the full model):
 *   fold     dense head_dim 106 -> 112 of Llama-3-8B (direct SVD), softmax scale folded into q
 *   logical  the same files, --scale logical (zeros only)
 *   mlp      FLAP-pruned Llama-2-7B: MLP width 6,809-10,408 padded (plus its o/down biases)
 *   lowrank  SVD-LLM Llama-2-7B at 20%: every projection a (1638 | 2388)-rank pair, both factors padded
 *   palu     PaLU Llama-3-8B: per-head k/v groups, VT rows per group, U.g columns
 * each in every `--dtypes` dtype as one file, and in `--sharded-dtypes` also sharded (about four
 * shards; the embedding's shard has no edit and is copied whole).
 *
 * Weights are random finite bit patterns (crypto random, top exponent bit cleared), written with
 * the checkpoint writer: repair's speed does not depend on the values. Each input is written, read
 * once to warm the page cache, then `runs` times in turn: `cp -r` + `sync`, and a repair of each
 * path on it (a child process running repairCheckpoint, MINIMAL; its own time, fsync and atomic
 * rename included; peak RSS from the child's resourceUsage, workers included), each into a new
 * directory after an untimed `sync`. With --baseline, every path is also repaired by the child of
 * another checkout's copy of this script (old code) on the same files in the same rounds, the two
 * codes' order reversed every other round. The best (shortest) time of each is compared: the machine is
 * shared, and the best run is the one least disturbed. CPU seconds per GB (cp's from bash `times`,
 * repair's from the child's resourceUsage, every thread) say what each costs whatever else runs.
 * Everything is deleted at the end.
 * Output: progress (with the best run's step timings, RepairResult.timings) and a markdown table on stderr, one JSON object (schema gac-repair-throughput/1)
 * on stdout or in --json's file.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { randomFillSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import { mkdtemp, readdir, rename, rm, stat } from "node:fs/promises";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { writeCheckpoint, type WritableTensor } from "../src/checkpoint/safetensors-write.js";
import { tensorByteLength } from "../src/checkpoint/safetensors-header.js";
import { LLAMA2_7B, LLAMA3_8B, type BaseModel } from "../src/fixtures/base-models.js";
import { DIRECT_SVD_HEAD_DIM } from "../src/fixtures/kinds.js";
import { flapLlama2Kept, paluLlama3Ranks } from "../src/fixtures/real-scale.js";
import { directSvdSpec, paluSpec, prunedFlapSpec, svdllmSpec, type FixtureSpec } from "../src/fixtures/specs.js";
import { publishDirectoryAtomically } from "../src/util/atomic.js";
import { repairCheckpoint, type RepairTimings } from "../src/repair/repair-checkpoint.js";
import type { ScaleMode } from "../src/repair/tensor-edits.js";
import { DEFAULT_HASH_SCHEME, HASH_SCHEMES, isHashScheme, type HashScheme } from "../src/repair/file-hash.js";

type BenchDtype = "BF16" | "F16" | "F32";
type PathName = "fold" | "logical" | "mlp" | "lowrank" | "palu";
const PATHS: Record<PathName, { input: InputName; scaleMode: ScaleMode; what: string }> = {
  fold: { input: "direct-svd", scaleMode: "fold", what: "dense head_dim 106->112, scale folded" },
  logical: { input: "direct-svd", scaleMode: "logical", what: "dense head_dim 106->112, logical scale" },
  mlp: { input: "flap", scaleMode: "fold", what: "MLP width (FLAP)" },
  lowrank: { input: "svdllm", scaleMode: "fold", what: "low-rank pairs (SVD-LLM)" },
  palu: { input: "palu", scaleMode: "fold", what: "PaLU groups" },
};
type InputName = "direct-svd" | "flap" | "svdllm" | "palu";

/** One repair child's report. */
interface ChildResult {
  seconds: number;
  bytesOut: number;
  maxRssKb: number;
  cpuSeconds: number;
  timings: RepairTimings;
}

/** RepairTimings in snake_case, seconds: where the best run's time went (stream-timings.ts). */
function timingsRecord(t: RepairTimings): Record<string, number> {
  const f = t.files;
  return {
    plan: t.plan,
    shards: t.shards,
    finish: t.finish,
    file_stream: f.stream,
    read_busy: f.readBusy,
    write_busy: f.writeBusy,
    sync_busy: f.syncBusy,
    hash_busy: f.hashBusy,
    transform: f.transform,
    wait_read: f.waitRead,
    wait_hash: f.waitHash,
    wait_output_block: f.waitOutputBlock,
  };
}

// ---- child mode: one repair, one JSON line -------------------------------------------------------
if (process.argv[2] === "--child") {
  const [input, output, scaleMode, inputHash, workers] = process.argv.slice(3);
  if (!isHashScheme(inputHash)) throw new Error(`unknown hash scheme '${inputHash}'`);
  const hashWorkers = workers === "default" ? undefined : Number(workers);
  const cpu = () => {
    const u = process.resourceUsage();
    return (u.userCPUTime + u.systemCPUTime) / 1e6;
  };
  // The repair's own CPU (every thread), without node's start and module loading (0.77 CPU-s under tsx on the 2-core VM).
  const before = cpu();
  const r = await repairCheckpoint(input, output, { strategy: "MINIMAL", scaleMode: scaleMode as ScaleMode, inputHash, hashWorkers });
  const child: ChildResult = { seconds: r.seconds, bytesOut: r.bytesOut, maxRssKb: process.resourceUsage().maxRSS, cpuSeconds: cpu() - before, timings: r.timings };
  process.stdout.write(JSON.stringify(child) + "\n");
  process.exit(0);
}

const { values } = parseArgs({
  options: {
    layers: { type: "string", default: "1" },
    vocab: { type: "string", default: "4096" },
    runs: { type: "string", default: "2" },
    dtypes: { type: "string", default: "BF16,F16,F32" },
    "sharded-dtypes": { type: "string", default: "BF16" },
    paths: { type: "string", default: Object.keys(PATHS).join(",") },
    "hash-schemes": { type: "string", default: DEFAULT_HASH_SCHEME },
    "hash-workers": { type: "string" },
    baseline: { type: "string" },
    dir: { type: "string" },
    json: { type: "string" },
    keep: { type: "boolean" },
  },
});
const layers = Number(values.layers);
const vocab = Number(values.vocab);
const runs = Number(values.runs);
const list = (s: string | undefined) => (s ?? "").split(",").filter((x) => x !== "");
const dtypes = list(values.dtypes) as BenchDtype[];
const shardedDtypes = list(values["sharded-dtypes"]) as BenchDtype[];
const paths = list(values.paths) as PathName[];
for (const p of paths) if (!(p in PATHS)) throw new Error(`unknown path '${p}'; paths: ${Object.keys(PATHS).join(", ")}`);
const hashSchemes = list(values["hash-schemes"]).filter(isHashScheme);
if (hashSchemes.length !== list(values["hash-schemes"]).length || hashSchemes.length === 0) throw new Error(`--hash-schemes takes a list of ${HASH_SCHEMES.join(", ")}`);
const hashWorkers = values["hash-workers"] === undefined ? undefined : Number(values["hash-workers"]);
if (hashWorkers !== undefined && !(Number.isInteger(hashWorkers) && hashWorkers >= 1)) throw new Error(`--hash-workers takes a whole number of at least 1, not '${values["hash-workers"]}'`);
/** One repair measured per input: a path in a hash scheme. */
interface Variant {
  path: PathName;
  hash: HashScheme;
  /** This checkout's repair, or the --baseline script's. */
  code: Code;
}
type Code = "this" | "baseline";
const codes: Code[] = values.baseline === undefined ? ["this"] : ["this", "baseline"];
const variantKey = (v: Variant) => `${v.path} ${v.hash}${v.code === "this" ? "" : " (baseline)"}`;

const few = (b: BaseModel): BaseModel => ({ ...b, layers, vocab });
function specOf(input: InputName): FixtureSpec {
  switch (input) {
    case "direct-svd":
      return directSvdSpec("bench: direct SVD head_dim 106", few(LLAMA3_8B), DIRECT_SVD_HEAD_DIM);
    case "flap":
      return prunedFlapSpec("bench: FLAP", few(LLAMA2_7B), flapLlama2Kept().slice(0, layers));
    case "svdllm":
      return svdllmSpec("bench: SVD-LLM 20%", few(LLAMA2_7B), 0.2);
    case "palu":
      return paluSpec("bench: PaLU", few(LLAMA3_8B), paluLlama3Ranks().slice(0, layers));
  }
}

const TORCH_DTYPE: Record<BenchDtype, string> = { F32: "float32", F16: "float16", BF16: "bfloat16" };
const CHUNK = 8 * 1024 * 1024;

/** Random finite values: random bits with the top exponent bit of every element cleared (|x| < 2). */
function randomTensor(name: string, dtype: BenchDtype, shape: number[]): WritableTensor {
  const bytes = tensorByteLength(dtype, shape);
  const mask = dtype === "F32" ? 0xbfffffff : 0xbfffbfff;
  return {
    name,
    dtype,
    shape,
    data: async function* () {
      for (let done = 0; done < bytes; ) {
        const n = Math.min(CHUNK, bytes - done);
        const words = new Uint32Array(Math.ceil(n / 4));
        randomFillSync(words);
        for (let i = 0; i < words.length; i++) words[i] &= mask;
        done += n;
        yield new Uint8Array(words.buffer, 0, n);
      }
    },
  };
}

async function writeInput(dir: string, input: InputName, dtype: BenchDtype, sharded: boolean): Promise<number> {
  const spec = specOf(input);
  const total = spec.tensors.reduce((a, t) => a + tensorByteLength(dtype, t.shape), 0);
  const tensors = spec.tensors.map((t) => randomTensor(t.name, dtype, t.shape));
  await publishDirectoryAtomically(
    dir,
    (tmp) => writeCheckpoint(tmp, { config: { ...spec.config, torch_dtype: TORCH_DTYPE[dtype] }, tensors, maxShardBytes: sharded ? Math.ceil(total / 3.5) : undefined }),
    { force: true },
  );
  return total;
}

async function dirBytes(dir: string): Promise<{ bytes: number; files: number }> {
  let bytes = 0;
  let files = 0;
  for (const f of await readdir(dir)) {
    bytes += (await stat(join(dir, f))).size;
    files++;
  }
  return { bytes, files };
}

const log = (t: string) => process.stderr.write(t + "\n");
const seconds = (t0: number) => (performance.now() - t0) / 1000;

interface PathResult {
  path: PathName;
  /** The repair's hash scheme (--hash). */
  hash: HashScheme;
  /** Whose code repaired: this checkout's, or the --baseline script's (absent without --baseline). */
  code?: Code;
  what: string;
  dtype: BenchDtype;
  layout: "one-file" | "sharded";
  input_bytes: number;
  output_bytes: number;
  files: number;
  cp_sync_s: number[];
  repair_s: number[];
  cp_sync_mbps: number;
  repair_mbps: number;
  ratio: number;
  peak_rss_mb: number;
  /** CPU seconds (user + system, every thread) per GB of input: what the copy costs whatever else runs on the machine. */
  cp_cpu_s_per_gb: number;
  /** The repair's own CPU (since bench commit issue-10-onefile: without node's start and module loading). */
  repair_cpu_s_per_gb: number;
  /** Where the best repair run's seconds went (timingsRecord). */
  best_repair_timings_s: Record<string, number>;
}

/** The children's user + system seconds from bash's `times` (its second line: "0m1.234s 0m0.567s"). */
function childCpuSeconds(times: string): number {
  const line = times.trim().split("\n").pop() ?? "";
  return [...line.matchAll(/(\d+)m([\d.]+)s/g)].reduce((a, m) => a + Number(m[1]) * 60 + Number(m[2]), 0);
}

const root = await mkdtemp(join(values.dir ?? tmpdir(), "gac-bench-repair-"));
const childArgs = (code: Code) => [...process.execArgv, code === "this" ? process.argv[1] : values.baseline!, "--child"];
const results: PathResult[] = [];
const t0 = performance.now();
// Other jobs on the machine change the figures (the repair needs ~5x cp's CPU): the load is recorded at the start and per input.
const loadStart = loadavg();
const loadText = (l: number[]) => l.map((x) => x.toFixed(1)).join(" ");
try {
  const inputs = new Map<InputName, PathName[]>();
  for (const p of paths) inputs.set(PATHS[p].input, [...(inputs.get(PATHS[p].input) ?? []), p]);
  const cases: { dtype: BenchDtype; sharded: boolean }[] = [...dtypes.map((dtype) => ({ dtype, sharded: false })), ...shardedDtypes.map((dtype) => ({ dtype, sharded: true }))];
  for (const { dtype, sharded } of cases) {
    for (const [input, its] of inputs) {
      const dir = join(root, "in");
      const tw = performance.now();
      await writeInput(dir, input, dtype, sharded);
      const { bytes: inBytes, files } = await dirBytes(dir);
      for (const f of await readdir(dir)) execFileSync("cat", [join(dir, f)], { stdio: ["ignore", "ignore", "inherit"] });
      log(`${input} ${dtype} ${sharded ? "sharded" : "one file"}: ${(inBytes / 1e9).toFixed(2)} GB in ${files} files, written in ${seconds(tw).toFixed(1)} s; load ${loadText(loadavg())}`);
      const cpTimes: number[] = [];
      const cpCpu: number[] = [];
      const variants: Variant[] = its.flatMap((path) => hashSchemes.flatMap((hash) => codes.map((code) => ({ path, hash, code }))));
      const repairCpu = new Map<string, number[]>(variants.map((v) => [variantKey(v), []]));
      const repairTimes = new Map<string, number[]>(variants.map((v) => [variantKey(v), []]));
      const rss = new Map<string, number>(variants.map((v) => [variantKey(v), 0]));
      const bestTimings = new Map<string, RepairTimings>();
      const outBytes = new Map<string, number>();
      for (let r = 0; r < runs; r++) {
        const dst = join(root, "copy");
        execFileSync("sync");
        const tc = performance.now();
        // bash's `times` prints its children's user and system CPU (cp's; sync's work is the kernel's flusher).
        const times = execFileSync("bash", ["-c", 'cp -r "$0" "$1" && sync && times', dir, dst], { encoding: "utf8" });
        cpTimes.push(seconds(tc));
        cpCpu.push(childCpuSeconds(times));
        await rm(dst, { recursive: true, force: true });
        // With a baseline, neither code always runs first after the copy (page cache and free memory differ by position).
        for (const v of values.baseline !== undefined && r % 2 === 1 ? [...variants].reverse() : variants) {
          const p = variantKey(v);
          const out = join(root, "out");
          execFileSync("sync");
          const c = spawnSync(process.execPath, [...childArgs(v.code), dir, out, PATHS[v.path].scaleMode, v.hash, String(hashWorkers ?? "default")], { encoding: "utf8" });
          if (c.status !== 0) throw new Error(`repair child failed (${p} ${dtype}): ${c.stderr}`);
          const res = JSON.parse(c.stdout.trim().split("\n").pop()!) as ChildResult;
          if (res.seconds < Math.min(...repairTimes.get(p)!)) bestTimings.set(p, res.timings);
          repairTimes.get(p)!.push(res.seconds);
          repairCpu.get(p)!.push(res.cpuSeconds);
          rss.set(p, Math.max(rss.get(p)!, res.maxRssKb / 1024));
          outBytes.set(p, (await dirBytes(out)).bytes);
          await rm(out, { recursive: true, force: true });
        }
      }
      const best = (xs: number[]) => Math.min(...xs);
      for (const v of variants) {
        const p = variantKey(v);
        const cp = best(cpTimes);
        const rep = best(repairTimes.get(p)!);
        const row: PathResult = {
          path: v.path,
          hash: v.hash,
          ...(values.baseline === undefined ? {} : { code: v.code }),
          what: PATHS[v.path].what,
          dtype,
          layout: sharded ? "sharded" : "one-file",
          input_bytes: inBytes,
          output_bytes: outBytes.get(p)!,
          files,
          cp_sync_s: cpTimes,
          repair_s: repairTimes.get(p)!,
          cp_sync_mbps: inBytes / 1e6 / cp,
          repair_mbps: inBytes / 1e6 / rep,
          ratio: cp / rep,
          peak_rss_mb: rss.get(p)!,
          cp_cpu_s_per_gb: Math.min(...cpCpu) / (inBytes / 1e9),
          repair_cpu_s_per_gb: Math.min(...repairCpu.get(p)!) / (inBytes / 1e9),
          best_repair_timings_s: timingsRecord(bestTimings.get(p)!),
        };
        const t = row.best_repair_timings_s;
        results.push(row);
        log(
          `  ${p.padEnd(values.baseline === undefined ? 22 : 33)} cp+sync ${cp.toFixed(2)} s, repair ${rep.toFixed(2)} s: ${(100 * row.ratio).toFixed(0)}% of cp+sync, peak RSS ${row.peak_rss_mb.toFixed(0)} MB; CPU s/GB cp ${row.cp_cpu_s_per_gb.toFixed(2)}, repair ${row.repair_cpu_s_per_gb.toFixed(2)}`,
        );
        const ms = (x: number) => (1000 * x).toFixed(0);
        log(
          `           best run ms: plan ${ms(t.plan)}, files ${ms(t.shards)} (busy: read ${ms(t.read_busy)}, write ${ms(t.write_busy)}, sync ${ms(t.sync_busy)}, hash ${ms(t.hash_busy)}, transform ${ms(t.transform)}; loop waits: read ${ms(t.wait_read)}, hash ${ms(t.wait_hash)}, out block ${ms(t.wait_output_block)}), finish ${ms(t.finish)}`,
        );
      }
      if (values.keep) await rename(dir, join(root, `in-${input}-${dtype}-${sharded ? "sharded" : "one-file"}`));
      else await rm(dir, { recursive: true, force: true });
    }
  }
  const ours = results.filter((r) => r.code !== "baseline");
  const report = {
    schema: "gac-repair-throughput/1",
    machine: { cpus: availableParallelism(), cpu_model: cpus()[0]?.model ?? "?", node: process.version, load_average_start: loadStart, load_average_end: loadavg() },
    settings: {
      layers,
      vocab,
      runs,
      dtypes,
      sharded_dtypes: shardedDtypes,
      paths,
      hash_schemes: hashSchemes,
      hash_workers: hashWorkers ?? "default",
      ...(values.baseline === undefined ? {} : { baseline: values.baseline }),
      timing: "best of runs, page cache warm, untimed sync before each",
    },
    wall_s: seconds(t0),
    // This code's rows (a baseline's are for comparison).
    min_ratio: Math.min(...ours.map((r) => r.ratio)),
    max_peak_rss_mb: Math.max(...ours.map((r) => r.peak_rss_mb)),
    results,
  };
  log("");
  log(`| path | hash | dtype | layout | GB in | cp+sync MB/s | repair MB/s | ratio | peak RSS MB | CPU s/GB cp / repair | hash busy s |`);
  log(`|---|---|---|---|---|---|---|---|---|---|---|`);
  for (const r of results) {
    log(
      `| ${r.code === "baseline" ? `${r.path} (baseline)` : r.path} | ${r.hash} | ${r.dtype} | ${r.layout} | ${(r.input_bytes / 1e9).toFixed(2)} | ${r.cp_sync_mbps.toFixed(0)} | ${r.repair_mbps.toFixed(0)} | ${(100 * r.ratio).toFixed(0)}% | ${r.peak_rss_mb.toFixed(0)} | ${r.cp_cpu_s_per_gb.toFixed(2)} / ${r.repair_cpu_s_per_gb.toFixed(2)} | ${r.best_repair_timings_s.hash_busy.toFixed(2)} |`,
    );
  }
  log(
    `worst ratio ${(100 * report.min_ratio).toFixed(0)}%, max peak RSS ${report.max_peak_rss_mb.toFixed(0)} MB, ${availableParallelism()} cores, hash workers: ${hashWorkers ?? "the repair's default"}, load at the start ${loadText(loadStart)}, at the end ${loadText(loadavg())}, ${report.wall_s.toFixed(0)} s`,
  );
  const text = JSON.stringify(report, null, 2) + "\n";
  if (values.json) writeFileSync(values.json, text);
  else process.stdout.write(text);
} finally {
  if (!values.keep) await rm(root, { recursive: true, force: true });
}
