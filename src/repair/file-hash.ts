/**
 * The one owner of how repair hashes a file: the two schemes, what their digests mean, how a block
 * at a file position splits over chunks, and how two digests of one file are compared.
 *
 * "sha256-chunks" (the default): the sha256 of every HASH_CHUNK_BYTES chunk of the file, chunk i
 * covering bytes [i * chunk, min((i + 1) * chunk, size)), header included. Chunks are hashed on
 * several workers at once (hash-pool.ts), so one large file is not bound by one sha256 stream
 * (1.15-1.32 GB/s on one core of the GPU host we measured). A file of at most one chunk, the empty file included, has exactly one
 * digest: its whole sha256.
 *
 * "sha256": one sha256 of the whole file, the Hub's LFS oid; one stream, so sequential.
 */
import { createHash, type Hash } from "node:crypto";

export const HASH_SCHEMES = ["sha256-chunks", "sha256"] as const;
export type HashScheme = (typeof HASH_SCHEMES)[number];
export const DEFAULT_HASH_SCHEME: HashScheme = "sha256-chunks";

/** 64 MiB: a 16 GB file is 256 chunks (a 16 kB list of digests), each long enough that a worker's per-chunk cost is noise. */
export const HASH_CHUNK_BYTES = 64 * 1024 * 1024;

/** A file's digest in one scheme; exactly one of the two fields is set. */
export type FileHash = { sha256: string; sha256Chunks?: never } | { sha256Chunks: string[]; sha256?: never };

export function isHashScheme(value: string): value is HashScheme {
  return (HASH_SCHEMES as readonly string[]).includes(value);
}

export function schemeOf(hash: FileHash): HashScheme {
  return hash.sha256Chunks !== undefined ? "sha256-chunks" : "sha256";
}

/** The FileHash of a scheme from its digests in file order (one for "sha256"). */
export function fileHashOf(scheme: HashScheme, digests: readonly string[]): FileHash {
  if (scheme === "sha256") {
    if (digests.length !== 1) throw new Error(`a whole-file sha256 is one digest, got ${digests.length}`);
    return { sha256: digests[0] };
  }
  return { sha256Chunks: [...digests] };
}

/** Chunks of a file of `size` bytes: at least one (the empty file's is the sha256 of nothing). */
export function chunkCount(size: number, chunkBytes: number = HASH_CHUNK_BYTES): number {
  return Math.max(1, Math.ceil(size / chunkBytes));
}

/** One part of a block that falls in one chunk: bytes [offset, offset + length) of the block. */
export interface ChunkSpan {
  chunk: number;
  offset: number;
  length: number;
  /** True when the span reaches the chunk's last byte (its digest can be taken). */
  endsChunk: boolean;
}

/** Splits `length` bytes at file position `position` at chunk boundaries (a block may straddle several). */
export function chunkSpans(position: number, length: number, chunkBytes: number = HASH_CHUNK_BYTES): ChunkSpan[] {
  const spans: ChunkSpan[] = [];
  for (let offset = 0; offset < length; ) {
    const at = position + offset;
    const chunk = Math.floor(at / chunkBytes);
    const chunkEnd = (chunk + 1) * chunkBytes;
    const n = Math.min(length - offset, chunkEnd - at);
    spans.push({ chunk, offset, length: n, endsChunk: at + n === chunkEnd });
    offset += n;
  }
  return spans;
}

/** The byte ranges a worker reads to hash a file of `size` bytes in a scheme (hash-pool.ts hashFile). */
export function chunkRanges(scheme: HashScheme, size: number, chunkBytes: number = HASH_CHUNK_BYTES): { start: number; length: number }[] {
  if (scheme === "sha256") return [{ start: 0, length: size }];
  return Array.from({ length: chunkCount(size, chunkBytes) }, (_, i) => ({ start: i * chunkBytes, length: Math.min(chunkBytes, size - i * chunkBytes) }));
}

/**
 * A file's hash computed on the calling thread (small files: config, index, extra files), fed in
 * file order. Same digests as the worker pool's.
 */
export class FileHasher {
  private readonly digests: string[] = [];
  private current: Hash | undefined;
  private position = 0;

  constructor(
    readonly scheme: HashScheme,
    private readonly chunkBytes: number = HASH_CHUNK_BYTES,
  ) {}

  update(bytes: Uint8Array): this {
    if (this.scheme === "sha256") {
      this.current ??= createHash("sha256");
      this.current.update(bytes);
    } else {
      for (const span of chunkSpans(this.position, bytes.byteLength, this.chunkBytes)) {
        this.current ??= createHash("sha256");
        this.current.update(bytes.subarray(span.offset, span.offset + span.length));
        if (span.endsChunk) {
          this.digests.push(this.current.digest("hex"));
          this.current = undefined;
        }
      }
    }
    this.position += bytes.byteLength;
    return this;
  }

  /** The digests so far; the hasher is finished (an empty file, or one ending on a chunk edge, adds no empty chunk). */
  digest(): FileHash {
    if (this.current !== undefined || this.digests.length === 0) this.digests.push((this.current ?? createHash("sha256")).digest("hex"));
    this.current = undefined;
    return fileHashOf(this.scheme, this.digests);
  }
}

/** The FileHash of bytes held in memory. */
export function hashBytes(bytes: Uint8Array, scheme: HashScheme, chunkBytes: number = HASH_CHUNK_BYTES): FileHash {
  return new FileHasher(scheme, chunkBytes).update(bytes).digest();
}

/**
 * What differs between two hashes of one file, for an INPUT_CHANGED message, or undefined when they
 * agree. Hashes in different schemes never agree (a caller compares in one scheme).
 */
export function hashDifference(before: FileHash, now: FileHash, chunkBytes: number = HASH_CHUNK_BYTES): string | undefined {
  const short = (hex: string | undefined) => `${(hex ?? "none").slice(0, 12)}...`;
  if (before.sha256 !== undefined || now.sha256 !== undefined) {
    return before.sha256 === now.sha256 ? undefined : `its sha256 is ${short(now.sha256)} now, ${short(before.sha256)} when read`;
  }
  const a = before.sha256Chunks ?? [];
  const b = now.sha256Chunks ?? [];
  const i = a.findIndex((d, k) => d !== b[k]);
  if (i < 0 && a.length === b.length) return undefined;
  const at = i < 0 ? a.length : i;
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
  return `its sha256 of bytes ${mib(at * chunkBytes)}-${mib((at + 1) * chunkBytes)} (chunk ${at} of ${b.length}) is ${short(b[at])} now, ${short(a[at])} when read`;
}
