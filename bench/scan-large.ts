/**
 * Shows that scanning a checkpoint costs the same memory whatever its size: headers are read, tensor
 * bytes never are. Builds Llama-3-8B-shaped checkpoints (BF16, sharded at 5 GB like HF) as SPARSE
 * files (real headers from planSafetensorsLayout, then ftruncate to the full size: no disk used), then
 * times `node bin/gac.js scan <dir> --json` in a child process several times per size and reports wall
 * time (median/min/max) and peak RSS.
 *
 *   node --import tsx bench/scan-large.ts [--gb 16] [--small-gb 4] [--runs 5] [--no-build]
 *
 * If `gac scan` is not registered (it is another part of the project), the child instead runs
 * openCheckpoint from dist/ and the output says so. Temp files are deleted at the end.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { writeShardedCheckpoint, writeSparseSafetensorsFile, type TensorLayout } from "../src/checkpoint/safetensors-write.js";
import { tensorByteLength } from "../src/checkpoint/safetensors-header.js";

const ROOT = resolve(import.meta.dirname, "..");
const GB = 1e9;
/** huggingface_hub's default max_shard_size. */
const SHARD_BYTES = 5 * GB;

/** Llama-3-8B (research/compressed_formats.md section 4), with `layers` decoder layers. */
function llama3Config(layers: number): Record<string, unknown> {
  return {
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    hidden_size: 4096,
    intermediate_size: 14336,
    num_attention_heads: 32,
    num_key_value_heads: 8,
    num_hidden_layers: layers,
    vocab_size: 128256,
    rope_theta: 500000.0,
    rope_scaling: null,
    rms_norm_eps: 1e-5,
    max_position_embeddings: 8192,
    tie_word_embeddings: false,
    torch_dtype: "bfloat16",
    hidden_act: "silu",
  };
}

function llama3Tensors(layers: number): TensorLayout[] {
  const t = (name: string, ...shape: number[]): TensorLayout => ({ name, dtype: "BF16", shape });
  const out = [t("model.embed_tokens.weight", 128256, 4096)];
  for (let i = 0; i < layers; i++) {
    const p = `model.layers.${i}`;
    out.push(
      t(`${p}.input_layernorm.weight`, 4096),
      t(`${p}.self_attn.q_proj.weight`, 4096, 4096),
      t(`${p}.self_attn.k_proj.weight`, 1024, 4096),
      t(`${p}.self_attn.v_proj.weight`, 1024, 4096),
      t(`${p}.self_attn.o_proj.weight`, 4096, 4096),
      t(`${p}.post_attention_layernorm.weight`, 4096),
      t(`${p}.mlp.gate_proj.weight`, 14336, 4096),
      t(`${p}.mlp.up_proj.weight`, 14336, 4096),
      t(`${p}.mlp.down_proj.weight`, 4096, 14336),
    );
  }
  out.push(t("model.norm.weight", 4096), t("lm_head.weight", 128256, 4096));
  return out;
}

const bytesOf = (ts: TensorLayout[]) => ts.reduce((a, t) => a + tensorByteLength(t.dtype, t.shape), 0);

/** Layer count whose checkpoint is closest to `gb` (at least 1 layer). */
function layersFor(gb: number): number {
  const base = bytesOf(llama3Tensors(0));
  const perLayer = bytesOf(llama3Tensors(1)) - base;
  return Math.max(1, Math.round((gb * GB - base) / perLayer));
}

/** Writes a sparse sharded checkpoint; returns its size in bytes. */
async function writeSparseCheckpoint(dir: string, layers: number): Promise<number> {
  const tensors = llama3Tensors(layers);
  await writeShardedCheckpoint(dir, { config: llama3Config(layers), tensors, maxShardBytes: SHARD_BYTES }, (path, shard) => writeSparseSafetensorsFile(path, shard, { format: "pt" }));
  let total = 0;
  for (const f of await readdir(dir)) if (f.endsWith(".safetensors")) total += (await stat(join(dir, f))).size;
  return total;
}

interface Run {
  wallMs: number;
  maxRssKb: number;
}

