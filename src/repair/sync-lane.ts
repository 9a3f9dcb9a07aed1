/**
 * A repair's background fdatasyncs: at most `width` at once for the whole repair, started in the
 * order asked for, and kept busy while written data waits to be flushed.
 *
 * Why: the kernel starts writing dirty pages back only at 10% of RAM (2.4 GB on the 24 GB VM), so
 * the disk works only while gac syncs. Before this lane each streamed file waited at its end for
 * its last periodic fdatasync (64 MB steps), while the previous file's tail was flushed beside
 * it: a sharded MLP-width or low-rank repair, whose every shard is streamed, stalled 285-445 ms in
 * all at its files' ends (3-5 streamed files, 2-core VM), and the next file's first 64 MB went to the disk
 * late. Now no stream waits for a sync, the lane is shared by all files, and the next sync starts
 * as soon as one ends (whenRoom).
 *
 * Width: one sync per file in flight (1 on 2 cores, where the 4th libuv thread is then the syncs'
 * alone). Two at once on the 2-core VM, same files alternating with one, 5-6 rounds each, six comparisons
 * over four inputs: median differences -151 to +67 ms (mean -27 ms) on ~1.1 s repairs, within the noise.
 */
import { open } from "node:fs/promises";
import { BusyClock } from "./stream-timings.js";

/** fdatasync of the file at `path` through a handle of its own (the writer's may be closed by then). */
async function datasyncFile(path: string): Promise<void> {
  const fh = await open(path, "r+");
  try {
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

export class SyncLane {
  private running = 0;
  /** Syncs running or waiting for a slot. */
  private queued = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;
  private readonly listeners = new Set<() => void>();
  /** Wall time with a sync of this lane in flight. */
  readonly clock = new BusyClock();

  /**
   * `width`: syncs at once (repairShards: one per file in flight, so 1 on 2 cores); `datasync`: how
   * one file is synced (tests pass a fake to watch the order).
   */
  constructor(
    private readonly width = 1,
    private readonly datasync: (path: string) => Promise<void> = datasyncFile,
  ) {}

  /** True when a sync asked for now would start at once. */
  get hasRoom(): boolean {
    return this.queued < this.width;
  }

  /**
   * Calls `listener` each time a sync ends and leaves room, until the returned function is called:
   * a file being streamed starts its next sync then rather than at its next write.
   */
  whenRoom(listener: () => void): () => void {
    const own = () => listener();
    this.listeners.add(own);
    return () => {
      this.listeners.delete(own);
    };
  }

  /**
   * Queues an fdatasync of `path` (it starts when one of the `width` slots is free, in the order
   * asked for) and returns at once; `clock`, when given, also times it. A failure is kept and thrown
   * by drain().
   */
  sync(path: string, clock?: BusyClock): void {
    this.queued++;
    const done = (async () => {
      // A slot is handed straight from the sync that ends to the first waiting one (running stays counted).
      if (this.running < this.width) this.running++;
      else await new Promise<void>((go) => this.waiting.push(go));
      clock?.begin();
      try {
        await this.clock.time(() => this.datasync(path));
      } catch (error) {
        this.failure ??= { error };
      } finally {
        clock?.end();
        this.queued--;
        const next = this.waiting.shift();
        if (next) next();
        else this.running--;
      }
      for (const listener of this.listeners) if (this.hasRoom) listener();
    })();
    this.inFlight.add(done);
    void done.then(() => this.inFlight.delete(done));
  }

  /** Waits for every queued sync (and any queued meanwhile); throws the first one's error. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    if (this.failure) throw this.failure.error;
  }
}
