/**
 * A minimal GGUF v3 writer for tests (ggml `docs/gguf.md`): header, string/u32/f32 metadata,
 * tensor infos, alignment padding, zeroed tensor data. Shapes are in GGUF order: ne[0] (the row
 * length, contiguous) first.
 */
import { writeFile } from "node:fs/promises";

export interface GgufTensorSpec {
  name: string;
  shape: number[];
  /** ggml type id: 0 F32, 1 F16, 12 Q4_K, ... */
  type: number;
  /** Data bytes of the tensor (zeros are written). */
  bytes: number;
}

export type GgufKv = { key: string; value: string } | { key: string; u32: number } | { key: string; f32: number };

const ALIGNMENT = 32;

function str(s: string): Buffer {
  const b = Buffer.from(s, "utf8");
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(b.length));
  return Buffer.concat([len, b]);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}

export function ggufBytes(kvs: GgufKv[], tensors: GgufTensorSpec[]): Buffer {
  const parts: Buffer[] = [Buffer.from("GGUF"), u32(3), u64(tensors.length), u64(kvs.length)];
  for (const kv of kvs) {
    parts.push(str(kv.key));
    if ("value" in kv) parts.push(u32(8), str(kv.value));
    else if ("u32" in kv) parts.push(u32(4), u32(kv.u32));
    else {
      const f = Buffer.alloc(4);
      f.writeFloatLE(kv.f32);
      parts.push(u32(6), f);
    }
  }
  let offset = 0;
  for (const t of tensors) {
    parts.push(str(t.name), u32(t.shape.length), ...t.shape.map(u64), u32(t.type), u64(offset));
    offset += Math.ceil(t.bytes / ALIGNMENT) * ALIGNMENT;
  }
  const head = Buffer.concat(parts);
  const pad = Buffer.alloc((ALIGNMENT - (head.length % ALIGNMENT)) % ALIGNMENT);
  return Buffer.concat([head, pad, Buffer.alloc(offset)]);
}

export async function writeGguf(path: string, kvs: GgufKv[], tensors: GgufTensorSpec[]): Promise<void> {
  await writeFile(path, ggufBytes(kvs, tensors));
}
