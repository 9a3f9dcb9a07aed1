/**
 * A repair's background fdatasyncs, one at a time, in the order asked for, kept busy while written
 * data waits to be flushed.
 *
 * Why: the kernel starts writing dirty pages back only at 10% of RAM (2.4 GB on the 24 GB VM), so
 * the disk works only while gac syncs. Before this lane each streamed file synced its first
 * SYNC_MIN_BYTES-or-more on its own and waited for that sync before it returned, while the previous
 * file's tail was flushed beside it: a sharded MLP-width or low-rank repair (every shard streamed)
 * stalled at the end of each of its 5 files, and two syncs held two of libuv's 4 threads, which
 * the two reads ahead and the write need. Now one sync runs at a time for the whole repair, the
 * next starts as soon as one ends (onIdle), and no stream waits for one.
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
  private tail: Promise<void> = Promise.resolve();
  private queued = 0;
  private failure: { error: unknown } | undefined;
  private readonly idleListeners = new Set<() => void>();
  /** Wall time with a sync of this lane in flight. */
  readonly clock = new BusyClock();

  /** `datasync`: how one file is synced (tests pass a fake to watch the order). */
  constructor(private readonly datasync: (path: string) => Promise<void> = datasyncFile) {}

  /** True when no sync is running or waiting. */
  get idle(): boolean {
    return this.queued === 0;
  }

  /**
   * Calls `listener` each time the lane runs dry, until the returned function is called: a file
   * being streamed starts its next sync then rather than at its next write.
   */
  whenIdle(listener: () => void): () => void {
    const own = () => listener();
    this.idleListeners.add(own);
    return () => {
      this.idleListeners.delete(own);
    };
  }

  /**
   * Queues an fdatasync of `path` after the ones already queued and returns at once; `clock`, when
   * given, also times it. A failure is kept and thrown by drain().
   */
  sync(path: string, clock?: BusyClock): void {
    this.queued++;
    this.tail = this.tail.then(async () => {
      clock?.begin();
      try {
        await this.clock.time(() => this.datasync(path));
      } catch (error) {
        this.failure ??= { error };
      } finally {
        clock?.end();
        this.queued--;
      }
      for (const listener of this.idleListeners) if (this.idle) listener();
    });
  }

  /** Waits for every queued sync; throws the first one's error. */
  async drain(): Promise<void> {
    for (let t = this.tail; ; t = this.tail) {
      await t;
      if (t === this.tail) break;
    }
    if (this.failure) throw this.failure.error;
  }
}
