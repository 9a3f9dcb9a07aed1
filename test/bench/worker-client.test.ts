import { test } from "node:test";
import assert from "node:assert/strict";
import { WorkerClient } from "../../src/bench/worker-client.js";
import { parseWorkerLine } from "../../src/bench/protocol.js";
import { GacError } from "../../src/errors.js";
import { fakeSpawner } from "./helpers.js";

const sdpa = (head_dim: number, backend = "AUTO") => ({ op: "sdpa" as const, params: { batch: 1, heads: 2, kv_heads: 2, q_len: 128, kv_len: 128, head_dim, dtype: "fp16", causal: false, backend } });

test("a started worker reports its GPU and answers a job with stats", async () => {
  const client = await WorkerClient.start({ spawn: fakeSpawner(), device: 1 });
  try {
    assert.equal(client.capability.gpu.name, "Fake GPU 1");
    const outcome = await client.run(sdpa(107), { id: "S1/x" });
    assert.equal(outcome.type, "result");
    if (outcome.type === "result" && "stats" in outcome) {
      assert.equal(outcome.id, "S1/x");
      assert.ok(outcome.stats.median_ms > 0 && outcome.stats.n === 5);
    }
  } finally {
    await client.close();
  }
  assert.equal(client.alive, false);
});

test("a refused backend is an answer with the worker's reason, and the session goes on", async () => {
  const client = await WorkerClient.start({ spawn: fakeSpawner(), device: 0 });
  try {
    const refused = await client.run(sdpa(107, "EFFICIENT"));
    assert.equal(refused.type, "error");
    if (refused.type === "error") assert.match(refused.error.message, /head_dim % 8/);
    assert.equal((await client.run(sdpa(112, "EFFICIENT"))).type, "result");
  } finally {
    await client.close();
  }
});

test("a worker without torch fails start with NO_GPU in one line", async () => {
  await assert.rejects(WorkerClient.start({ spawn: fakeSpawner({ FAKE_CAPABILITY: "no_torch" }), device: 0 }), (e) => {
    assert.ok(e instanceof GacError);
    assert.equal(e.code, "NO_GPU");
    assert.match(e.message, /PyTorch is not installed/);
    assert.ok(!e.message.includes("\n"));
    return true;
  });
});

test("a worker that dies before its capability fails with WORKER_FAILED quoting its stderr", async () => {
  await assert.rejects(WorkerClient.start({ spawn: fakeSpawner({ FAKE_EXIT_BEFORE_CAPABILITY: "1" }), device: 0 }), (e) => {
    assert.ok(e instanceof GacError && e.code === "WORKER_FAILED");
    assert.match(e.message, /code 3.*libcudart/);
    return true;
  });
});

test("a job that gets no message within the heartbeat timeout kills the worker with WORKER_FAILED", async () => {
  const client = await WorkerClient.start({ spawn: fakeSpawner({ FAKE_HANG_ON: "hang" }), device: 0, heartbeatTimeoutMs: 300, graceMs: 200 });
  const started = Date.now();
  await assert.rejects(client.run(sdpa(107), { id: "hang-1" }), (e) => e instanceof GacError && e.code === "WORKER_FAILED" && /sent nothing for 0.3 s/.test(e.message));
  assert.ok(Date.now() - started < 5000);
  assert.ok((await client.waitForExit(2000)) !== null, "the hung worker was not killed");
  await assert.rejects(client.run(sdpa(112)), (e) => e instanceof GacError && e.code === "WORKER_FAILED");
});

test("a worker that crashes mid-job fails the job with its exit and stderr", async () => {
  const client = await WorkerClient.start({ spawn: fakeSpawner({ FAKE_CRASH_ON: "boom" }), device: 0 });
  await assert.rejects(client.run(sdpa(107), { id: "boom" }), (e) => e instanceof GacError && /exited \(code 1\).*Segmentation fault/.test(e.message));
});

test("prose on stdout is a protocol violation that fails the job", async () => {
  const client = await WorkerClient.start({ spawn: fakeSpawner({ FAKE_GARBAGE: "1" }), device: 0 });
  await assert.rejects(client.run(sdpa(107)), (e) => e instanceof GacError && /not JSON.*Loading kernels/.test(e.message));
  await client.close();
});

test("aborting a job sends cancel and resolves with the worker's cancelled answer", async () => {
  const client = await WorkerClient.start({ spawn: fakeSpawner({ FAKE_DELAY_MS: "5000" }), device: 0 });
  try {
    const controller = new AbortController();
    const run = client.run(sdpa(107), { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const outcome = await run;
    assert.equal(outcome.type, "error");
    if (outcome.type === "error") assert.equal(outcome.error.type, "cancelled");
    assert.equal(client.alive, true);
  } finally {
    await client.close();
  }
});

test("a worker that ignores cancel is killed after the grace time", async () => {
  const client = await WorkerClient.start({ spawn: fakeSpawner({ FAKE_DELAY_MS: "5000", FAKE_IGNORE_CANCEL: "1" }), device: 0, graceMs: 100 });
  const controller = new AbortController();
  const run = client.run(sdpa(107), { signal: controller.signal });
  setTimeout(() => controller.abort(), 50);
  const outcome = await run;
  assert.equal(outcome.type === "error" && outcome.error.type, "cancelled");
  assert.ok((await client.waitForExit(2000)) !== null);
});

test("protocol lines are checked: a result without stats is refused, unknown types pass", () => {
  assert.throws(() => parseWorkerLine('{"type":"result","id":"a"}'), /without stats/);
  assert.throws(() => parseWorkerLine('{"type":"result","id":"a","stats":{"median_ms":"x","p10_ms":1,"p90_ms":1,"n":1}}'), /median_ms/);
  assert.equal(parseWorkerLine('{"type":"progress","x":1}').type, "unknown");
  const ok = parseWorkerLine('{"type":"capability","ok":false,"reason":"no_gpu","message":"m"}');
  assert.deepEqual(ok, { type: "capability", ok: false, reason: "no_gpu", message: "m" });
});

test("keeps the reasons PyTorch gives for a refused backend beside the error message", () => {
  const msg = parseWorkerLine(
    JSON.stringify({
      type: "error",
      id: "j1",
      error: {
        type: "backend_refused",
        message: "No available kernel. Aborting execution.",
        warnings: ["Mem efficient attention requires last dimension of inputs to be divisible by 8. Got Query.size(-1): 107"],
      },
    }),
  );
  assert.equal(msg.type, "error");
  if (msg.type !== "error") return;
  assert.deepEqual(msg.error.warnings, ["Mem efficient attention requires last dimension of inputs to be divisible by 8. Got Query.size(-1): 107"]);
});
