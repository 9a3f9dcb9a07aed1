import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat, writeFile, utimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FIXTURE_KINDS, generateFixture, type FixtureKind } from "../../src/fixtures/index.js";
import { repairCheckpoint, proposeRepair } from "../../src/repair/repair-checkpoint.js";
import { renderProposal } from "../../src/repair/render-plan.js";
import { openCheckpoint } from "../../src/checkpoint/open.js";
import { readTensorBytes } from "../../src/checkpoint/safetensors-read.js";
import { loadModelSpec } from "../../src/model/load-model-spec.js";
import { collectDims } from "../../src/model/dims.js";
import { verifyCheckpoints } from "../../src/verify/verify-checkpoints.js";
import { GacError } from "../../src/errors.js";
import type { RepairManifest } from "../../src/repair/manifest.js";

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), "gac-repair-"));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Small shards so every fixture is sharded (the repair must keep names and assignment). */
const SHARD_BYTES = 150_000;

async function fixture(kind: FixtureKind, name: string = kind): Promise<string> {
  return (await generateFixture(kind, join(root, name), { seed: 3, dtype: "F32", maxShardBytes: SHARD_BYTES })).dir;
}

async function checksums(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await readdir(dir)).sort())
    out[f] = createHash("sha256")
      .update(await readFile(join(dir, f)))
      .digest("hex");
  return out;
}

const isCode = (code: string) => (e: unknown) => e instanceof GacError && e.code === code;

for (const { kind } of FIXTURE_KINDS) {
  test(`repairs the ${kind} fixture: shapes as planned, shards kept, config and manifest updated, same logits`, async () => {
    const input = await fixture(kind);
    const before = await checksums(input);
    const out = join(root, `${kind}-out`);
    const r = await repairCheckpoint(input, out, { strategy: "MINIMAL" });

    const inCkpt = await openCheckpoint(input);
    const outCkpt = await openCheckpoint(out);
    // shapes: every planned change is in the output, every other tensor is as it was
    const planned = new Map(r.plan.tensors.map((t) => [t.tensor, t.to]));
    for (const [name, t] of inCkpt.tensors) {
      assert.deepEqual(outCkpt.tensors.get(name)?.shape, planned.get(name) ?? t.shape, name);
    }
    assert.equal(outCkpt.tensors.size, inCkpt.tensors.size);
    // shards: same file names, same tensor -> shard assignment
    assert.deepEqual(outCkpt.index?.weightMap, inCkpt.index?.weightMap);
    assert.ok(outCkpt.files.length > 1, "the fixture is sharded");
    const total = [...outCkpt.tensors.values()].reduce((a, t) => a + t.byteLength, 0);
    assert.equal(outCkpt.index?.metadata.total_size, total);
    // scan of the output: no repairable dim left unaligned except the ones reported as skipped
    const skipped = new Set(r.skipped.map((s) => s.id));
    const left = collectDims(loadModelSpec(outCkpt)).filter((d) => d.site && !d.aligned8 && !skipped.has(d.id));
    assert.deepEqual(
      left.map((d) => `${d.id}=${d.value}`),
      [],
    );
    // config
    for (const c of r.changes) {
      if (c.site.kind === "head_dim") assert.equal(outCkpt.config.head_dim, c.to);
    }
    // manifest: complete, input checksums those of the input, output sizes those on disk (no output sha256 by default)
    const manifest = JSON.parse(await readFile(join(out, "gac-repair.json"), "utf8")) as RepairManifest;
    assert.equal(manifest.tool, "gac");
    assert.equal(manifest.strategy, "MINIMAL");
    assert.equal(manifest.scaleMode, "fold");
    assert.deepEqual(manifest.changes, r.changes);
    assert.equal(manifest.tensors.length, r.edits.length);
    for (const f of manifest.output.files) {
      assert.equal(f.bytes, (await stat(join(out, f.name))).size, `output ${f.name}`);
      assert.ok(f.sha256 === undefined && f.sha256Chunks === undefined, `output ${f.name} has no checksum unless asked`);
    }
    assert.deepEqual(manifest.output.files.map((f) => f.name).sort(), (await readdir(out)).filter((f) => f !== "gac-repair.json").sort());
    // Every fixture file is under one 64 MiB chunk: its one chunk digest is its sha256.
    for (const f of manifest.input.files) assert.deepEqual(f.sha256Chunks, [before[f.name]], `input ${f.name}`);
    assert.equal(manifest.input.files.filter((f) => f.name.endsWith(".safetensors")).length, inCkpt.files.length);
    // the input is untouched
    assert.deepEqual(await checksums(input), before);
    // same function
    const v = await verifyCheckpoints(input, out);
    assert.ok(v.pass && v.stats.maxRelDiff <= 1e-5, `${kind}: max rel diff ${v.stats.maxRelDiff}`);
  });
}

