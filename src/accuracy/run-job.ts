/**
 * Runs one accuracy job on the GPU: writes the job to a temp file, starts
 * `python3 -u -m gac_worker.accuracy <file>` with PYTHONPATH at the package's python/, and reads its
 * JSON lines: {"event": "progress", "message"} goes to stderr, {"event": "result", ...} lines are
 * collected, {"event": "error", "kind", "message"} becomes a GacError (NO_GPU when PyTorch or CUDA
 * is missing, WORKER_FAILED otherwise). A worker that dies without a result is WORKER_FAILED with
 * the end of its stderr.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { GacError } from "../errors.js";
import { workerPythonDir } from "../bench/worker-client.js";
import type { AccuracyJob } from "./job.js";

export interface RunJobOptions {
  python?: string;
  /** Progress lines of the worker. */
  onProgress?: (message: string) => void;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export async function runAccuracyJob(job: AccuracyJob, opts: RunJobOptions = {}): Promise<Record<string, unknown>[]> {
  const dir = await mkdtemp(join(tmpdir(), "gac-accuracy-"));
  try {
    const file = join(dir, "job.json");
    await writeFile(file, JSON.stringify(job));
    return await runWorker(file, opts);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function runWorker(jobFile: string, opts: RunJobOptions): Promise<Record<string, unknown>[]> {
  const pythonDir = workerPythonDir();
  const base = opts.env ?? process.env;
  const env: NodeJS.ProcessEnv = { ...base, PYTHONPATH: base.PYTHONPATH ? `${pythonDir}:${base.PYTHONPATH}` : pythonDir, PYTHONUNBUFFERED: "1" };
  const child = spawn(opts.python ?? "python3", ["-u", "-m", "gac_worker.accuracy", jobFile], { env, stdio: ["ignore", "pipe", "pipe"], signal: opts.signal });
  const results: Record<string, unknown>[] = [];
  let failure: GacError | undefined;
  let stderrTail = "";
  child.stderr.on("data", (d: Buffer) => {
    stderrTail = (stderrTail + d.toString("utf8")).slice(-4096);
  });
  const lines = createInterface({ input: child.stdout });
  lines.on("line", (line) => {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      failure ??= new GacError("WORKER_FAILED", `the accuracy worker printed a line that is not JSON: ${line.slice(0, 200)}`);
      return;
    }
    if (!isRecord(msg)) return;
    if (msg.event === "progress") opts.onProgress?.(String(msg.message));
    else if (msg.event === "result") results.push(msg);
    else if (msg.event === "error") {
      const kind = String(msg.kind);
      const text = String(msg.message);
      failure ??=
        kind === "no_torch" || kind === "no_gpu"
          ? new GacError(
              "NO_GPU",
              `--device gpu: ${kind === "no_torch" ? "PyTorch is not installed for python3" : "no CUDA GPU is visible"} (${text.split("\n")[0]}); run on a machine with an NVIDIA GPU and PyTorch, or use --device cpu`,
            )
          : new GacError("WORKER_FAILED", `the accuracy worker failed: ${text.split("\n")[0]}`);
    }
  });
  return new Promise((resolve, reject) => {
    child.on("error", (e) => reject(new GacError("WORKER_FAILED", `cannot start ${opts.python ?? "python3"} for --device gpu: ${e.message}`)));
    child.on("close", (code) => {
      if (failure) return reject(failure);
      if (code !== 0) {
        const last = stderrTail.trim().split("\n").pop() ?? "";
        return reject(new GacError("WORKER_FAILED", `the accuracy worker exited with code ${code} before a result${last ? `; its stderr ends with: ${last.slice(0, 300)}` : ""}`));
      }
      resolve(results);
    });
  });
}
