import { test } from "node:test";
import assert from "node:assert/strict";
import { decodePathRows } from "../../../src/bench/e2e/tables.js";
import { BadBody, parseLogitsBody } from "../../../src/bench/e2e/wire.js";

const cmp = (rel: number) => ({ max_abs_diff: rel * 7, max_abs_logit: 7, rel_to_max: rel, mean_abs_diff: rel, argmax_agree: 1 });

test("the logits body's decode paths are read per dtype and path, and a body with a malformed one names the field", () => {
  const body = parseLogitsBody({
    repair_fp32: {},
    repair_serving: {},
    noise_floor: { gac: cmp(0.07) },
    unsupported: {},
    decode_paths: { fp32: { eager: cmp(1.2e-5), masked_splitkv: cmp(1.4e-5) }, serving: { masked_splitkv: cmp(0.06) } },
  });
  assert.deepEqual(Object.keys(body.decode_paths ?? {}), ["fp32", "serving"]);
  assert.equal(body.decode_paths?.fp32.masked_splitkv.rel_to_max, 1.4e-5);
  assert.equal(parseLogitsBody({ repair_fp32: {}, repair_serving: {}, noise_floor: {} }).decode_paths, undefined, "absent: not measured");
  assert.throws(
    () => parseLogitsBody({ decode_paths: { fp32: [1] } }),
    (e: unknown) => e instanceof BadBody && /decode_paths\.fp32/.test(e.message),
  );
  assert.throws(
    () => parseLogitsBody({ decode_paths: { fp32: { eager: { max_abs_diff: 1 } } } }),
    (e: unknown) => e instanceof BadBody && /decode_paths\.fp32\.eager/.test(e.message),
  );
});

test("a decode path that agrees with the prefill to fp32 rounding reads so, one far off in fp32 is not explained, and serving rows stand beside the noise floor", () => {
  const rows = decodePathRows({
    model: "m/MINIMAL",
    checkpoint: "m",
    gpu: "NVIDIA H200",
    noise_floor: { gac: cmp(0.07) },
    decode_paths: { fp32: { eager: cmp(1.2e-5), masked_sdpa: cmp(3e-3) }, serving: { masked_splitkv: cmp(0.06), eager: cmp(0.08) } },
  });
  const reading = (label: RegExp) => rows.find((r) => label.test(r[2]))?.[7];
  assert.equal(rows.length, 4);
  assert.equal(rows[0][0], "m (original)");
  assert.equal(reading(/^eager decode .* fp32/), "fp32 rounding");
  assert.equal(reading(/SDPA with a mask .* fp32/), "not explained");
  assert.equal(reading(/split-KV .* serving/), "kernel choice, below the noise floor");
  assert.equal(reading(/^eager decode .* serving/), "kernel choice, above the noise floor");
  assert.equal(decodePathRows({ model: "m", checkpoint: "m", gpu: "g", noise_floor: {} }).length, 0);
});
