/**
 * The one domain error. A GacError is an expected failure caused by the input or the environment
 * (a truncated file, an unknown layout, a refused backend): the CLI prints its message on one line
 * and exits 1. Anything else that is thrown is a bug and is printed with its stack.
 *
 * Messages say what, where and what it means:
 *   "tensor 'x' ends at byte 9,000 but model.safetensors has 8,192 bytes: the file is truncated"
 */
export type GacErrorCode =
  // checkpoint/
  | "TRUNCATED"
  | "HEADER_TOO_LARGE"
  | "BAD_HEADER"
  | "BAD_DTYPE"
  | "BAD_OFFSETS"
  | "SHAPE_SIZE_MISMATCH"
  | "SHARD_ESCAPE"
  | "MISSING_SHARD"
  | "BAD_INDEX"
  | "MISSING_FILE"
  // model/
  | "BAD_CONFIG"
  | "CONFIG_MISMATCH"
  | "UNKNOWN_LAYOUT"
  | "UNKNOWN_FAMILY"
  | "BAD_QUANT"
  // contract/, plan/, repair/
  | "UNKNOWN_RUNTIME"
  | "UNKNOWN_GPU"
  | "UNSUPPORTED"
  | "OUTPUT_EXISTS"
  | "INPUT_CHANGED"
  | "ABORTED"
  // verify/
  | "VERIFY_FAILED"
  | "BAD_MANIFEST"
  // bench/, worker
  | "NO_GPU"
  | "WORKER_FAILED"
  | "BAD_SUITE"
  | "BAD_RESULTS"
  | "NO_PROFILE"
  // report/
  | "UNKNOWN_INPUT"
  // cli
  | "BAD_ARGS";

export class GacError extends Error {
  override readonly name = "GacError";
  constructor(
    readonly code: GacErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function isGacError(e: unknown): e is GacError {
  return e instanceof GacError;
}

/** 1234567 -> "1,234,567": byte counts in messages are read by people. */
export function formatCount(n: number | bigint): string {
  return n.toLocaleString("en-US");
}
