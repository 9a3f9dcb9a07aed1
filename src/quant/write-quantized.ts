/**
 * A dense checkpoint -> the same model stored quantized (every projection weight, each low-rank or
 * PaLU factor on its own; embeddings, norms, biases and lm_head kept as they are), with
 * the reference quantizer. Returns what each logical weight dequantizes to, for checks.
 */
import { resolve } from "node:path";
import { decodeToFloat64 } from "../checkpoint/dtype-codec.js";
import { openCheckpoint } from "../checkpoint/open.js";
import { readTensorBytes } from "../checkpoint/safetensors-read.js";
import { writeCheckpoint, type WritableTensor } from "../checkpoint/safetensors-write.js";
import { linearFactors, layerLinears } from "../model/layer-linears.js";
import { loadModelSpec } from "../model/load-model-spec.js";
import { publishDirectoryAtomically } from "../util/atomic.js";
import { GacError } from "../errors.js";
import { schemeConfig, type QuantScheme } from "./quant-config.js";
import { storedName } from "./quantized-layout.js";
import { quantizeWeight } from "./reference-quantizer.js";

export async function quantizeCheckpoint(srcDir: string, outDir: string, scheme: QuantScheme, opts: { force?: boolean } = {}): Promise<Map<string, Float64Array>> {
  const ckpt = await openCheckpoint(resolve(srcDir));
  const spec = loadModelSpec(ckpt);
  if (spec.quantization) throw new GacError("UNSUPPORTED", `${ckpt.dir} is already quantized (${spec.quantization.description})`);
  const weights = new Set(spec.layers.flatMap((l) => layerLinears(l).flatMap(({ linear }) => linearFactors(linear).map((w) => w.tensor))));
  const dequantized = new Map<string, Float64Array>();
  const tensors: WritableTensor[] = [];
  for (const [name, entry] of ckpt.tensors) {
    const bytes = await readTensorBytes(entry);
    if (!weights.has(name)) {
      tensors.push({ name, dtype: entry.dtype, shape: entry.shape, data: bytes });
      continue;
    }
    const [n, k] = entry.shape;
    const q = quantizeWeight(name, decodeToFloat64(bytes, entry.dtype), n, k, scheme);
    const base = name.replace(/\.weight$/, "");
    for (const [role, t] of Object.entries(q.tensors)) tensors.push({ name: storedName(scheme, base, role), dtype: t.dtype, shape: t.shape, data: t.bytes });
    dequantized.set(name, q.dequantized);
  }
  const config = { ...ckpt.config, quantization_config: schemeConfig(scheme) };
  await publishDirectoryAtomically(resolve(outDir), (tmp) => writeCheckpoint(tmp, { config, tensors }), { force: opts.force });
  return dequantized;
}
