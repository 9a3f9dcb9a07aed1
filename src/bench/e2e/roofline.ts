/**
 * Decode against the memory roofline: a decode step must read every weight it multiplies by and
 * the whole KV cache of every sequence once, so its time is at least those bytes over the GPU's
 * copy bandwidth (measured by the worker once per session: a device-to-device copy, read + write
 * bytes over time).
 *
 *   bytes per step = weight bytes read + batch x kv_len x kv_bytes_per_token
 *   roofline ms    = bytes / (copy bandwidth GB/s x 1e9) x 1e3
 *   fraction       = roofline ms / measured ms   (1 = at the roofline)
 *
 * Weight bytes read leave out an untied input embedding table: a step gathers `batch` rows of it,
 * not the table (Llama-3-8B: 1.05 GB of its 16.1 GB). A tied table is read whole by lm_head.
 */
import { DTYPES } from "../../checkpoint/types.js";
import type { ModelSpec } from "../../model/types.js";

export interface Roofline {
  bytes: number;
  ms: number;
  fraction: number;
}

/** The bytes of weights one decode step reads: all weights but an untied embedding table. */
export function weightBytesReadPerStep(weightBytes: number, spec: Pick<ModelSpec, "tieWordEmbeddings" | "vocabSize" | "hiddenSize" | "dtype">): number {
  if (spec.tieWordEmbeddings) return weightBytes;
  return weightBytes - spec.vocabSize * spec.hiddenSize * DTYPES[spec.dtype].bytes;
}

export function decodeStepBytes(weightBytesRead: number, batch: number, kvLen: number, kvBytesPerToken: number): number {
  return weightBytesRead + batch * kvLen * kvBytesPerToken;
}

export function rooflineMs(bytes: number, copyBandwidthGbps: number): number {
  return (bytes / (copyBandwidthGbps * 1e9)) * 1e3;
}

export function roofline(bytes: number, copyBandwidthGbps: number, measuredMs: number): Roofline {
  const ms = rooflineMs(bytes, copyBandwidthGbps);
  return { bytes, ms, fraction: ms / measuredMs };
}

/** Tokens per second of a point: prefill batch x seq per median, decode batch per median step. */
export function tokensPerSecond(phase: "prefill" | "decode", batch: number, length: number, medianMs: number): number {
  return ((phase === "prefill" ? batch * length : batch) / medianMs) * 1e3;
}
