/** The read and output blocks of a streamed file (stream-shard.ts), reused for every block. */

/**
 * A few buffers reused for every read (shared) or padded output block (plain). Fresh 16 MiB buffers per read were freed only
 * when V8 got round to it (peak RSS 563 MB on a 2 GB checkpoint); a fixed pool bounds the memory
 * and, by making a read wait for a free buffer, is also the pipeline's back-pressure.
 */
export class BlockPool {
  private free: (SharedArrayBuffer | ArrayBuffer)[] = [];
  private waiting: ((b: SharedArrayBuffer | ArrayBuffer) => void)[] = [];

  /**
   * `shared`: SharedArrayBuffers (read blocks: the hash workers read them in place) or plain ones
   * (output blocks: row-by-row copies into shared memory are several times slower; with
   * checksumOutput they are copied to the worker).
   */
  constructor(
    readonly blockBytes: number,
    count: number,
    private readonly shared = true,
  ) {
    for (let i = 0; i < count; i++) this.free.push(this.newBuffer(blockBytes));
  }

  private newBuffer(bytes: number): SharedArrayBuffer | ArrayBuffer {
    return this.shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
  }

  /** A view of `length` bytes on a pooled buffer (a fresh one when `length` exceeds the block size: one row larger than a block). */
  async acquire(length: number): Promise<{ bytes: Buffer; release: () => void }> {
    if (length > this.blockBytes) return { bytes: Buffer.from(this.newBuffer(length)), release: () => undefined };
    const sab = this.free.pop() ?? (await new Promise<SharedArrayBuffer | ArrayBuffer>((resolve) => this.waiting.push(resolve)));
    let released = false;
    return {
      bytes: Buffer.from(sab, 0, length),
      release: () => {
        if (released) return;
        released = true;
        const next = this.waiting.shift();
        if (next) next(sab);
        else this.free.push(sab);
      },
    };
  }
}
