/**
 * Eight 4-bit values per int32, in the two orders checkpoints use (values 0..15, nibble b at bits
 * 4b..4b+3, little-endian int32):
 *   GPTQ  sequential: nibble b holds element 8i + b (AutoGPTQ/GPTQModel pack, vLLM gptq kernels).
 *   AWQ   interleaved: nibble b holds element 8i + [0, 2, 4, 6, 1, 3, 5, 7][b]
 *         (AutoAWQ WQLinear_GEMM pack order_map; vLLM awq_triton AWQ_REVERSE_ORDER undoes it).
 * GPTQ's qweight packs along K (rows of [K/8, N]); its qzeros and both AWQ tensors pack along N.
 */
export type Int4Order = "gptq" | "awq";

export const AWQ_ORDER: readonly number[] = [0, 2, 4, 6, 1, 3, 5, 7];
const SEQUENTIAL: readonly number[] = [0, 1, 2, 3, 4, 5, 6, 7];

const orderOf = (o: Int4Order) => (o === "awq" ? AWQ_ORDER : SEQUENTIAL);

/** Eight values (0..15) -> one int32 (as a signed 32-bit number, how safetensors I32 holds it). */
export function packInt4x8(values: ArrayLike<number>, order: Int4Order): number {
  const ord = orderOf(order);
  let word = 0;
  for (let b = 0; b < 8; b++) {
    const v = values[ord[b]];
    if (!Number.isInteger(v) || v < 0 || v > 15) throw new RangeError(`int4 value ${v} is outside 0..15`);
    word |= v << (4 * b);
  }
  return word | 0;
}

/** One int32 -> its eight values (0..15), element order. */
export function unpackInt4x8(word: number, order: Int4Order, out: number[] = new Array<number>(8)): number[] {
  const ord = orderOf(order);
  for (let b = 0; b < 8; b++) out[ord[b]] = (word >>> (4 * b)) & 0xf;
  return out;
}

/** Little-endian int32 view of stored I32 bytes. */
export function int32s(bytes: Uint8Array): Int32Array {
  if (bytes.byteLength % 4 !== 0) throw new RangeError(`${bytes.byteLength} bytes is not a whole number of int32`);
  const copy = new Uint8Array(bytes); // aligned copy (a Buffer slice may start at any offset)
  return new Int32Array(copy.buffer, 0, copy.byteLength / 4);
}

export function int32Bytes(words: Int32Array): Uint8Array {
  return new Uint8Array(words.buffer.slice(words.byteOffset, words.byteOffset + words.byteLength));
}