test("the direct-SVD fixture gets head_dim 52 -> 56 and rope_theta^(56/52)", async () => {
  const input = await fixture("llama-direct-svd", "dsvd-config");
  const r = await repairCheckpoint(input, join(root, "dsvd-config-out"), { strategy: "MINIMAL" });
  const cfg = JSON.parse(await readFile(join(r.outDir, "config.json"), "utf8")) as Record<string, number>;
  const inCfg = JSON.parse(await readFile(join(input, "config.json"), "utf8")) as Record<string, number>;
  assert.equal(cfg.head_dim, 56);
  assert.equal(cfg.rope_theta, (inCfg.rope_theta ?? 10000) ** (56 / 52));
  assert.ok(r.edits.some((e) => e.tensor.endsWith("q_proj.weight") && e.scale === Math.sqrt(56 / 52)));
});

test("logical scale mode only adds zeros: removing them gives the original bytes, and the manifest carries d^-0.5", async () => {
  const input = await fixture("llama-direct-svd", "dsvd-logical");
  const out = join(root, "dsvd-logical-out");
  const r = await repairCheckpoint(input, out, { strategy: "MINIMAL", scaleMode: "logical" });
  assert.ok(r.edits.length > 0);
  const inCkpt = await openCheckpoint(input);
  const outCkpt = await openCheckpoint(out);
  for (const [name, t] of inCkpt.tensors) {
    const a = new Uint32Array((await readTensorBytes(t)).slice().buffer);
    const b = new Uint32Array((await readTensorBytes(outCkpt.tensors.get(name)!)).slice().buffer);
    // random normal weights hold no exact zero, so the non-zero words in order are the original words
    assert.ok(
      a.every((w) => w !== 0),
      `${name} has no zero to confuse with padding`,
    );
    assert.deepEqual(
      b.filter((w) => w !== 0),
      a,
      name,
    );
  }
  const manifest = JSON.parse(await readFile(join(out, "gac-repair.json"), "utf8")) as RepairManifest;
  assert.equal(manifest.scaleMode, "logical");
  assert.equal(manifest.logical.attention_scale, 52 ** -0.5);
  assert.equal(manifest.logical.head_dim, 52);
  const v = await verifyCheckpoints(input, out);
  assert.ok(v.pass && v.stats.maxRelDiff <= 1e-5, `max rel diff ${v.stats.maxRelDiff}`);
});

test("the q heads keep each RoPE half in place in the padded file", async () => {
  const input = await fixture("llama-direct-svd", "dsvd-halves");
  const out = join(root, "dsvd-halves-out");
  await repairCheckpoint(input, out, { strategy: "MINIMAL", scaleMode: "logical" });
  const name = "model.layers.0.self_attn.q_proj.weight";
  const a = await readTensorBytes((await openCheckpoint(input)).tensors.get(name)!);
  const b = await readTensorBytes((await openCheckpoint(out)).tensors.get(name)!);
  const row = a.length / (4 * 52); // bytes per row (4 heads x 52 rows)
  const rowOf = (buf: Uint8Array, i: number) => [...buf.subarray(i * row, (i + 1) * row)];
  for (const h of [0, 3]) {
    assert.deepEqual(rowOf(b, h * 56 + 0), rowOf(a, h * 52 + 0));
    assert.deepEqual(rowOf(b, h * 56 + 25), rowOf(a, h * 52 + 25));
    assert.deepEqual(rowOf(b, h * 56 + 28), rowOf(a, h * 52 + 26), "dim d/2 moves to D/2");
    assert.deepEqual(rowOf(b, h * 56 + 53), rowOf(a, h * 52 + 51));
    for (const z of [26, 27, 54, 55])
      assert.ok(
        rowOf(b, h * 56 + z).every((x) => x === 0),
        `row ${z} of head ${h} is zero`,
      );
  }
});

for (const scheme of ["sha256", "sha256-chunks"] as const) {
  test(`with checksumOutput the manifest holds the ${scheme} hash of every output file, equal to the bytes on disk`, async () => {
    const input = await fixture("palu", `palu-checksum-output-${scheme}`);
    const out = join(root, `palu-checksum-output-${scheme}-out`);
    const r = await repairCheckpoint(input, out, { strategy: "MINIMAL", checksumOutput: true, inputHash: scheme });
    const onDisk = await checksums(out);
    assert.deepEqual(
      r.manifest.output.files.map((f) => f.name).sort(),
      Object.keys(onDisk).filter((f) => f !== "gac-repair.json"),
    );
    assert.equal(r.manifest.hashes.algorithm, scheme);
    for (const f of r.manifest.output.files) {
      if (scheme === "sha256") assert.equal(f.sha256, onDisk[f.name], `output ${f.name}`);
      else assert.deepEqual(f.sha256Chunks, [onDisk[f.name]], `output ${f.name}`);
    }
  });
}

