/** Checkpoint -> ModelSpec: the tensor shapes of an opened checkpoint through buildModelSpec. */
import type { Checkpoint, Dtype } from "../checkpoint/types.js";
import { buildModelSpec } from "./build-model-spec.js";
import type { ModelSpec } from "./types.js";

export function loadModelSpec(ckpt: Checkpoint): ModelSpec {
  const shapes = new Map<string, { dtype: Dtype; shape: readonly number[] }>();
  for (const [name, t] of ckpt.tensors) shapes.set(name, { dtype: t.dtype, shape: t.shape });
  return buildModelSpec(ckpt.config, shapes);
}
