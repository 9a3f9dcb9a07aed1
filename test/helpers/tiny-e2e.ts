/**
 * Shared fixtures of the whole-model prediction tests: the tiny aligned Llama's ModelSpec and a
 * profile series builder (one op and shape, medians given per dim), so a crafted profile is
 * written the same way in every test.
 */
import { fixtureSpec } from "../../src/fixtures/kinds.js";
import { buildModelSpec } from "../../src/model/build-model-spec.js";
import { PROFILE_SCHEMA, type GpuProfile, type ProfileSeries } from "../../src/profile/types.js";

/** The tiny Llama of a fixture kind: hidden 256, 2 layers, 4 / 2 heads of 64, intermediate 512, vocab 512. */
export function tinySpec(kind: "llama-aligned" | "llama-direct-svd" = "llama-aligned") {
  const f = fixtureSpec(kind);
  return buildModelSpec(f.config, new Map(f.tensors.map((t) => [t.name, { dtype: "F16" as const, shape: t.shape }])));
}

/** One fp16 profile series of `op` at `shape`, with a median per dim from `ms`. */
export function profileSeries(op: ProfileSeries["op"], shape: Record<string, number>, dims: readonly number[], ms: (d: number) => number, extra: Partial<ProfileSeries> = {}): ProfileSeries {
  return {
    op,
    key: `${op}/${JSON.stringify(shape)}`,
    dtype: "fp16",
    shape,
    experiments: ["test"],
    points: dims.map((dim) => ({ dim, median_ms: ms(dim) })),
    ...extra,
  };
}

/** A measured profile of `series` for a named GPU. */
export function tinyProfile(gpu: GpuProfile["gpu"], created: string, series: ProfileSeries[]): GpuProfile {
  return { schema: PROFILE_SCHEMA, gpu, env: {}, source: "measured", source_runs: [], created, series };
}
