import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { generateFixture } from "../../src/fixtures/index.js";
import { repairCheckpoint } from "../../src/repair/repair-checkpoint.js";
import { addStreamTimings, BusyClock, emptyStreamTimings } from "../../src/repair/stream-timings.js";

let root: string;
let input: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), "gac-timings-"));
  input = (await generateFixture("svdllm", join(root, "in"), { seed: 3, dtype: "BF16" })).dir;
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

test("a busy clock counts two overlapping operations' shared time once", async () => {
  const clock = new BusyClock();
  const t0 = performance.now();
  await Promise.all([clock.time(() => sleep(60)), clock.time(() => sleep(60))]);
  const wall = (performance.now() - t0) / 1000;
  assert.ok(clock.seconds >= 0.055, `busy ${clock.seconds} s`);
  assert.ok(clock.seconds <= wall + 1e-3, `busy ${clock.seconds} s is more than the ${wall} s that passed`);
});

test("a busy clock adds the time of operations that do not overlap", async () => {
  const clock = new BusyClock();
  await clock.time(() => sleep(30));
  await sleep(40);
  await clock.time(() => sleep(30));
  assert.ok(clock.seconds >= 0.055 && clock.seconds < 0.095, `busy ${clock.seconds} s`);
});

test("stream timings add field by field", () => {
  const a = { ...emptyStreamTimings(), stream: 1, hashBusy: 0.5 };
  addStreamTimings(a, { ...emptyStreamTimings(), stream: 2, readBusy: 0.25 });
  assert.deepEqual(a, { ...emptyStreamTimings(), stream: 3, hashBusy: 0.5, readBusy: 0.25 });
});

test("a repair says where its seconds went: phases that add up to its time, every step busy within the stream", async () => {
  const r = await repairCheckpoint(input, join(root, "out"), { strategy: "MINIMAL", chunkBytes: 40_006 });
  const t = r.timings;
  assert.ok(Math.abs(t.plan + t.shards + t.finish - r.seconds) < 1e-6, JSON.stringify(t));
  for (const v of [t.plan, t.shards, t.finish]) assert.ok(v >= 0, JSON.stringify(t));
  const f = t.files;
  assert.ok(f.stream > 0 && f.stream <= t.shards + 1e-6, JSON.stringify(f));
  assert.ok(f.readBusy > 0 && f.writeBusy > 0 && f.hashBusy > 0, JSON.stringify(f));
  for (const v of [f.readBusy, f.writeBusy, f.syncBusy, f.transform, f.waitRead, f.waitHash, f.waitOutputBlock]) assert.ok(v >= 0 && v <= f.stream + 1e-3, JSON.stringify(f));
});
