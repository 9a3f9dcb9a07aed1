/**
 * judgeCall: walk a runtime's backends for one kernel call, in the runtime's priority order, and
 * say what runs. The walk is the same for attention and GEMMs; the rules are data (rules/*.ts).
 *
 * A call is fast when the first backend that takes it has no extra pass and no backend before it
 * stepped aside because of a dim's alignment; slow when it pays a padding pass, a lesser kernel,
 * or an alignment fallback; refused when no backend takes it.
 */
import { GacError } from "../errors.js";
import type { AttentionCall, GemmCall, KernelCall } from "../graph/types.js";
import type { Backend, GpuId, Rejection, RuntimeId, RuntimeRule, Verdict } from "./types.js";
import { RUNTIMES } from "./runtimes.js";

interface JudgeOptions {
  /** Force one attention backend by name (vLLM's VLLM_ATTENTION_BACKEND, PyTorch's sdpa_kernel context); GEMMs ignore it. */
  backend?: string;
}

interface Skipped {
  name: string;
  source: string;
  rejection: Rejection;
}

/** "cuDNN and mem-efficient refuse (head_dim 107 is not a multiple of 8)". */
function describeSkips(skips: Skipped[]): string {
  const names = skips.map((s) => s.name);
  const who = names.length === 1 ? `${names[0]} refuses` : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]} refuse`;
  const reasons = [...new Set(skips.map((s) => s.rejection.reason))];
  return `${who} (${reasons.join("; ")})`;
}

function walk<C extends KernelCall>(backends: readonly Backend<C>[], call: C, gpu: GpuId, rule: RuntimeRule, forced: boolean): Verdict {
  const skipped: Skipped[] = [];
  for (const backend of backends) {
    const rejection = backend.accepts(call, gpu);
    if (rejection) {
      skipped.push({ name: backend.name, source: backend.source, rejection });
      continue;
    }
    const cost = backend.cost(call, gpu);
    // An earlier backend stepping aside for alignment makes the call slow; later ones that would
    // refuse too are named as well, because they say what an aligned size would buy.
    const slow = cost.verdict === "slow" || skipped.some((s) => s.rejection.misaligned);
    if (!slow) return { verdict: "fast", kernel: cost.kernel, reason: cost.reason, source: backend.source };
    const later = backends.slice(backends.indexOf(backend) + 1).flatMap((b): Skipped[] => {
      const r = b.accepts(call, gpu);
      return r ? [{ name: b.name, source: b.source, rejection: r }] : [];
    });
    const alignmentSkips = [...skipped, ...later].filter((s) => s.rejection.misaligned);
    return {
      verdict: "slow",
      kernel: cost.kernel,
      reason: [alignmentSkips.length > 0 ? describeSkips(alignmentSkips) : "", cost.reason].filter((p) => p !== "").join("; "),
      source: [...alignmentSkips.map((s) => s.source), backend.source].join("; "),
    };
  }
  const reasons = skipped.map((s) => `${s.name}: ${s.rejection.reason}`).join("; ");
  if (call.kind === "attention") {
    const forcedError = forced ? rule.forcedBackendError : undefined;
    const only = skipped[0];
    if (forcedError && only) {
      return { verdict: "refused", kernel: "none", reason: forcedError.message(only.name, only.rejection.reason), source: forcedError.source };
    }
    const none = rule.noAttentionBackend;
    return { verdict: "refused", kernel: none.kernel, reason: `no backend takes it (${reasons}): ${none.consequence}`, source: [...skipped.map((s) => s.source), none.source].join("; ") };
  }
  return { verdict: "refused", kernel: "none", reason: `no GEMM backend takes it (${reasons})`, source: skipped.map((s) => s.source).join("; ") };
}

function pick<C>(backends: readonly Backend<C>[], name: string | undefined, runtime: RuntimeId): readonly Backend<C>[] {
  if (name === undefined) return backends;
  const key = name.toLowerCase();
  const chosen = backends.filter((b) => [b.name, ...(b.aliases ?? [])].some((n) => n.toLowerCase() === key));
  if (chosen.length === 0) {
    throw new GacError("UNSUPPORTED", `backend '${name}' is not one ${runtime} tries for this call; it tries: ${backends.map((b) => b.name).join(", ")}`);
  }
  return chosen;
}

export function judgeCall(call: KernelCall, runtime: RuntimeId, gpu: GpuId, opts: JudgeOptions = {}): Verdict {
  const rule = RUNTIMES[runtime];
  const forced = opts.backend !== undefined;
  if (call.kind === "attention") {
    return walk<AttentionCall>(pick(rule.attentionBackends(call, gpu), opts.backend, runtime), call, gpu, rule, forced);
  }
  return walk<GemmCall>(rule.gemmBackends(call, gpu), call, gpu, rule, false);
}