/** One child run under /usr/bin/time -f %M (peak RSS in KB on its last stderr line). */
function timeOnce(args: string[]): Run {
  const started = process.hrtime.bigint();
  const r = spawnSync("/usr/bin/time", ["-f", "%M", process.execPath, ...args], { cwd: ROOT, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  const lastLine = r.stderr.trimEnd().split("\n").pop() ?? "";
  if (r.status !== 0 && r.status !== 1) throw new Error(`child failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return { wallMs, maxRssKb: Number(lastLine) };
}

/** Fallback when /usr/bin/time is missing: the child reports its own peak RSS through a preload hook. */
async function timeOnceWithPreload(args: string[], hookDir: string): Promise<Run> {
  const hook = join(hookDir, "rss-hook.mjs");
  if (!existsSync(hook)) {
    await writeFile(hook, `import { writeSync } from "node:fs";\nprocess.on("exit", () => writeSync(2, "\\nGAC_MAXRSS_KB=" + process.resourceUsage().maxRSS + "\\n"));\n`);
  }
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ["--import", hook, ...args], { cwd: ROOT, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  const m = /GAC_MAXRSS_KB=(\d+)/.exec(r.stderr);
  if (!m) throw new Error(`child failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return { wallMs, maxRssKb: Number(m[1]) };
}

function summary(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return { median: s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2, min: s[0], max: s[s.length - 1] };
}

function scanRegistered(): boolean {
  const r = spawnSync(process.execPath, ["bin/gac.js", "--help"], { cwd: ROOT, encoding: "utf8" });
  return /^\s+scan\s/m.test(r.stdout);
}

async function main() {
  const { values } = parseArgs({
    options: { gb: { type: "string", default: "16" }, "small-gb": { type: "string", default: "4" }, runs: { type: "string", default: "5" }, "no-build": { type: "boolean", default: false } },
  });
  const sizes = [Number(values["small-gb"]), Number(values.gb)];
  const runs = Number(values.runs);
  if (!values["no-build"]) {
    // Other parts of the tree may not typecheck yet; tsc still emits, so only a missing entry is fatal.
    const b = spawnSync("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: ROOT, encoding: "utf8" });
    if (b.status !== 0) process.stderr.write(`note: tsc reported errors (continuing with what it emitted):\n${b.stdout.split("\n").slice(0, 5).join("\n")}\n`);
  }
  if (!existsSync(join(ROOT, "dist/cli/main.js"))) throw new Error("dist/cli/main.js is missing: build with `npx tsc -p tsconfig.build.json`");
  const useScan = scanRegistered();
  const openScript = `import(${JSON.stringify(join(ROOT, "dist/checkpoint/open.js"))}).then(async (m) => { const c = await m.openCheckpoint(process.argv[1]); process.stdout.write(JSON.stringify({ tensors: c.tensors.size, files: c.files.length }) + "\\n"); })`;
  const childArgs = (dir: string) => (useScan ? ["bin/gac.js", "scan", dir, "--json"] : ["-e", openScript, dir]);
  const haveTime = existsSync("/usr/bin/time");
  const work = await mkdtemp(join(tmpdir(), "gac-scan-large-"));
  console.log(`measuring: ${useScan ? "node bin/gac.js scan <dir> --json" : "openCheckpoint(<dir>) from dist/ (gac scan is not registered yet)"}`);
  console.log(`peak RSS via ${haveTime ? "/usr/bin/time -f %M" : "process.resourceUsage() in the child"}; ${runs} runs per size after 1 warm-up\n`);
  try {
    const rows: string[] = [];
    for (const gb of sizes) {
      const layers = layersFor(gb);
      const dir = join(work, `llama3-${layers}L`);
      const size = await writeSparseCheckpoint(dir, layers);
      const measure = () => (haveTime ? Promise.resolve(timeOnce(childArgs(dir))) : timeOnceWithPreload(childArgs(dir), work));
      await measure(); // warm-up: page cache and module loading
      const results: Run[] = [];
      for (let i = 0; i < runs; i++) results.push(await measure());
      const wall = summary(results.map((r) => r.wallMs));
      const rss = summary(results.map((r) => r.maxRssKb / 1024));
      rows.push(
        `${(size / GB).toFixed(1).padStart(6)} GB  ${String(layers).padStart(3)} layers  wall ms median ${wall.median.toFixed(0)} (min ${wall.min.toFixed(0)}, max ${wall.max.toFixed(0)})  peak RSS MB median ${rss.median.toFixed(1)} (min ${rss.min.toFixed(1)}, max ${rss.max.toFixed(1)})`,
      );
      console.log(rows[rows.length - 1]);
      await rm(dir, { recursive: true, force: true });
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
