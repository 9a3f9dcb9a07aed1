import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { SyncLane } from "../../src/repair/sync-lane.js";
import { BusyClock } from "../../src/repair/stream-timings.js";

/** A fake datasync that records what ran, and how many ran at once. */
function recorder(failOn?: string) {
  const log: string[] = [];
  let running = 0;
  let most = 0;
  const datasync = async (path: string) => {
    running++;
    most = Math.max(most, running);
    log.push(`start ${path}`);
    await sleep(15);
    log.push(`end ${path}`);
    running--;
    if (path === failOn) throw new Error(`disk full syncing ${path}`);
  };
  return { log, datasync, most: () => most };
}

test("a sync lane of width one runs one sync at a time, in the order they were asked for", async () => {
  const r = recorder();
  const lane = new SyncLane(1, r.datasync);
  lane.sync("a");
  lane.sync("b");
  assert.equal(lane.hasRoom, false);
  lane.sync("c");
  await lane.drain();
  assert.deepEqual(r.log, ["start a", "end a", "start b", "end b", "start c", "end c"]);
  assert.equal(r.most(), 1);
  assert.equal(lane.hasRoom, true);
  assert.ok(lane.clock.seconds >= 0.04, `busy ${lane.clock.seconds} s for three 15 ms syncs`);
});

test("a sync lane calls its listeners when a sync ends and leaves room, so a stream can start its next sync at once", async () => {
  const r = recorder();
  const lane = new SyncLane(1, r.datasync);
  let due = 2;
  const stop = lane.whenRoom(() => {
    if (due-- > 0) lane.sync(`again-${due}`);
  });
  lane.sync("first");
  await sleep(80);
  stop();
  lane.sync("after-stop");
  await lane.drain();
  assert.deepEqual(
    r.log.filter((l) => l.startsWith("start")),
    ["start first", "start again-1", "start again-0", "start after-stop"],
  );
});

test("a sync lane of width two runs two syncs at once, never three, and starts the waiting ones in order", async () => {
  const r = recorder();
  const lane = new SyncLane(2, r.datasync);
  for (const p of ["a", "b", "c", "d", "e"]) lane.sync(p);
  assert.equal(lane.hasRoom, false);
  await lane.drain();
  assert.equal(r.most(), 2);
  assert.deepEqual(
    r.log.filter((l) => l.startsWith("start")),
    ["start a", "start b", "start c", "start d", "start e"],
  );
  assert.equal(lane.hasRoom, true);
});

test("a sync lane keeps going after a failed sync and throws the first failure from drain", async () => {
  const r = recorder("b");
  const lane = new SyncLane(1, r.datasync);
  lane.sync("a");
  lane.sync("b");
  lane.sync("c");
  await assert.rejects(lane.drain(), /disk full syncing b/);
  assert.ok(r.log.includes("end c"), r.log.join(", "));
});

test("a sync lane syncs real files by path and reports a missing one", async () => {
  const root = await mkdtemp(join(tmpdir(), "gac-sync-lane-"));
  try {
    const file = join(root, "out.safetensors");
    await writeFile(file, new Uint8Array(4096));
    const clock = new BusyClock();
    const lane = new SyncLane();
    lane.sync(file, clock);
    await lane.drain();
    assert.ok(clock.seconds > 0 && lane.clock.seconds > 0, `timed ${clock.seconds} s, lane ${lane.clock.seconds} s`);
    lane.sync(join(root, "gone.safetensors"));
    await assert.rejects(lane.drain(), { code: "ENOENT" });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
