/**
 * One quantized weight padded in memory, by the same stored-tensor edits the streaming repair
 * applies (quantized-edits.ts, repair/stream-shard.ts transformBlock), each tensor as a single
 * block: for tests and for callers that hold a weight's bytes already. A quantized weight [N, K]
 * and a PadLayout per axis -> the stored tensors of the padded weight [N', K'].
 */
import { DTYPES } from "../checkpoint/types.js";
import { keepLayout, type PadLayout } from "../repair/rules/layout.js";
import { transformBlock } from "../repair/stream-shard.js";
import type { TensorEdit } from "../repair/tensor-edits.js";
import type { StoredTensors } from "./dequantize.js";
import type { QuantScheme } from "./quant-config.js";
import { quantizedStoredEdits } from "./quantized-edits.js";
import { storedName, type QuantizedWeight } from "./quantized-layout.js";
import type { QuantizedTensor } from "./reference-quantizer.js";

export interface PaddedQuantizedWeight {
  weight: QuantizedWeight;
  /** By role; a tensor no edit touches keeps its bytes and stored shape. */
  tensors: Record<string, QuantizedTensor>;
  edits: TensorEdit[];
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

export async function padQuantizedWeight(scheme: QuantScheme, w: QuantizedWeight, stored: StoredTensors, rows: PadLayout, cols: PadLayout, scale?: number): Promise<PaddedQuantizedWeight> {
  const roleOf = new Map(Object.keys(stored).map((role) => [storedName(scheme, w.base, role), role]));
  const get = (tensor: string) => {
    const role = roleOf.get(tensor);
    if (role === undefined) throw new Error(`pad ${w.base}: no bytes for ${tensor}`);
    return stored[role];
  };
  const lookup = (tensor: string) => ({ dtype: get(tensor).dtype, shape: get(tensor).shape ?? [] });
  const read = async (tensor: string, firstRow: number, n: number) => {
    const t = get(tensor);
    const rowBytes = (t.shape ?? []).slice(1).reduce((a, b) => a * b, 1) * DTYPES[t.dtype].bytes;
    return t.bytes.slice(firstRow * rowBytes, (firstRow + n) * rowBytes);
  };
  const logical: TensorEdit = {
    tensor: `${w.base}.weight`,
    dtype: "F32",
    from: [w.n, w.k],
    to: [rows.to, cols.to],
    ...(rows.from !== rows.to ? { rows } : {}),
    ...(cols.from !== cols.to ? { cols } : {}),
    ...(scale !== undefined ? { scale } : {}),
    reasons: ["padQuantizedWeight"],
  };
  const edits = await quantizedStoredEdits(scheme, w, logical, lookup, read);
  const tensors: Record<string, QuantizedTensor> = {};
  for (const [role, t] of Object.entries(stored)) tensors[role] = { dtype: t.dtype, shape: [...(t.shape ?? [])], bytes: t.bytes };
  for (const e of edits) {
    const role = roleOf.get(e.tensor)!;
    tensors[role] = { dtype: e.dtype, shape: e.to, bytes: concat(transformBlock(stored[role].bytes, 0, e, e.dtype)) };
  }
  const whole = (scheme.method === "gptq" || scheme.method === "awq" || scheme.method === "pack-quantized") && scheme.groupSize === -1;
  return { weight: { ...w, n: rows.to, k: cols.to, ...(whole ? { groupK: cols.to } : {}) }, tensors, edits };
}

export { keepLayout };
