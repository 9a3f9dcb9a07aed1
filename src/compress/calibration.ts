/**
 * Calibration statistics for activation-aware compression: the float64 reference forward
 * (verify/forward.ts) runs on calibration text, byte-level tokens (token id = byte value, as the
 * byte-level models gac trains use), and every linear input is summarised per decoder layer:
 * the Gram matrix X^T X (SVD-LLM's whitening), the mean |x| per channel (ASVD's scaling), and the
 * mean and variance per channel (FLAP's fluctuation score and bias compensation).
 */
import { readFile } from "node:fs/promises";
import { GacError, formatCount } from "../errors.js";
import type { ActivationSite, LoadedModel } from "../verify/forward.js";
import { forwardLogits } from "../verify/forward.js";
import { matrix, type Matrix } from "./matrix.js";

export const ACTIVATION_SITES: readonly ActivationSite[] = ["attn_in", "o_in", "mlp_in", "down_in"];

export interface SiteStats {
  /** Rows (tokens) seen. */
  count: number;
  /** Sum over tokens of x x^T: [width, width], symmetric; null where the method needs none (it costs width^2 per token). */
  gram: Matrix | null;
  sum: Float64Array;
  sumAbs: Float64Array;
  sumSq: Float64Array;
}

export type LayerStats = Record<ActivationSite, SiteStats>;

export interface CalibrationOptions {
  /** Tokens per sequence (attention on the CPU is quadratic in it). Default 128. */
  seqLen?: number;
  /** Tokens used in all (the text is cut into sequences up to this many). Default 1024. */
  maxTokens?: number;
}

export const DEFAULT_CALIBRATION_SEQ_LEN = 128;
export const DEFAULT_CALIBRATION_TOKENS = 1024;

/** Byte-level sequences of `seqLen` tokens from `bytes` (the last partial one dropped unless it is the only one). */
export function byteSequences(bytes: Uint8Array, vocab: number, opts: CalibrationOptions = {}): number[][] {
  const seqLen = opts.seqLen ?? DEFAULT_CALIBRATION_SEQ_LEN;
  const maxTokens = opts.maxTokens ?? DEFAULT_CALIBRATION_TOKENS;
  if (vocab < 256) throw new GacError("UNSUPPORTED", `calibration text is tokenised as bytes (ids 0-255) but the model's vocabulary has ${vocab} entries`);
  const used = bytes.subarray(0, Math.min(bytes.length, maxTokens));
  if (used.length < 2) throw new GacError("BAD_ARGS", `calibration text has ${used.length} byte${used.length === 1 ? "" : "s"}: give at least a sentence`);
  const out: number[][] = [];
  for (let at = 0; at + seqLen <= used.length; at += seqLen) out.push(Array.from(used.subarray(at, at + seqLen)));
  if (out.length === 0) out.push(Array.from(used));
  return out;
}

export async function readCalibrationText(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    const why = e instanceof Error && "code" in e && e.code === "ENOENT" ? "no such file" : String(e);
    throw new GacError("MISSING_FILE", `cannot read calibration text '${path}': ${why}`);
  }
}

function emptyStats(width: number, withGram: boolean): SiteStats {
  return { count: 0, gram: withGram ? matrix(width, width) : null, sum: new Float64Array(width), sumAbs: new Float64Array(width), sumSq: new Float64Array(width) };
}

/** Adds rows of x [rows, width] to the statistics (upper triangle of the Gram, mirrored at the end). */
function accumulate(st: SiteStats, x: Float64Array, rows: number, width: number): void {
  const g = st.gram?.data;
  for (let r = 0; r < rows; r++) {
    const o = r * width;
    for (let i = 0; i < width; i++) {
      const xi = x[o + i];
      st.sum[i] += xi;
      st.sumAbs[i] += Math.abs(xi);
      st.sumSq[i] += xi * xi;
      if (xi === 0 || g === undefined) continue;
      const gi = i * width;
      for (let j = i; j < width; j++) g[gi + j] += xi * x[o + j];
    }
  }
  st.count += rows;
}

function mirror(st: SiteStats): void {
  if (st.gram === null) return;
  const n = st.gram.rows;
  const g = st.gram.data;
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) g[i * n + j] = g[j * n + i];
}

/** Runs the reference forward on each sequence and returns per-layer statistics of every linear input (Gram matrices at `gramSites`). */
export function collectActivationStats(model: LoadedModel, sequences: readonly number[][], gramSites: readonly ActivationSite[] = ACTIVATION_SITES): LayerStats[] {
  const gram = (site: ActivationSite) => gramSites.includes(site);
  const stats: LayerStats[] = model.spec.layers.map((l) => ({
    attn_in: emptyStats(model.spec.hiddenSize, gram("attn_in")),
    o_in: emptyStats(l.attn.o.in, gram("o_in")),
    mlp_in: emptyStats(model.spec.hiddenSize, gram("mlp_in")),
    down_in: emptyStats(l.mlp.intermediate, gram("down_in")),
  }));
  for (const seq of sequences) {
    forwardLogits(model, seq, { observe: (layer, site, x, rows, width) => accumulate(stats[layer][site], x, rows, width) });
  }
  for (const layer of stats) for (const site of ACTIVATION_SITES) mirror(layer[site]);
  return stats;
}

/** A one-line account of what was run, for the compress report. */
export function calibrationSummary(sequences: readonly number[][], path: string): string {
  const tokens = sequences.reduce((s, q) => s + q.length, 0);
  return `${formatCount(tokens)} byte tokens of '${path}' in ${sequences.length} sequence${sequences.length === 1 ? "" : "s"} of ${sequences[0].length}`;
}
