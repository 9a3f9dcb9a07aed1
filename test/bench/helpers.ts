/** Test helpers: a spawner for the fake worker fixture and a scratch directory. */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { SpawnWorker } from "../../src/bench/worker-client.js";

export const FAKE_WORKER = fileURLToPath(new URL("./fixtures/fake-worker.mjs", import.meta.url));

/** Spawn the fake worker with extra environment (FAKE_* switches; see the fixture's header). */
export function fakeSpawner(env: Record<string, string> = {}): SpawnWorker {
  return (device) => spawn(process.execPath, [FAKE_WORKER, "--device", String(device)], { env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
}

export { scratchDir } from "../helpers/scratch.js";
