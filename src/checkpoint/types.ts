/**
 * What the rest of gac knows about a checkpoint on disk: tensor names, dtypes, shapes and where
 * their bytes lie. Produced from headers only; tensor bytes are read on demand by byte range
 * (checkpoints are 16-140 GB; a Node Buffer stops at 4 GiB).
 */
export const DTYPES = {
  F64: { bytes: 8 },
  F32: { bytes: 4 },
  F16: { bytes: 2 },
  BF16: { bytes: 2 },
  I64: { bytes: 8 },
  I32: { bytes: 4 },
  I16: { bytes: 2 },
  I8: { bytes: 1 },
  U8: { bytes: 1 },
  BOOL: { bytes: 1 },
  F8_E4M3: { bytes: 1 },
  F8_E5M2: { bytes: 1 },
} as const;

export type Dtype = keyof typeof DTYPES;

export interface TensorEntry {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** Absolute path of the .safetensors file holding the bytes. */
  file: string;
  /** Absolute byte position of the first data byte in `file` (8 + header length + begin offset). */
  start: number;
  byteLength: number;
}

export interface SafetensorsFileInfo {
  path: string;
  size: number;
  headerLength: number;
  /** The `__metadata__` string map, if any. */
  metadata: Record<string, string>;
  tensors: TensorEntry[];
}

export interface Checkpoint {
  /** Absolute path of the checkpoint directory. */
  dir: string;
  /** Parsed config.json (distrusted: model/ checks it against tensor shapes). */
  config: Record<string, unknown>;
  /** Safetensors files in index order (one for a single-file checkpoint). */
  files: SafetensorsFileInfo[];
  /** Every tensor of every shard, by name. */
  tensors: Map<string, TensorEntry>;
  /** Present for sharded checkpoints: the parsed model.safetensors.index.json. */
  index?: { metadata: Record<string, unknown>; weightMap: Record<string, string> };
}

/** The dtype and shape of every tensor, by name: all that model/ needs (a pure input, easy to craft in tests). */
export type TensorShapes = ReadonlyMap<string, { dtype: Dtype; shape: readonly number[] }>;
