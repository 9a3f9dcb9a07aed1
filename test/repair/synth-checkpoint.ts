/**
 * A large SVD-LLM-shaped checkpoint (every projection as *_v_proj [r, in] then *_u_proj [out, r],
 * irregular ranks) written by streaming, with real non-sparse bytes: F16 values from a xorshift
 * generator with the top exponent bit cleared (finite, |x| < 2, no NaN). For the crash-safety test
 * and bench/repair-throughput.ts; fixtures/ makes the small, seeded-normal ones.
 */
import { writeCheckpoint, type WritableTensor } from "../../src/checkpoint/safetensors-write.js";
import { publishDirectoryAtomically } from "../../src/util/atomic.js";

export interface SynthOptions {
  hidden: number;
  heads: number;
  intermediate: number;
  rankAttn: number;
  rankMlp: number;
  layers: number;
  vocab: number;
  maxShardBytes?: number;
  seed?: number;
}

/** Llama-2-7B at SVD-LLM 20% (compressed_formats.md §2): ranks 1638 and 2388, ~0.33 GB of F16 per layer. */
export const LLAMA2_7B_SVDLLM: Omit<SynthOptions, "layers"> = { hidden: 4096, heads: 32, intermediate: 11008, rankAttn: 1638, rankMlp: 2388, vocab: 32000 };

const CHUNK_ELEMENTS = 2 * 1024 * 1024;

function randomF16(count: number, seed: number): () => AsyncIterable<Uint8Array> {
  return async function* () {
    let x = seed >>> 0 || 0x9e3779b9;
    for (let done = 0; done < count; ) {
      const n = Math.min(CHUNK_ELEMENTS, count - done);
      const words = new Uint32Array(Math.ceil(n / 2));
      for (let i = 0; i < words.length; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        words[i] = (x & 0xbfffbfff) >>> 0;
      }
      done += n;
      yield new Uint8Array(words.buffer, 0, n * 2);
    }
  };
}

export function synthTensors(o: SynthOptions): WritableTensor[] {
  const tensors: WritableTensor[] = [];
  let seed = o.seed ?? 1;
  const add = (name: string, shape: number[]) =>
    tensors.push({
      name,
      dtype: "F16",
      shape,
      data: randomF16(
        shape.reduce((a, b) => a * b, 1),
        seed++,
      ),
    });
  const H = o.hidden;
  add("model.embed_tokens.weight", [o.vocab, H]);
  for (let i = 0; i < o.layers; i++) {
    const p = `model.layers.${i}`;
    add(`${p}.input_layernorm.weight`, [H]);
    for (const proj of ["q", "k", "v", "o"]) {
      add(`${p}.self_attn.${proj}_v_proj.weight`, [o.rankAttn, H]);
      add(`${p}.self_attn.${proj}_u_proj.weight`, [H, o.rankAttn]);
    }
    add(`${p}.post_attention_layernorm.weight`, [H]);
    for (const proj of ["gate", "up"]) {
      add(`${p}.mlp.${proj}_v_proj.weight`, [o.rankMlp, H]);
      add(`${p}.mlp.${proj}_u_proj.weight`, [o.intermediate, o.rankMlp]);
    }
    add(`${p}.mlp.down_v_proj.weight`, [o.rankMlp, o.intermediate]);
    add(`${p}.mlp.down_u_proj.weight`, [H, o.rankMlp]);
  }
  add("model.norm.weight", [H]);
  add("lm_head.weight", [o.vocab, H]);
  return tensors;
}

export function synthConfig(o: SynthOptions): Record<string, unknown> {
  return {
    model_type: "llama",
    architectures: ["LlamaForCausalLM"],
    hidden_size: o.hidden,
    num_attention_heads: o.heads,
    num_key_value_heads: o.heads,
    intermediate_size: o.intermediate,
    num_hidden_layers: o.layers,
    vocab_size: o.vocab,
    rope_theta: 10000,
    rms_norm_eps: 1e-5,
    torch_dtype: "float16",
  };
}

export async function writeSynthCheckpoint(dir: string, o: SynthOptions): Promise<void> {
  await publishDirectoryAtomically(dir, (tmp) => writeCheckpoint(tmp, { config: synthConfig(o), tensors: synthTensors(o), maxShardBytes: o.maxShardBytes }), { force: true });
}
