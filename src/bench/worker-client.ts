/**
 * One GPU worker process, driven over JSON lines (docs/worker-protocol.md). The launcher is
 * injected: `pythonWorkerSpawner()` starts the real worker, tests pass a fake script.
 *
 * Failure handling, in the order things go wrong:
 * - the process cannot start or exits before its capability line -> GacError WORKER_FAILED, with
 *   the tail of its stderr;
 * - capability ok:false (no torch, no GPU) -> GacError NO_GPU, one line;
 * - a job gets no message at all for `heartbeatTimeoutMs` (the worker beats every 5 s) -> the
 *   process is killed and the job fails with WORKER_FAILED;
 * - an AbortSignal cancels a job: `cancel` is sent, and after `cancelGraceMs` the process is killed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { GacError } from "../errors.js";
import { parseWorkerLine, type BodyResultMessage, type CapabilityOk, type ErrorMessage, type ResultMessage, type WorkerJobBody } from "./protocol.js";

/** Starts the worker for one device; the child must have piped stdin, stdout and stderr. */
export type SpawnWorker = (device: number) => ChildProcess;

/** The worker beats every 5 s; six missed beats mean it hangs (a stuck kernel, a dead driver). */
const DEFAULT_HEARTBEAT_TIMEOUT_MS = 30_000;
/** Importing torch and initialising CUDA takes 5-40 s on a cold machine. */
const DEFAULT_START_TIMEOUT_MS = 180_000;
/** Time a worker gets to answer `cancel` or `shutdown` before it is killed. */
const DEFAULT_GRACE_MS = 5_000;
/** Bytes of the worker's stderr kept for error messages. */
const STDERR_KEEP = 4096;

/** The python/ directory of this package (src/bench or dist/bench -> ../../python). */
export function workerPythonDir(): string {
  return fileURLToPath(new URL("../../python/", import.meta.url));
}

interface PythonSpawnOptions {
  python?: string;
  /** Set CUDA_VISIBLE_DEVICES to the one device and pass --device 0 (the worker sees one GPU). */
  isolate?: boolean;
  pythonDir?: string;
  env?: NodeJS.ProcessEnv;
}

/** The real worker: `python3 -u -m gac_worker --device N` with PYTHONPATH at the package's python/. */
export function pythonWorkerSpawner(options: PythonSpawnOptions = {}): SpawnWorker {
  const pythonDir = options.pythonDir ?? workerPythonDir();
  return (device) => {
    const base = options.env ?? process.env;
    const env: NodeJS.ProcessEnv = { ...base, PYTHONPATH: base.PYTHONPATH ? `${pythonDir}:${base.PYTHONPATH}` : pythonDir, PYTHONUNBUFFERED: "1" };
    if (options.isolate) env.CUDA_VISIBLE_DEVICES = String(device);
    const args = ["-u", "-m", "gac_worker", "--device", String(options.isolate ? 0 : device)];
    return spawn(options.python ?? "python3", args, { env, stdio: ["pipe", "pipe", "pipe"] });
  };
}

interface WorkerClientOptions {
  spawn: SpawnWorker;
  device: number;
  heartbeatTimeoutMs?: number;
  startTimeoutMs?: number;
  graceMs?: number;
}

export type JobOutcome = ResultMessage | BodyResultMessage | ErrorMessage;

interface PendingJob {
  id: string;
  resolve(outcome: JobOutcome): void;
  reject(error: Error): void;
}

export class WorkerClient {
  readonly device: number;
  private readonly child: ChildProcess;
  private readonly heartbeatTimeoutMs: number;
  private readonly graceMs: number;
  private stderrTail = "";
  private pending: PendingJob | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private exited: { code: number | null; signal: string | null } | null = null;
  private failure: GacError | null = null;
  private nextId = 1;
  private capabilityWaiter: { resolve(m: CapabilityOk): void; reject(e: Error): void } | null = null;
  private exitWaiters: (() => void)[] = [];
  private _capability: CapabilityOk | null = null;

