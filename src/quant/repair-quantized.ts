/**
 * Repair of a quantized checkpoint: the plan of the 16-bit repair (planRepair, screenChanges), its
 * padding targets raised to the least common multiple of the kernel alignment the strategy chose
 * and the stored format's block and kernel rules (formats.ts axisMultiple, both axes: a padded
 * width is N of one weight and K of the next), then every quantized weight padded in the quantized
 * domain (pad-quantized.ts) and every other tensor as the 16-bit repair pads it.
 *
 * Whole tensors are held in memory: this is for checkpoints the size of the fixtures, not the
 * streaming path of repair/ (not built for quantized checkpoints yet). head_dim changes are
 * refused: padding head_dim folds the attention scale into q_proj, and folding it into quantized
 * scales rounds differently. Output is built aside and moved into place.
 */
import { resolve } from "node:path";
import { openCheckpoint } from "../checkpoint/open.js";
import { readTensorBytes } from "../checkpoint/safetensors-read.js";
import { writeCheckpoint, type WritableTensor } from "../checkpoint/safetensors-write.js";
import type { TensorEntry } from "../checkpoint/types.js";
import { GacError } from "../errors.js";
import { loadModelSpec } from "../model/load-model-spec.js";
import { planRepair } from "../plan/plan-repair.js";
import type { DimChange, Refusal, Strategy } from "../plan/types.js";
import { updateConfig } from "../repair/config-update.js";
import { screenChanges } from "../repair/exactness.js";
import { keepLayout } from "../repair/rules/layout.js";
import { transformBlock } from "../repair/stream-shard.js";
import { tensorEdits, type TensorEdit } from "../repair/tensor-edits.js";
import { publishDirectoryAtomically } from "../util/atomic.js";
import { currentFormat } from "./current-format.js";
import type { StoredTensors } from "./dequantize.js";
import { axisMultiple, lcm, quantFormat } from "./formats.js";
import { padQuantizedWeight } from "./pad-quantized.js";
import type { QuantScheme } from "./quant-config.js";
import { storedName, type QuantizedWeight } from "./quantized-layout.js";

/** What every padded width of a checkpoint stored in `s` must be a multiple of, from the format alone. */
export function quantizedMultiple(s: QuantScheme): number {
  const id = currentFormat(s);
  const f = id === null ? undefined : quantFormat(id);
  const fromRules = f ? lcm(axisMultiple(f, "N"), axisMultiple(f, "K")) : 1;
  switch (s.method) {
    case "gptq":
    case "awq":
      return lcm(fromRules, lcm(8, s.groupSize === -1 ? 1 : s.groupSize));
    case "fp8":
      return s.block ? lcm(fromRules, lcm(s.block[0], s.block[1])) : fromRules;
    case "nvfp4":
      return lcm(fromRules, 16);
  }
}

/** The largest power of two (up to 128) dividing the strategy's target: the kernel alignment it chose. */
const kernelMultiple = (to: number) => {
  let m = 1;
  while (m < 128 && to % (m * 2) === 0) m *= 2;
  return m;
};

export interface QuantizedRepairResult {
  scheme: string;
  /** The padded dims, each with the multiple its target satisfies. */
  changes: (DimChange & { multiple: number })[];
  skipped: Refusal[];
  edits: number;
}

export async function repairQuantizedCheckpoint(inDir: string, outDir: string, opts: { strategy: Strategy; force?: boolean }): Promise<QuantizedRepairResult> {
  const ckpt = await openCheckpoint(resolve(inDir));
  const spec = loadModelSpec(ckpt);
  const q = spec.quantization;
  if (q === undefined) throw new GacError("UNSUPPORTED", `${ckpt.dir} is not quantized (no quantization_config): use gac repair`);
  const plan = planRepair(spec, opts.strategy);
  const screened = screenChanges(spec, plan.changes, "fold");
  const skipped: Refusal[] = [...plan.refusals, ...screened.refusals];
  const quantM = quantizedMultiple(q.scheme);
  const changes: (DimChange & { multiple: number })[] = [];
  for (const c of screened.accepted) {
    if (c.site.kind === "head_dim") {
      skipped.push({ id: c.id, value: c.from, reason: "head_dim padding of a quantized checkpoint folds the attention scale into quantized q_proj scales; not built" });
      continue;
    }
    const multiple = lcm(kernelMultiple(c.to), quantM);
    changes.push({ ...c, to: Math.ceil(c.from / multiple) * multiple, multiple });
  }
  const lookup = (name: string) => {
    const w = q.weights.get(name);
    if (w) return { dtype: spec.dtype, shape: [w.n, w.k] };
    const t = ckpt.tensors.get(name);
    if (!t) throw new GacError("UNSUPPORTED", `the model spec names tensor '${name}', which the checkpoint does not have`);
    return t;
  };
  const edits = new Map(tensorEdits(spec, changes, "fold", lookup).map((e) => [e.tensor, e]));
  const out: WritableTensor[] = [];
  const storedOf = new Map<string, string>(); // stored tensor -> its logical weight
  for (const [logical, w] of q.weights) for (const t of Object.values(w.tensors)) storedOf.set(t, logical);
  const done = new Set<string>();
  for (const [name, entry] of ckpt.tensors) {
    const logical = storedOf.get(name);
    if (logical !== undefined) {
      if (done.has(logical)) continue;
      done.add(logical);
      out.push(...(await quantizedTensors(q.scheme, q.weights.get(logical)!, edits.get(logical), ckpt.tensors)));
      continue;
    }
    const bytes = await readTensorBytes(entry);
    const e = edits.get(name);
    out.push(e ? { name, dtype: entry.dtype, shape: e.to, data: concat(transformBlock(bytes, 0, e, entry.dtype)) } : { name, dtype: entry.dtype, shape: entry.shape, data: bytes });
  }
  const config = updateConfig(ckpt.config, spec, changes).config;
  await publishDirectoryAtomically(resolve(outDir), (tmp) => writeCheckpoint(tmp, { config, tensors: out }), { force: opts.force });
  return { scheme: q.description, changes, skipped, edits: edits.size };
}

async function quantizedTensors(scheme: QuantScheme, w: QuantizedWeight, edit: TensorEdit | undefined, tensors: ReadonlyMap<string, TensorEntry>): Promise<WritableTensor[]> {
  const stored: StoredTensors = {};
  for (const [role, name] of Object.entries(w.tensors)) {
    const entry = tensors.get(name)!;
    stored[role] = { dtype: entry.dtype, bytes: await readTensorBytes(entry), shape: entry.shape };
  }
  if (edit?.scale !== undefined) throw new GacError("UNSUPPORTED", `'${w.base}' would need a folded scale (${edit.scale}); quantized weights are padded without scaling`);
  const padded = edit === undefined ? undefined : padQuantizedWeight(scheme, w, stored, edit.rows ?? keepLayout(w.n), edit.cols ?? keepLayout(w.k));
  return Object.entries(padded?.tensors ?? stored).map(([role, t]) => ({
    name: storedName(scheme, w.base, role),
    dtype: t.dtype,
    shape: [...(t.shape ?? [])],
    data: t.bytes,
  }));
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
