/**
 * Checkpoint directory -> what the reference forward needs: the ModelSpec and a TensorStore that
 * decodes tensors from any float dtype to float64 on demand.
 */
import { openCheckpoint } from "../checkpoint/open.js";
import { readTensorBytes } from "../checkpoint/safetensors-read.js";
import { decodeToFloat64 } from "../checkpoint/dtype-codec.js";
import type { Checkpoint } from "../checkpoint/types.js";
import { GacError } from "../errors.js";
import { loadModelSpec } from "../model/load-model-spec.js";
import type { ModelSpec } from "../model/types.js";
import type { LoadedModel } from "./forward.js";
import { TensorStore, modelTensorNames, type TensorReader } from "./tensor-store.js";

export interface ModelHandle {
  dir: string;
  spec: ModelSpec;
  /** Elements of every tensor in the checkpoint. */
  params: number;
  store: TensorStore;
}

function checkpointReader(ckpt: Checkpoint): TensorReader {
  return async (name) => {
    const entry = ckpt.tensors.get(name);
    if (entry === undefined) throw new GacError("UNKNOWN_LAYOUT", `tensor '${name}' is not in ${ckpt.dir}`);
    return decodeToFloat64(await readTensorBytes(entry), entry.dtype);
  };
}

function parameterCount(ckpt: Checkpoint): number {
  let n = 0;
  for (const t of ckpt.tensors.values()) n += t.shape.reduce((a, b) => a * b, 1);
  return n;
}

/** Headers and spec only; no tensor bytes are read yet. */
export async function openModel(dir: string): Promise<ModelHandle> {
  const ckpt = await openCheckpoint(dir);
  return { dir: ckpt.dir, spec: loadModelSpec(ckpt), params: parameterCount(ckpt), store: new TensorStore(checkpointReader(ckpt)) };
}

/** Every tensor the forward reads, decoded to float64 (8 bytes per parameter in memory). */
export async function loadModel(handle: ModelHandle): Promise<LoadedModel> {
  await handle.store.load(modelTensorNames(handle.spec));
  return { spec: handle.spec, weights: handle.store.weights };
}
