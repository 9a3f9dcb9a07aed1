// A header-only (sparse) Llama-3-8B-shaped checkpoint whose MLP is uniformly `width` channels wide:
// the model of the tensor-parallel runs (docs/tensor-parallel.md). 11472 is a multiple of 16 whole
// but 1434 per GPU at TP 8. Uses the fixtures' own writer from dist/ (run `npm run build` first).
//   node bench/tp-fixture.mjs <out-dir> [width]
import { rm } from "node:fs/promises";
import { LLAMA3_8B } from "../dist/fixtures/base-models.js";
import { REAL_SCALE_SHARD_BYTES } from "../dist/fixtures/generate.js";
import { alignedSpec } from "../dist/fixtures/specs.js";
import { writeSparseCheckpoint } from "../dist/fixtures/sparse-checkpoint.js";

const [dir, widthText = "11472"] = process.argv.slice(2);
const width = Number(widthText);
if (!dir || !Number.isSafeInteger(width) || width <= 0) {
  console.error("usage: node bench/tp-fixture.mjs <out-dir> [mlp width, default 11472]");
  process.exit(1);
}
const spec = alignedSpec(`Llama-3-8B with a uniformly pruned MLP of ${width}`, { ...LLAMA3_8B, intermediate: width });
await rm(dir, { recursive: true, force: true });
await writeSparseCheckpoint(dir, {
  config: { ...spec.config, torch_dtype: "bfloat16" },
  tensors: spec.tensors.map((t) => ({ name: t.name, dtype: "BF16", shape: t.shape })),
  maxShardBytes: REAL_SCALE_SHARD_BYTES,
});
console.log(`${dir}: ${spec.description}`);
