/** What `gac bench` and its subcommands take from outside in tests: the worker spawner, the git commit, the clock. */
import type { SpawnWorker } from "../../bench/worker-client.js";

export interface BenchDeps {
  spawn?: SpawnWorker;
  /** `git rev-parse HEAD` of the gac checkout, or null. */
  gitCommit?: () => string | null;
  now?: () => Date;
}
