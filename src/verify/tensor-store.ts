/**
 * Weights for the reference forward: float64 arrays by tensor name. The forward is synchronous and
 * reads from a plain map; a TensorStore fills that map lazily from any async reader (a checkpoint,
 * or memory in tests) and can drop a layer's tensors again, so that layer-by-layer verification
 * holds one layer of each model at a time.
 */
import { GacError, formatCount } from "../errors.js";
import type { LayerSpec, LinearSpec, ModelSpec, WeightRef } from "../model/types.js";

export type Weights = ReadonlyMap<string, Float64Array>;

/** Reads one tensor as float64, row-major, whatever its stored dtype. */
export type TensorReader = (name: string) => Promise<Float64Array>;

/** Reads `count` elements of a tensor from element `offset` (row-major), as float64. */
export type TensorRangeReader = (name: string, offset: number, count: number) => Promise<Float64Array>;

/** The weight named `name`, checked to hold `elements` values (a spec that disagrees with the bytes is an input error). */
export function requireWeight(weights: Weights, name: string, elements: number): Float64Array {
  const w = weights.get(name);
  if (w === undefined) throw new GacError("UNKNOWN_LAYOUT", `tensor '${name}' is not loaded: the model spec names a tensor the checkpoint lacks`);
  if (w.length !== elements) {
    throw new GacError("SHAPE_SIZE_MISMATCH", `tensor '${name}' has ${formatCount(w.length)} values but the model spec expects ${formatCount(elements)}`);
  }
  return w;
}

export class TensorStore {
  private readonly cache = new Map<string, Float64Array>();

  constructor(
    private readonly read: TensorReader,
    private readonly rangeReader?: TensorRangeReader,
  ) {}

  /**
   * Elements [offset, offset + count) of a tensor, without caching: how layerwise verify walks an
   * lm_head of 128k x 8192 (8 GB in float64) in bounded memory. Without a range reader (tensors in
   * memory, in tests) the whole tensor is read and sliced.
   */
  async readRange(name: string, offset: number, count: number): Promise<Float64Array> {
    if (this.rangeReader) return this.rangeReader(name, offset, count);
    return (this.cache.get(name) ?? (await this.read(name))).slice(offset, offset + count);
  }

  /** The loaded tensors; what the forward reads. */
  get weights(): Weights {
    return this.cache;
  }

  /** Loads the tensors not yet cached, one at a time (each can be hundreds of MB in float64). */
  async load(names: Iterable<string>): Promise<void> {
    for (const name of names) {
      if (!this.cache.has(name)) this.cache.set(name, await this.read(name));
    }
  }

  release(names: Iterable<string>): void {
    for (const name of names) this.cache.delete(name);
  }
}

function refNames(r: WeightRef): string[] {
  return r.bias === undefined ? [r.tensor] : [r.tensor, r.bias];
}

function linearTensorNames(l: LinearSpec): string[] {
  switch (l.kind) {
    case "dense":
      return refNames(l.weight);
    case "lowrank":
      return [...refNames(l.first), ...refNames(l.second)];
    case "grouped":
      return [...refNames(l.first), ...l.groups.flatMap(refNames)];
  }
}

/** Every tensor one decoder layer reads. */
export function layerTensorNames(layer: LayerSpec): string[] {
  const { attn, mlp } = layer;
  return [layer.inputNorm, layer.postAttentionNorm, ...[attn.q, attn.k, attn.v, attn.o, mlp.gate, mlp.up, mlp.down].flatMap(linearTensorNames)];
}

/** Tensors outside the decoder layers: embeddings, final norm, lm_head (once when tied). */
function outerTensorNames(spec: ModelSpec): string[] {
  return [...new Set([spec.embedTokens, spec.finalNorm, spec.lmHead])];
}

export function modelTensorNames(spec: ModelSpec): string[] {
  return [...outerTensorNames(spec), ...spec.layers.flatMap(layerTensorNames)];
}
