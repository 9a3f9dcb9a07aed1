/**
 * Repair outputs stay byte-identical: every fixture kind in F32, F16 and BF16, one file and sharded,
 * fold and logical scale, is written and repaired, and the digests must equal the committed ones
 * (computed by the repair code before the fast codecs and copy paths; see golden-digests.ts).
 * Slow-ish (about 180 small repairs): the whole matrix in one test.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { computeDigests, readCommittedDigests } from "./golden-digests.js";

test("every fixture kind and dtype is written and repaired to the committed bytes (one file and sharded, fold and logical)", async () => {
  const committed = await readCommittedDigests();
  const now = await computeDigests();
  assert.deepEqual(Object.keys(now).sort(), Object.keys(committed).sort(), "the same cases as committed");
  const differing = Object.keys(committed).filter((k) => now[k] !== committed[k]);
  assert.deepEqual(differing, [], `cases whose bytes changed: ${differing.join("; ")}`);
});
