import { test } from "node:test";
import assert from "node:assert/strict";
import { buildE2eFigure, e2eSpeedupPoints } from "../../src/report/figures/e2e.js";
import { buildReport } from "../../src/report/build.js";
import { renderSvg } from "../../src/report/render.js";
import type { FlatRecord } from "../../src/report/records.js";

const H200 = "NVIDIA H200";
const BASE = "hidden 4096, vocab 128256, 32 layers, 32 heads";

function row(model: string, checkpoint: string, variant: string, role: string, config: string, phase: "prefill" | "decode", median: number, base = BASE): FlatRecord {
  const [engine, cfg, cache] = config.split("/");
  return {
    suite: "e2e",
    case: `e2e/${model}/${config}/${phase}`,
    gpu: H200,
    runId: "r1",
    gpuLabel: H200,
    env: { gpu: H200 },
    params: {
      op: "e2e",
      model,
      checkpoint,
      variant,
      role,
      family: "dense",
      base_model: base,
      engine,
      config: cfg,
      cache,
      phase,
      batch: 1,
      ...(phase === "prefill" ? { seq: 2048 } : { context: 4096 }),
    },
    stats: { median_ms: median, p10_ms: median * 0.98, p90_ms: median * 1.03 },
  };
}

const records: FlatRecord[] = [
  row("dsvd/none", "dsvd", "none", "checkpoint", "transformers/sdpa/dynamic", "decode", 6.7),
  row("dsvd/MINIMAL", "dsvd", "MINIMAL", "checkpoint", "transformers/sdpa/dynamic", "decode", 47.9),
  row("dense/none", "dense", "none", "parent", "transformers/sdpa/dynamic", "decode", 41.5),
  row("dsvd/none", "dsvd", "none", "checkpoint", "transformers/sdpa/dynamic", "prefill", 17.2),
  row("dsvd/MINIMAL", "dsvd", "MINIMAL", "checkpoint", "transformers/sdpa/dynamic", "prefill", 15.8),
  row("other/none", "other", "none", "parent", "transformers/sdpa/dynamic", "prefill", 1, "hidden 4096, vocab 32000, 32 layers, 32 heads"),
];

test("the e2e figure plots each variant's and the matching dense parent's speedup over the unrepaired model, per configuration and point", () => {
  const points = e2eSpeedupPoints(records);
  const decode = points.filter((p) => p.point === "decode B1 ctx 4096");
  assert.deepEqual(
    decode.map((p) => [p.variant, Number(p.speedup.toFixed(3))]),
    [
      ["none", 1],
      ["MINIMAL", Number((6.7 / 47.9).toFixed(3))],
      ["parent", Number((6.7 / 41.5).toFixed(3))],
    ],
  );
  const min = decode[1];
  assert.ok(Math.abs(min.lo - (6.7 * 0.98) / (47.9 * 1.03)) < 1e-12 && Math.abs(min.hi - (6.7 * 1.03) / (47.9 * 0.98)) < 1e-12);
  // The Llama-2 parent (other vocab) is not matched to a Llama-3 checkpoint.
  assert.equal(points.filter((p) => p.variant === "parent").length, 1);
});

test("the e2e figure renders to SVG, and a report of e2e rows has it without an 'unplotted suite' note", async () => {
  const { figures } = buildE2eFigure(records);
  assert.equal(figures.length, 1);
  const svg = await renderSvg(figures[0].spec);
  assert.match(svg, /^<svg/);
  assert.match(svg, /transformers\/sdpa\/dynamic/);
  const report = buildReport({ runs: [{ runId: "r1", dir: "/x", env: { gpu: H200 }, records }], scans: [], repairs: [], notes: [] });
  assert.ok(report.figures.some((f) => f.name === "e2e-speedup"));
  assert.ok(!report.notes.some((n) => /suite 'e2e'/.test(n)));
  assert.deepEqual(buildE2eFigure([]).figures, []);
});