test("streaming in tiny blocks gives the same files as 16 MiB blocks", async () => {
  const input = await fixture("svdllm", "svdllm-chunks");
  const big = await repairCheckpoint(input, join(root, "svdllm-big"), { strategy: "MINIMAL", checksumOutput: true });
  const small = await repairCheckpoint(input, join(root, "svdllm-small"), { strategy: "MINIMAL", chunkBytes: 100, checksumOutput: true });
  assert.ok(big.manifest.output.files.every((f) => f.sha256Chunks !== undefined));
  assert.deepEqual(small.manifest.output.files, big.manifest.output.files);
});

test("an existing output is not overwritten without force, and is replaced with it", async () => {
  const input = await fixture("qwen2-bias", "qwen-exists");
  const out = join(root, "qwen-exists-out");
  await repairCheckpoint(input, out, { strategy: "MINIMAL" });
  await assert.rejects(repairCheckpoint(input, out, { strategy: "OPTIMAL" }), isCode("OUTPUT_EXISTS"));
  const r = await repairCheckpoint(input, out, { strategy: "OPTIMAL", force: true });
  const manifest = JSON.parse(await readFile(join(out, "gac-repair.json"), "utf8")) as RepairManifest;
  assert.equal(manifest.strategy, "OPTIMAL");
  assert.equal(r.plan.strategy, "OPTIMAL");
});

test("an output inside the input directory is refused even with force", async () => {
  const input = await fixture("qwen2-bias", "qwen-inside");
  await assert.rejects(repairCheckpoint(input, join(input, "repaired"), { strategy: "MINIMAL", force: true }), isCode("UNSAFE_OUTPUT"));
  await assert.rejects(repairCheckpoint(input, input, { strategy: "MINIMAL", force: true }), isCode("UNSAFE_OUTPUT"));
});

test("an input file that changes during the repair is INPUT_CHANGED and nothing is published", async () => {
  const input = await fixture("asvd", "asvd-changed");
  const out = join(root, "asvd-changed-out");
  const shard = (await readdir(input)).find((f) => f.endsWith(".safetensors"))!;
  let touched = false;
  await assert.rejects(
    repairCheckpoint(input, out, {
      strategy: "MINIMAL",
      onProgress: () => {
        if (!touched) {
          touched = true;
          void utimes(join(input, shard), new Date(), new Date(Date.now() + 5000));
        }
      },
    }),
    isCode("INPUT_CHANGED"),
  );
  await assert.rejects(readdir(out), /ENOENT/);
  assert.ok(!(await readdir(root)).some((f) => f.startsWith(".asvd-changed-out.gac-tmp")), "no temp dir left behind");
});

test("an aborted repair publishes nothing", async () => {
  const input = await fixture("palu", "palu-abort");
  const out = join(root, "palu-abort-out");
  const ac = new AbortController();
  await assert.rejects(repairCheckpoint(input, out, { strategy: "MINIMAL", signal: ac.signal, onProgress: () => ac.abort() }), isCode("ABORTED"));
  await assert.rejects(readdir(out), /ENOENT/);
});

test("a dim that cannot be repaired exactly is skipped and reported, or fails under strict", async () => {
  const input = await fixture("llama-direct-svd", "dsvd-yarn");
  const cfgPath = join(input, "config.json");
  const cfg = JSON.parse(await readFile(cfgPath, "utf8")) as Record<string, unknown>;
  await writeFile(cfgPath, JSON.stringify({ ...cfg, rope_scaling: { rope_type: "yarn", factor: 4, original_max_position_embeddings: 2048 } }));
  const proposal = await proposeRepair(input, { strategy: "MINIMAL" });
  assert.ok(
    proposal.skipped.some((s) => s.id.endsWith("head_dim") && /yarn/.test(s.reason)),
    JSON.stringify(proposal.skipped),
  );
  assert.ok(!proposal.changes.some((c) => c.site.kind === "head_dim"));
  // The only misaligned dims are refused: the plan says so instead of calling the model aligned.
  const text = renderProposal(proposal);
  assert.match(text, /No dim can be changed exactly: all \d+ misaligned dim\(s\) this strategy would pad are refused/);
  assert.doesNotMatch(text, /already aligned/);
  await assert.rejects(repairCheckpoint(input, join(root, "dsvd-yarn-strict"), { strategy: "MINIMAL", strict: true }), isCode("UNSUPPORTED"));
});

test("other files of the checkpoint are copied, other weight formats are not", async () => {
  const input = await fixture("qwen2-bias", "qwen-extra");
  await writeFile(join(input, "tokenizer.json"), '{"v":1}');
  await writeFile(join(input, "pytorch_model.bin"), "stale");
  const r = await repairCheckpoint(input, join(root, "qwen-extra-out"), { strategy: "MINIMAL" });
  assert.equal(await readFile(join(r.outDir, "tokenizer.json"), "utf8"), '{"v":1}');
  await assert.rejects(readFile(join(r.outDir, "pytorch_model.bin")), /ENOENT/);
  assert.ok(r.warnings.some((w) => w.startsWith("pytorch_model.bin")));
});
