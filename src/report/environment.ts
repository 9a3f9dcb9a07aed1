/**
 * Environments: one block per run (E1, E2, ... in the Environment table of the report), and captions
 * that point at the blocks their numbers come from, because a staircase on an A100 with FA2 is not
 * the staircase on an H100 with cuDNN SDPA. A field the run did not record reads "not recorded".
 */
import type { Environment } from "./types.js";

export const NOT_RECORDED = "not recorded";

/** The environment fields in table order: label, value ("not recorded" when absent). */
export function environmentFields(env: Environment): [string, string][] {
  const or = (v: string | undefined) => (v && v.length > 0 ? v : NOT_RECORDED);
  return [
    ["GPU", env.gpu],
    ["Run", or(env.runId)],
    ["sm", or(env.computeCapability)],
    ["Driver", or(env.driver)],
    ["torch", or(env.torch)],
    ["CUDA", or(env.cuda)],
    ["cuDNN", or(env.cudnn)],
    ["Commit", env.commit ? env.commit.slice(0, 12) : NOT_RECORDED],
    ["Date", env.date ? env.date.slice(0, 10) : NOT_RECORDED],
  ];
}

/** "E2: NVIDIA H200, run ..., sm 9.0, driver ..., commit not recorded, date 2026-11-21" (one line). */
export function describeEnvironment(env: Environment): string {
  const fields = environmentFields(env)
    .slice(1)
    .map(([k, v]) => `${k === "Run" ? "run" : k === "Commit" ? "commit" : k === "Date" ? "date" : k === "Driver" ? "driver" : k} ${v}`);
  return `${env.ref ? `${env.ref}: ` : ""}${[env.gpu, ...fields].join(", ")}`;
}

/** "Environment: E1 (NVIDIA H200), E3 (NVIDIA A100-80GB (published)); see the Environment table." */
export function environmentSentence(envs: Environment[]): string {
  const seen = new Map<string, Environment>();
  for (const e of envs) seen.set(e.ref ?? `${e.runId ?? ""}\u0000${e.gpu}`, e);
  if (seen.size === 0) return "Environment: not recorded.";
  const refs = [...seen.values()].sort((a, b) => (a.ref ?? "").localeCompare(b.ref ?? "", undefined, { numeric: true }));
  const named = refs.map((e) => (e.ref ? `${e.ref} (${e.gpu})` : e.gpu));
  return `Environment${refs.length > 1 ? "s" : ""}: ${named.join(", ")}; see the Environment table.`;
}
