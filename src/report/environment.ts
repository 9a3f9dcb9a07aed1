/**
 * Environment lines: every caption says where its numbers were measured, because a staircase on an
 * A100 with FA2 is not the staircase on an H100 with cuDNN SDPA.
 */
import type { Environment } from "./types.js";

export function describeEnvironment(env: Environment): string {
  const parts = [env.gpu];
  if (env.computeCapability) parts.push(`sm ${env.computeCapability}`);
  parts.push(`driver ${env.driver ?? "?"}`, `torch ${env.torch ?? "?"}`);
  if (env.cuda) parts.push(`CUDA ${env.cuda}`);
  parts.push(`cuDNN ${env.cudnn ?? "?"}`, `commit ${env.commit ? env.commit.slice(0, 10) : "?"}`, `date ${env.date ? env.date.slice(0, 10) : "?"}`);
  return parts.join(", ");
}

/** "Measured on: A; B." for the environments a figure draws from (deduplicated). */
export function environmentSentence(envs: Environment[]): string {
  const lines = [...new Set(envs.map(describeEnvironment))];
  if (lines.length === 0) return "Environment: not recorded.";
  return `Measured on: ${lines.join("; ")}.`;
}
