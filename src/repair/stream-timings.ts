/**
 * Where a repair's wall time goes, measured as it runs (a few performance.now() calls per 16 MiB
 * block, no cost worth counting): how long reads, writes, background syncs and the hash worker were
 * busy, and how long the main loop waited on each. A step whose busy time is close to the stream's
 * wall time is the one that bounds it.
 */

/** Seconds, summed over every streamed file (files streamed at once add up). */
export interface StreamTimings {
  /** Wall time from the first read of a file to its last write and sync. */
  stream: number;
  /** Wall time with at least one read of the input in flight. */
  readBusy: number;
  /** Wall time with at least one write of the output in flight. */
  writeBusy: number;
  /** Wall time with a background fdatasync of this file in flight, until its last write (its final flush runs after: repair-shards.ts). */
  syncBusy: number;
  /** The hash worker's own time in sha256 (input, and output with checksumOutput). */
  hashBusy: number;
  /** Main thread time transforming blocks (fold, column padding, views). */
  transform: number;
  /** Main loop waiting for the next read to finish. */
  waitRead: number;
  /** Main loop waiting for room in the hash worker's queue. */
  waitHash: number;
  /** Main loop waiting for a free output block (folded or column-padded copies). */
  waitOutputBlock: number;
}

export function emptyStreamTimings(): StreamTimings {
  return { stream: 0, readBusy: 0, writeBusy: 0, syncBusy: 0, hashBusy: 0, transform: 0, waitRead: 0, waitHash: 0, waitOutputBlock: 0 };
}

/** Adds every field of `b` into `a`. */
export function addStreamTimings(a: StreamTimings, b: StreamTimings): void {
  for (const k of Object.keys(a) as (keyof StreamTimings)[]) a[k] += b[k];
}

/** Seconds since `t0` (a performance.now() value). */
export function since(t0: number): number {
  return (performance.now() - t0) / 1000;
}

/**
 * Wall time during which at least one of several overlapping operations was in flight: `begin`
 * and `end` around each (two writes at once count their overlap once).
 */
export class BusyClock {
  private inFlight = 0;
  private from = 0;
  seconds = 0;

  begin(): void {
    if (this.inFlight++ === 0) this.from = performance.now();
  }

  end(): void {
    if (--this.inFlight === 0) this.seconds += since(this.from);
  }

  /** `seconds` plus the part of an operation still in flight. */
  secondsSoFar(): number {
    return this.seconds + (this.inFlight > 0 ? since(this.from) : 0);
  }

  /** Runs `op` between begin and end. */
  async time<T>(op: () => Promise<T>): Promise<T> {
    this.begin();
    try {
      return await op();
    } finally {
      this.end();
    }
  }
}
