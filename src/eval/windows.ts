/**
 * Which tokens a perplexity run feeds and scores. Window k starts at token k * stride and holds
 * `context` inputs; its targets are the next tokens (inputs shifted by one), so a window needs
 * context + 1 tokens and windows are taken while they fit. With stride = context (the default)
 * every window scores all its targets and no target is scored twice: the bundled model's training
 * log uses exactly this (windows of 257 bytes at 0, 256, 512, ...). With stride < context the
 * windows overlap and each one after the first scores only its last `stride` targets, the ones
 * the previous window did not (HF's sliding-window perplexity). A text shorter than one window is
 * one window of all its tokens. `maxTokens` stops after that many scored targets, shortening the
 * last window (a causal model's earlier targets do not depend on the later inputs).
 */
import { GacError, formatCount } from "../errors.js";

export interface EvalWindow {
  /** First input token. */
  start: number;
  /** Inputs fed: tokens [start, start + length); targets are [start + 1, start + length + 1). */
  length: number;
  /** Inputs [0, scoreFrom) of the window are context only; the targets after them are scored. */
  scoreFrom: number;
}

export interface WindowPlan {
  windows: EvalWindow[];
  /** Targets scored in all. */
  targets: number;
}

function positive(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 1) throw new GacError("BAD_ARGS", `--${name} must be a whole number >= 1, got ${v}`);
}

export function planWindows(tokens: number, context: number, stride: number, maxTokens?: number): WindowPlan {
  positive("context", context);
  positive("stride", stride);
  if (maxTokens !== undefined) positive("max-tokens", maxTokens);
  if (tokens < 2) throw new GacError("BAD_ARGS", `the text has ${tokens} token${tokens === 1 ? "" : "s"}; a perplexity needs at least 2 (one input, one target)`);
  const windows: EvalWindow[] = [];
  if (tokens < context + 1) {
    windows.push({ start: 0, length: tokens - 1, scoreFrom: 0 });
  } else {
    for (let start = 0; start + context + 1 <= tokens; start += stride) {
      windows.push({ start, length: context, scoreFrom: start === 0 ? 0 : Math.max(0, context - stride) });
    }
  }
  let targets = 0;
  const kept: EvalWindow[] = [];
  for (const w of windows) {
    const scored = w.length - w.scoreFrom;
    if (maxTokens !== undefined && targets + scored >= maxTokens) {
      const take = maxTokens - targets;
      kept.push({ ...w, length: w.scoreFrom + take });
      targets += take;
      break;
    }
    kept.push(w);
    targets += scored;
  }
  if (targets === 0) throw new GacError("BAD_ARGS", `no target is scored with ${formatCount(tokens)} tokens, --context ${context} and --stride ${stride}`);
  return { windows: kept, targets };
}
