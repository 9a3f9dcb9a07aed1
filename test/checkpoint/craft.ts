/** Helpers that craft raw safetensors bytes (valid or hostile) in a temp dir. */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { scratchDir } from "../helpers/scratch.js";

/** A temp dir removed when the test process exits. */
export async function tempDir(prefix = "gac-ckpt-"): Promise<string> {
  return scratchDir(prefix);
}

/** 8-byte length + header text + data; `declaredLength` overrides the length prefix. */
export function rawSafetensors(header: unknown, data: Uint8Array | number = 0, declaredLength?: bigint): Uint8Array {
  const text = typeof header === "string" ? header : JSON.stringify(header);
  const json = new TextEncoder().encode(text);
  const body = typeof data === "number" ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + json.byteLength + body.byteLength);
  new DataView(out.buffer).setBigUint64(0, declaredLength ?? BigInt(json.byteLength), true);
  out.set(json, 8);
  out.set(body, 8 + json.byteLength);
  return out;
}

export async function writeRaw(dir: string, name: string, bytes: Uint8Array | string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

export const CONFIG = { model_type: "llama", hidden_size: 4 };
