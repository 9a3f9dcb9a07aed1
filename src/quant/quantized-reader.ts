/**
 * A TensorReader for a quantized checkpoint: a logical weight name (`<base>.weight` of
 * spec.quantization) reads its stored tensors and dequantizes them to float64 [N, K]; every other
 * name reads as stored. This is how verify runs "dequantize, then forward".
 */
import { readTensorBytes } from "../checkpoint/safetensors-read.js";
import type { Checkpoint } from "../checkpoint/types.js";
import { GacError } from "../errors.js";
import type { ModelSpec } from "../model/types.js";
import type { TensorReader } from "../verify/tensor-store.js";
import { dequantizeWeight, type StoredTensors } from "./dequantize.js";

export function dequantizingReader(ckpt: Checkpoint, spec: ModelSpec, stored: TensorReader): TensorReader {
  const q = spec.quantization;
  if (q === undefined) return stored;
  return async (name) => {
    const w = q.weights.get(name);
    if (w === undefined) return stored(name);
    const tensors: StoredTensors = {};
    for (const [role, tensor] of Object.entries(w.tensors)) {
      const entry = ckpt.tensors.get(tensor);
      if (entry === undefined) throw new GacError("UNKNOWN_LAYOUT", `tensor '${tensor}' is not in ${ckpt.dir}`);
      tensors[role] = { dtype: entry.dtype, bytes: await readTensorBytes(entry), shape: entry.shape };
    }
    return dequantizeWeight(q.scheme, w, tensors);
  };
}
