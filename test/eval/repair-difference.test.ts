import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { accuracyTable, mergeReports, parseReports } from "../../bench/accuracy-table.js";
import type { EvalReport, EvalResult } from "../../src/eval/eval-checkpoints.js";
import { classifyRepairDifference, FLOAT64_LOSS_BOUND, foldLossBound, foldRounds } from "../../src/eval/repair-difference.js";

const BF16 = "BF16" as const;

describe("naming a repair's loss difference", () => {
  it("calls an identical loss exact zero, whatever the fold did", () => {
    assert.equal(classifyRepairDifference(1.7, 1.7, { scales: [1.0445], dtype: BF16 }).kind, "exact zero");
  });

  it("calls a difference within 1e-12 float64 rounding", () => {
    const d = classifyRepairDifference(1.7 + 4e-13, 1.7, { scales: [], dtype: BF16 });
    assert.equal(d.kind, "float64 rounding");
    assert.equal(d.bound, FLOAT64_LOSS_BOUND);
  });

  it("names a rounding fold's difference within 2^-8 of the loss as the fold's one 16-bit rounding", () => {
    const d = classifyRepairDifference(1.710629, 1.710618, { scales: [1.044465935734187], dtype: BF16 });
    assert.equal(d.kind, "fold rounding");
    assert.match(d.label, /the fold's one BF16 rounding of q_proj x1\.0445/);
    assert.equal(foldLossBound(BF16, 1.710618), 1.710618 / 256);
  });

  it("does not excuse a difference by a fold that cannot round (a power of two, or nothing folded)", () => {
    assert.equal(foldRounds([2]), false);
    assert.equal(classifyRepairDifference(1.71, 1.7, { scales: [2], dtype: BF16 }).kind, "beyond bound");
    assert.equal(classifyRepairDifference(1.7 + 1e-9, 1.7, { scales: [], dtype: BF16 }).kind, "beyond bound");
  });

  it("calls a rounding fold's difference past its bound beyond bound", () => {
    assert.equal(classifyRepairDifference(1.8, 1.7, { scales: [1.0445], dtype: BF16 }).kind, "beyond bound");
  });
});

function result(dir: string, loss: number): EvalResult {
  return {
    dir,
    model_type: "llama",
    family: "dense",
    dtype: BF16,
    params: 100,
    tokenizer: "bytes",
    scale_mode: null,
    precision: "float64",
    loss,
    perplexity: Math.exp(loss),
    targets: 256,
    seconds: 1,
  };
}

function report(results: EvalResult[]): EvalReport {
  return {
    schema: "gac-eval/1",
    gac_version: "0",
    device: "cpu",
    text: { kind: "held-out", path: "t", byte_offset: 0, bytes: 1000, sha256: "ab".repeat(32) },
    tokenization: "bytes",
    context: 256,
    stride: 256,
    max_tokens: 256,
    windows: 1,
    targets: 256,
    results,
  } as EvalReport;
}

describe("the accuracy table", () => {
  it("shows every repaired row's difference to its compressed model and names it, from reports merged across processes, with the GPU column marked not run", () => {
    const variants = [
      { name: "original", dir: "/v/orig", role: "original", from: "-" },
      { name: "svd-heads", dir: "/v/svd-heads", role: "compressed", from: "-" },
      { name: "svd-heads-MINIMAL-fold", dir: "/v/svd-heads-MINIMAL-fold", role: "repaired", from: "svd-heads" },
      { name: "svd-heads-MINIMAL-logical", dir: "/v/svd-heads-MINIMAL-logical", role: "repaired", from: "svd-heads" },
    ] as const;
    const cpu = mergeReports([
      report([result("/v/orig", 1.7), result("/v/svd-heads-MINIMAL-fold", 1.710629)]),
      report([result("/v/svd-heads", 1.710618), result("/v/svd-heads-MINIMAL-logical", 1.710618)]),
    ]);
    const table = accuracyTable(variants, cpu, undefined, new Map([["svd-heads-MINIMAL-fold", [1.044465935734187]]]));
    assert.match(table, /\| svd-heads repaired MINIMAL, fold \| 100 \| 1\.710629 \| 5\.5324 \| 1\.100e-5 \| the fold's one BF16 rounding/);
    assert.match(table, /\| svd-heads repaired MINIMAL, logical \| 100 \| 1\.710618 \| 5\.5324 \| 0\.000e\+0 \| exact zero \|/);
    assert.match(table, /\| original \(trained\) \| 100 \| 1\.700000 \| 5\.4739 \| {2}\| {2}\| not run \|/);
  });

  it("reads one pretty-printed report or several as JSON lines", () => {
    const a = report([result("/v/a", 1)]);
    assert.equal(parseReports(JSON.stringify(a, null, 2)).length, 1);
    assert.equal(parseReports(`${JSON.stringify(a)}\n${JSON.stringify(a)}\n`).length, 2);
  });

  it("refuses to merge reports of different windows", () => {
    const other = { ...report([]), targets: 512 };
    assert.throws(() => mergeReports([report([]), other]), /different windows/);
  });
});
