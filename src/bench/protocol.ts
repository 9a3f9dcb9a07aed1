/**
 * The worker's JSON-lines protocol (docs/worker-protocol.md) as types, and the one function that
 * turns a line from the worker's stdout into a checked message. Every field is distrusted: a
 * message that lacks what its type promises is a protocol violation, reported with the line.
 */
import { GacError } from "../errors.js";

export type SdpaBackend = "AUTO" | "FLASH" | "EFFICIENT" | "CUDNN" | "MATH";
export type BenchDtype = "fp16" | "bf16";

/** The body of a job (everything but `type` and `id`, which the client adds). */
export interface WorkerJobBody {
  op: "sdpa" | "sdpa_hetero" | "gemm" | "linear" | "e2e" | "e2e_logits";
  params: Record<string, JsonValue>;
  /** Overrides of the worker's measurement method (e.g. fewer samples for an acceptance probe). */
  method?: Record<string, JsonValue>;
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface GpuInfo {
  name: string;
  index: number;
  sm_count?: number;
  l2_bytes?: number;
  memory_bytes?: number;
  compute_capability?: string;
  sm_clock_max_mhz?: number;
}

export interface CapabilityOk {
  type: "capability";
  ok: true;
  gpu: GpuInfo;
  driver?: string;
  torch?: string;
  cuda?: string;
  cudnn?: string | number;
  python?: string;
  triton?: string;
  /** transformers' version from its package metadata (null when it is not installed). */
  transformers?: string | null;
  sdpa_backends?: Record<string, boolean>;
  [extra: string]: unknown;
}

export interface CapabilityRefused {
  type: "capability";
  ok: false;
  reason: string;
  message: string;
}

export interface Stats {
  median_ms: number;
  p10_ms: number;
  p90_ms: number;
  mean_ms?: number;
  n: number;
  rel_ci?: number;
}

export interface ResultMessage {
  type: "result";
  id: string;
  stats: Stats;
  samples_ms?: number[];
  dropped_throttled?: number;
  sm_clock_mhz?: Record<string, unknown>;
  kernels?: string[];
  extra?: Record<string, unknown>;
  /** Why sampling stopped (noise target met, time cap...), the method used, and notes. */
  stop_reason?: string;
  method?: Record<string, unknown>;
  warnings?: string[];
}

/** Ops whose result is one JSON body under the op's own key instead of `stats` (docs/e2e-protocol.md). */
export const BODY_OPS = ["e2e", "e2e_logits"] as const;
export type BodyOp = (typeof BODY_OPS)[number];

/** A whole-model result: `{"type":"result","id":..,"op":"e2e","e2e":{...},"wall_s":..}`; the body is checked by its reader (src/bench/e2e/result-body.ts). */
export interface BodyResultMessage {
  type: "result";
  id: string;
  op: BodyOp;
  body: Record<string, unknown>;
  wall_s?: number;
}

export type WorkerErrorType = "backend_refused" | "oom" | "bad_job" | "cancelled" | "internal";

export interface ErrorMessage {
  type: "error";
  id: string | null;
  error: { type: WorkerErrorType | string; message: string; warnings?: string[] };
}

export interface HeartbeatMessage {
  type: "heartbeat";
  t: number;
  job: string | null;
}

export interface ByeMessage {
  type: "bye";
}

export type WorkerMessage = CapabilityOk | CapabilityRefused | ResultMessage | BodyResultMessage | ErrorMessage | HeartbeatMessage | ByeMessage;

/** A message type this client does not know: ignored, so that a newer worker can add messages. */
export interface UnknownMessage {
  type: "unknown";
  raw: Record<string, unknown>;
}

/** Longest stdout line quoted back in an error message. */
const MAX_QUOTED = 200;

function quote(line: string): string {
  return line.length > MAX_QUOTED ? `${line.slice(0, MAX_QUOTED)}...` : line;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isFiniteNumber(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v);
}

function violation(what: string, line: string): GacError {
  return new GacError("WORKER_FAILED", `worker broke the protocol (${what}): ${quote(line)}`);
}

function parseStats(v: unknown, line: string): Stats {
  if (!isRecord(v)) throw violation("result without stats", line);
  for (const key of ["median_ms", "p10_ms", "p90_ms", "n"] as const) {
    if (!isFiniteNumber(v[key])) throw violation(`stats.${key} is not a number`, line);
  }
  const stats: Stats = { median_ms: Number(v.median_ms), p10_ms: Number(v.p10_ms), p90_ms: Number(v.p90_ms), n: Number(v.n) };
  if (isFiniteNumber(v.mean_ms)) stats.mean_ms = v.mean_ms;
  if (isFiniteNumber(v.rel_ci)) stats.rel_ci = v.rel_ci;
  return stats;
}

/** One stdout line -> a checked message. Throws GacError WORKER_FAILED on a line that is not protocol. */
export function parseWorkerLine(line: string): WorkerMessage | UnknownMessage {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    throw violation("a line that is not JSON", line);
  }
  if (!isRecord(raw) || typeof raw.type !== "string") throw violation("no message type", line);
  switch (raw.type) {
    case "capability": {
      if (raw.ok === true) {
        if (!isRecord(raw.gpu) || typeof raw.gpu.name !== "string") throw violation("capability without gpu.name", line);
        return { ...raw, type: "capability", ok: true, gpu: { ...raw.gpu, name: raw.gpu.name, index: isFiniteNumber(raw.gpu.index) ? raw.gpu.index : 0 } };
      }
      return { type: "capability", ok: false, reason: String(raw.reason ?? "unknown"), message: String(raw.message ?? "") };
    }
    case "result": {
      if (typeof raw.id !== "string") throw violation("result without id", line);
      const bodyOp = BODY_OPS.find((op) => op === raw.op);
      if (bodyOp !== undefined) {
        const body = raw[bodyOp];
        if (!isRecord(body)) throw violation(`${bodyOp} result without its '${bodyOp}' object`, line);
        return { type: "result", id: raw.id, op: bodyOp, body, ...(isFiniteNumber(raw.wall_s) ? { wall_s: raw.wall_s } : {}) };
      }
      const msg: ResultMessage = { type: "result", id: raw.id, stats: parseStats(raw.stats, line) };
      if (Array.isArray(raw.samples_ms)) msg.samples_ms = raw.samples_ms.filter(isFiniteNumber);
      if (isFiniteNumber(raw.dropped_throttled)) msg.dropped_throttled = raw.dropped_throttled;
      if (isRecord(raw.sm_clock_mhz)) msg.sm_clock_mhz = raw.sm_clock_mhz;
      if (Array.isArray(raw.kernels)) msg.kernels = raw.kernels.map(String);
      if (isRecord(raw.extra)) msg.extra = raw.extra;
      if (typeof raw.stop_reason === "string") msg.stop_reason = raw.stop_reason;
      if (isRecord(raw.method)) msg.method = raw.method;
      if (Array.isArray(raw.warnings)) msg.warnings = raw.warnings.map(String);
      return msg;
    }
    case "error": {
      if (!isRecord(raw.error) || typeof raw.error.type !== "string") throw violation("error without error.type", line);
      return {
        type: "error",
        id: typeof raw.id === "string" ? raw.id : null,
        error: {
          type: raw.error.type,
          message: String(raw.error.message ?? ""),
          // PyTorch says why a backend refused in warnings (sdp_utils.cpp); keep them beside the message.
          ...(Array.isArray(raw.error.warnings) ? { warnings: raw.error.warnings.map(String) } : {}),
        },
      };
    }
    case "heartbeat":
      return { type: "heartbeat", t: isFiniteNumber(raw.t) ? raw.t : 0, job: typeof raw.job === "string" ? raw.job : null };
    case "bye":
      return { type: "bye" };
    default:
      return { type: "unknown", raw };
  }
}
