/** checkpoint/: headers only, validated; tensor bytes by range; writers read back by the same reader. */
export * from "./types.js";
export { MAX_HEADER_LENGTH, MAX_TENSOR_DIM, elementCount, tensorByteLength, isDtype, decodeHeaderLength, decodeSafetensorsHeader } from "./safetensors-header.js";
export { readSafetensorsFileInfo, readTensorBytes, streamTensorBytes, DEFAULT_CHUNK_BYTES } from "./safetensors-read.js";
export { openCheckpoint, tensorShapes, CONFIG_FILE, SINGLE_FILE, INDEX_FILE } from "./open.js";
export { planSafetensorsLayout, writeSafetensorsFile, writeCheckpoint, planShards, shardFileName } from "./safetensors-write.js";
export type { TensorLayout, WritableTensor, SafetensorsLayout, WriteCheckpointOptions } from "./safetensors-write.js";
export { decodeToFloat64, decodeToFloat32, decodeInto, encodeFromFloat64 } from "./dtype-codec.js";