  private constructor(options: WorkerClientOptions) {
    this.device = options.device;
    this.heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS;
    this.graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
    this.child = options.spawn(options.device);
    this.child.stderr?.on("data", (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString("utf8")).slice(-STDERR_KEEP);
    });
    this.child.stdin?.on("error", () => {
      // EPIPE when the worker died: reported through 'exit'.
    });
    this.child.on("error", (e) => this.fail(new GacError("WORKER_FAILED", `could not start the GPU worker for device ${this.device}: ${e.message}`)));
    this.child.on("exit", (code, signal) => {
      this.exited = { code, signal };
      this.fail(new GacError("WORKER_FAILED", `GPU worker for device ${this.device} exited (${signal ? `signal ${signal}` : `code ${code}`})${this.stderrSummary()}`));
      for (const w of this.exitWaiters.splice(0)) w();
    });
    if (this.child.stdout) {
      const lines = createInterface({ input: this.child.stdout });
      lines.on("line", (line) => this.onLine(line));
    }
  }

  /** Start a worker and wait for its capability line. Throws NO_GPU or WORKER_FAILED. */
  static async start(options: WorkerClientOptions): Promise<WorkerClient> {
    const client = new WorkerClient(options);
    const startTimeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    try {
      const capability = await new Promise<CapabilityOk>((resolve, reject) => {
        if (client.failure) return reject(client.failure);
        client.capabilityWaiter = { resolve, reject };
        timer = setTimeout(() => {
          client.kill();
          reject(new GacError("WORKER_FAILED", `GPU worker for device ${options.device} sent no capability line within ${startTimeoutMs / 1000} s${client.stderrSummary()}`));
        }, startTimeoutMs);
      });
      client._capability = capability;
      return client;
    } catch (e) {
      // A worker that reported no GPU exits by itself (code 0); give it the grace time first.
      if (e instanceof GacError && e.code === "NO_GPU") await client.waitForExit(client.graceMs);
      client.kill();
      throw e;
    } finally {
      clearTimeout(timer);
      client.capabilityWaiter = null;
    }
  }

  get capability(): CapabilityOk {
    if (!this._capability) throw new Error("worker capability read before start() finished");
    return this._capability;
  }

  get alive(): boolean {
    return this.exited === null && this.failure === null;
  }

  /** The worker's last stderr bytes (diagnostics). */
  get stderr(): string {
    return this.stderrTail;
  }

  /**
   * Run one job. Resolves with the worker's result or error message (a refusal is an answer, not a
   * failure); rejects with WORKER_FAILED when the worker dies, hangs or breaks the protocol. On
   * abort it resolves with a `cancelled` error message once the worker confirms or is killed.
   */
  run(job: WorkerJobBody, options: { id?: string; signal?: AbortSignal } = {}): Promise<JobOutcome> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.pending) return Promise.reject(new Error("WorkerClient.run called while a job is running (one job at a time)"));
    const id = options.id ?? `job-${this.nextId++}`;
    const signal = options.signal;
    if (signal?.aborted) return Promise.resolve(cancelled(id, "cancelled before it started"));
    return new Promise<JobOutcome>((resolve, reject) => {
      let graceTimer: NodeJS.Timeout | undefined;
      const onAbort = () => {
        this.send({ type: "cancel", id });
        graceTimer = setTimeout(() => {
          this.kill();
          finish(() => resolve(cancelled(id, `worker did not confirm the cancel within ${this.graceMs / 1000} s and was killed`)));
        }, this.graceMs);
      };
      const finish = (settle: () => void) => {
        if (this.pending?.id !== id) return;
        this.pending = null;
        this.stopWatchdog();
        clearTimeout(graceTimer);
        signal?.removeEventListener("abort", onAbort);
        settle();
      };
      this.pending = {
        id,
        resolve: (outcome) => finish(() => resolve(outcome)),
        reject: (error) => {
          // A kill we made after a cancel is the cancel's answer, not a failure.
          if (signal?.aborted) finish(() => resolve(cancelled(id, "worker stopped after the cancel")));
          else finish(() => reject(error));
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.armWatchdog();
      this.send({ type: "job", id, ...job });
    });
  }

  /** Ask the worker to exit (`shutdown`, then EOF); kill it after the grace time. */
  async close(): Promise<void> {
    if (this.exited) return;
    const exitedNow = new Promise<void>((resolve) => this.exitWaiters.push(resolve));
    this.send({ type: "shutdown" });
    this.child.stdin?.end();
    const timer = setTimeout(() => this.kill(), this.graceMs);
    await exitedNow;
    clearTimeout(timer);
  }

  /** Resolves when the process has exited or `ms` passed; returns its exit status if it exited. */
  async waitForExit(ms: number): Promise<{ code: number | null; signal: string | null } | null> {
    if (!this.exited) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.exitWaiters.push(resolve);
        timer = setTimeout(resolve, ms);
      });
      clearTimeout(timer);
    }
    return this.exited;
  }

  /** Kill the process now (SIGKILL). */
  kill(): void {
    if (this.exited === null) this.child.kill("SIGKILL");
  }

  private send(message: Record<string, unknown>): void {
    if (this.exited || !this.child.stdin || this.child.stdin.destroyed) return;
    this.child.stdin.write(JSON.stringify(message) + "\n");
  }

  private onLine(line: string): void {
    if (line.trim() === "") return;
    let message;
    try {
      message = parseWorkerLine(line);
    } catch (e) {
      this.kill();
      this.fail(e instanceof GacError ? e : new GacError("WORKER_FAILED", String(e)));
      return;
    }
    if (this.pending) this.armWatchdog();
    switch (message.type) {
      case "capability":
        if (!this.capabilityWaiter) return;
        if (message.ok) this.capabilityWaiter.resolve(message);
        else this.capabilityWaiter.reject(new GacError("NO_GPU", noGpuMessage(this.device, message.reason, message.message)));
        return;
      case "result":
      case "error":
        if (this.pending && message.id === this.pending.id) this.pending.resolve(message);
        else if (this.pending && message.type === "error" && message.id === null) this.pending.resolve({ ...message, id: this.pending.id });
        return;
      case "heartbeat":
      case "bye":
      case "unknown":
        return;
    }
  }

  private fail(error: GacError): void {
    if (!this.failure) this.failure = error;
    this.stopWatchdog();
    this.capabilityWaiter?.reject(this.failure);
    this.pending?.reject(this.failure);
  }

  private armWatchdog(): void {
    this.stopWatchdog();
    const id = this.pending?.id;
    this.watchdog = setTimeout(() => {
      const error = new GacError("WORKER_FAILED", `GPU worker for device ${this.device} sent nothing for ${this.heartbeatTimeoutMs / 1000} s while running job '${id}': killed${this.stderrSummary()}`);
      this.failure = error;
      this.kill();
      this.pending?.reject(error);
    }, this.heartbeatTimeoutMs);
  }

  private stopWatchdog(): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = null;
  }

  private stderrSummary(): string {
    const lines = this.stderrTail
      .trim()
      .split("\n")
      .filter((l) => l.trim() !== "");
    const last = lines[lines.length - 1];
    return last ? `; its stderr ends with: ${last.trim().slice(0, 300)}` : "";
  }
}

function cancelled(id: string, message: string): ErrorMessage {
  return { type: "error", id, error: { type: "cancelled", message } };
}

function noGpuMessage(device: number, reason: string, detail: string): string {
  const what = reason === "no_torch" ? "PyTorch is not installed for the worker's python3" : reason === "no_gpu" ? "no CUDA GPU is visible" : `the worker cannot measure (${reason})`;
  const index = reason === "no_torch" ? "" : ` (device ${device})`;
  return `cannot benchmark${index}: ${what}${detail ? ` (${detail.split("\n")[0]})` : ""}; run gac bench on a machine with an NVIDIA GPU and PyTorch`;
}
