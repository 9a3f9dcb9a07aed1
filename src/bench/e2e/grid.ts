/**
 * The grid of a `gac bench e2e` run: which (batch, sequence) prefills and (batch, context) decodes
 * each model is timed at, how many repeats, and the size of the logits check. Presets are data;
 * `--prefill 1x2048,4x2048 --decode 1x4096,32x4096` replaces a preset's lists.
 *
 * Time per job (one model in one engine configuration, H200, Llama-8B size): model build ~2-5 s,
 * each prefill point repeats+warmup forwards (~15 ms at 1x2048, ~0.43 s at 1x32768), each decode
 * point one untimed prefill of its context plus warmup+steps steps (7-90 ms each in stock
 * transformers, ~2-6 ms CUDA-graphed). research/end_to_end.md has the measured numbers.
 */
import { GacError } from "../../errors.js";
import type { DecodePoint, E2ePhase, PrefillPoint } from "./wire.js";

export interface E2eGrid {
  name: string;
  prefill: PrefillPoint[];
  decode: DecodePoint[];
  prefillRepeats: number;
  decodeSteps: number;
  warmup: number;
  /** The e2e_logits comparison: batch x seq random tokens, logits at every position. */
  logits: { batch: number; seq: number };
}

export const GRID_NAMES = ["quick", "default", "long"] as const;
export type GridName = (typeof GRID_NAMES)[number];

export const GRID_PRESETS: Record<GridName, E2eGrid> = {
  /** A smoke test of the whole pipeline: one short point per phase. */
  quick: { name: "quick", prefill: [{ batch: 1, seq: 128 }], decode: [{ batch: 1, context: 256 }], prefillRepeats: 3, decodeSteps: 4, warmup: 1, logits: { batch: 1, seq: 64 } },
  /** The research note's points: prefill 1x2048 and 4x2048, decode B1 and B32 after 4096 tokens. */
  default: {
    name: "default",
    prefill: [
      { batch: 1, seq: 2048 },
      { batch: 4, seq: 2048 },
    ],
    decode: [
      { batch: 1, context: 4096 },
      { batch: 32, context: 4096 },
    ],
    prefillRepeats: 10,
    decodeSteps: 16,
    warmup: 2,
    logits: { batch: 1, seq: 512 },
  },
  /** Long sequences where attention dominates prefill (up to 32k where memory allows). */
  long: {
    name: "long",
    prefill: [
      { batch: 1, seq: 2048 },
      { batch: 4, seq: 2048 },
      { batch: 1, seq: 8192 },
      { batch: 1, seq: 16384 },
      { batch: 1, seq: 32768 },
    ],
    decode: [
      { batch: 1, context: 4096 },
      { batch: 32, context: 4096 },
      { batch: 1, context: 16384 },
    ],
    prefillRepeats: 10,
    decodeSteps: 16,
    warmup: 2,
    logits: { batch: 1, seq: 512 },
  },
};

/** A batch, sequence or context above this is a typo, not a run (Llama-3's 128k context x 64). */
const MAX_TOKENS_PER_POINT = 8 * 1024 * 1024;

/** "1x2048,4x2048" -> [[1, 2048], [4, 2048]]; GacError BAD_ARGS naming the flag and the bad item. */
export function parsePairs(text: string, flag: string): [number, number][] {
  const items = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (items.length === 0) throw new GacError("BAD_ARGS", `${flag} is empty; give BATCHxLENGTH pairs like 1x2048,4x2048`);
  return items.map((item) => {
    const m = /^(\d+)x(\d+)$/i.exec(item);
    const batch = m ? Number(m[1]) : NaN;
    const length = m ? Number(m[2]) : NaN;
    if (!m || batch < 1 || length < 1 || batch * length > MAX_TOKENS_PER_POINT) {
      throw new GacError("BAD_ARGS", `${flag}: '${item}' is not BATCHxLENGTH with both positive (and at most ${MAX_TOKENS_PER_POINT} tokens); e.g. 1x2048`);
    }
    return [batch, length];
  });
}

export interface GridOptions {
  grid?: string;
  prefill?: string;
  decode?: string;
}

/** The preset (default: default) with --prefill / --decode lists replacing its own. */
export function resolveGrid(opts: GridOptions = {}): E2eGrid {
  const name = opts.grid ?? "default";
  const preset = GRID_NAMES.find((g) => g === name);
  if (!preset) throw new GacError("BAD_ARGS", `--grid takes ${GRID_NAMES.join(", ")}, got '${name}'`);
  const grid = structuredClone(GRID_PRESETS[preset]);
  if (opts.prefill !== undefined) grid.prefill = parsePairs(opts.prefill, "--prefill").map(([batch, seq]) => ({ batch, seq }));
  if (opts.decode !== undefined) grid.decode = parsePairs(opts.decode, "--decode").map(([batch, context]) => ({ batch, context }));
  if (opts.prefill !== undefined || opts.decode !== undefined) grid.name = `${preset}+custom`;
  return grid;
}

/** "prefill/b1/s2048", "decode/b32/c4096": a grid point's part of a row id. */
export function pointKey(phase: E2ePhase, batch: number, length: number): string {
  return phase === "prefill" ? `prefill/b${batch}/s${length}` : `decode/b${batch}/c${length}`;
}

/** Every point of a grid with its key, prefill first. */
export function gridPoints(grid: Pick<E2eGrid, "prefill" | "decode">): { phase: E2ePhase; batch: number; length: number; key: string }[] {
  return [
    ...grid.prefill.map((p) => ({ phase: "prefill" as const, batch: p.batch, length: p.seq, key: pointKey("prefill", p.batch, p.seq) })),
    ...grid.decode.map((p) => ({ phase: "decode" as const, batch: p.batch, length: p.context, key: pointKey("decode", p.batch, p.context) })),
  ];
}

/**
 * The mean KV length a timed decode step attends to: after a prefill of `context` tokens, step i
 * (warm-up steps first, 0-based) appends token context+i and attends to context+i+1 keys.
 */
export function meanDecodeKvLen(context: number, warmup: number, steps: number): number {
  return context + warmup + (steps + 1) / 2;
}
