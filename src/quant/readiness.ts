/**
 * Which quantization formats can take every layer of a (compressed, 16-bit) model as it is, and
 * what zero-padding makes each one possible: `gac quant`. Pure: a ModelSpec in, a report out.
 *
 * Every stored weight matrix [N, K] of the attention and MLP projections (each factor of a
 * low-rank pair or PaLU group on its own: the second factor's K is the rank) is checked against
 * each format's rules (formats.ts). A failing size is traced to the dim that made it, and the
 * padded size that satisfies the format on that axis (the least common multiple of its rules) is
 * given where gac's exact repairs can pad that dim: MLP width, low-rank ranks, PaLU group ranks,
 * head_dim (per head, kept even for RoPE). hidden_size is never padded (RMSNorm averages over it).
 * Embeddings and lm_head are left out: quantizers keep them in 16 bits by default.
 */
import { layerLinears, type LinearModule } from "../model/layer-linears.js";
import type { LayerSpec, LinearSpec, ModelSpec } from "../model/types.js";
import { currentFormat } from "./current-format.js";
import { axisMultiple, quantFormat, QUANT_FORMATS, type QuantFormat, type QuantFormatId, type QuantOutcome } from "./formats.js";

/** Where one axis size of a weight comes from. */
export type SizeOrigin =
  | { dim: "hidden"; value: number }
  | { dim: "intermediate"; value: number }
  | { dim: "rank"; value: number }
  | { dim: "head_dim"; value: number; heads: number }
  | { dim: "group_ranks"; value: number; ranks: number[] };

export interface WeightShape {
  layer: number;
  module: LinearModule;
  tensor: string;
  n: SizeOrigin;
  k: SizeOrigin;
}

const size = (o: SizeOrigin) => (o.dim === "head_dim" ? o.value * o.heads : o.value);

function projectionOrigin(layer: LayerSpec, module: LinearModule, side: "in" | "out", spec: ModelSpec): SizeOrigin {
  const a = layer.attn;
  const hidden: SizeOrigin = { dim: "hidden", value: spec.hiddenSize };
  const attnOut = (heads: number, d: number): SizeOrigin => ({ dim: "head_dim", value: d, heads });
  switch (module) {
    case "self_attn.q_proj":
      return side === "in" ? hidden : attnOut(a.numHeads, a.headDim);
    case "self_attn.k_proj":
      return side === "in" ? hidden : attnOut(a.numKvHeads, a.headDim);
    case "self_attn.v_proj":
      return side === "in" ? hidden : attnOut(a.numKvHeads, a.headDimV);
    case "self_attn.o_proj":
      return side === "in" ? attnOut(a.numHeads, a.headDimV) : hidden;
    case "mlp.gate_proj":
    case "mlp.up_proj":
      return side === "in" ? hidden : { dim: "intermediate", value: layer.mlp.intermediate };
    case "mlp.down_proj":
      return side === "in" ? { dim: "intermediate", value: layer.mlp.intermediate } : hidden;
  }
}

/** The stored matrices of one linear, each with the origin of its N and K. */
function weightsOf(layer: LayerSpec, module: LinearModule, linear: LinearSpec, spec: ModelSpec): WeightShape[] {
  const inO = projectionOrigin(layer, module, "in", spec);
  const outO = projectionOrigin(layer, module, "out", spec);
  const at = (tensor: string, n: SizeOrigin, k: SizeOrigin): WeightShape => ({ layer: layer.index, module, tensor, n, k });
  switch (linear.kind) {
    case "dense":
      return [at(linear.weight.tensor, outO, inO)];
    case "lowrank": {
      const r: SizeOrigin = { dim: "rank", value: linear.rank };
      return [at(linear.first.tensor, r, inO), at(linear.second.tensor, outO, r)];
    }
    case "grouped": {
      const sum: SizeOrigin = { dim: "group_ranks", value: linear.ranks.reduce((x, y) => x + y, 0), ranks: [...linear.ranks] };
      const heads = outO.dim === "head_dim" ? outO.heads / linear.groups.length : 1;
      const d = outO.dim === "head_dim" ? outO.value : linear.groupDim;
      return [at(linear.first.tensor, sum, inO), ...linear.groups.map((g, i) => at(g.tensor, { dim: "head_dim", value: d, heads }, { dim: "rank", value: linear.ranks[i] }))];
    }
  }
}

export function modelWeights(spec: ModelSpec): WeightShape[] {
  return spec.layers.flatMap((layer) => layerLinears(layer).flatMap(({ module, linear }) => weightsOf(layer, module, linear, spec)));
}

/** A padding that makes one size a multiple of m, in the terms of the dim that made it. */
export type Fix = { dim: string; from: number; to: number } | { dim: "hidden"; from: number; unpaddable: string };

export function fixFor(origin: SizeOrigin, m: number): Fix {
  const up = (v: number) => Math.ceil(v / m) * m;
  switch (origin.dim) {
    case "hidden":
      return { dim: "hidden", from: origin.value, unpaddable: `hidden_size ${origin.value} is not a multiple of ${m}, and gac does not pad hidden_size (RMSNorm averages over it)` };
    case "intermediate":
    case "rank":
      return { dim: origin.dim, from: origin.value, to: up(origin.value) };
    case "group_ranks":
      return { dim: "group_ranks", from: origin.value, to: origin.ranks.reduce((s, r) => s + up(r), 0) };
    case "head_dim": {
      // heads x D must be a multiple of m, and D even (rotate-half pairs).
      let d = origin.value + (origin.value % 2);
      while ((origin.heads * d) % m !== 0) d += 2;
      return { dim: "head_dim", from: origin.value, to: d };
    }
  }
}

export interface QuantFailure {
  axis: "N" | "K";
  dim: string;
  value: number;
  /** The weights this failure covers. */
  count: number;
  example: string;
  rules: { multiple: number; kind: "format" | "kernel"; why: string; outcome: QuantOutcome; source: string }[];
  fix: Fix;
}

export interface FormatReadiness {
  id: QuantFormatId;
  name: string;
  hardware: string;
  weights: number;
  ok_as_is: number;
  failures: QuantFailure[];
  /** Every failure has a fix gac's repairs can apply. */
  ready_after_padding: boolean;
}

export interface QuantReport {
  schema: "gac-quant/1";
  family: string;
  model_type: string;
  formats: FormatReadiness[];
  /**
   * Present for a quantized checkpoint: the scheme it is stored in, the contract format that is
   * (null when formats.ts has none, e.g. group size 64), and that format's verdict on the stored
   * logical shapes: which rules they break now.
   */
  stored_as?: { scheme: string; format: QuantFormatId | null; readiness: FormatReadiness | null };
}

function formatReadiness(format: QuantFormat, weights: WeightShape[]): FormatReadiness {
  const failures = new Map<string, QuantFailure>();
  let ok = 0;
  for (const w of weights) {
    let fine = true;
    for (const axis of ["N", "K"] as const) {
      const origin = axis === "N" ? w.n : w.k;
      const value = size(origin);
      const broken = format.rules.filter((r) => r.axis === axis && value % r.multiple !== 0);
      if (broken.length === 0) continue;
      fine = false;
      const key = `${axis}/${origin.dim}/${origin.value}/${value}`;
      const seen = failures.get(key);
      if (seen) {
        seen.count++;
        continue;
      }
      failures.set(key, {
        axis,
        dim: origin.dim,
        value,
        count: 1,
        example: w.tensor,
        rules: broken.map(({ multiple, kind, why, outcome, source }) => ({ multiple, kind, why, outcome, source })),
        fix: fixFor(origin, axisMultiple(format, axis)),
      });
    }
    if (fine) ok++;
  }
  const list = [...failures.values()];
  return {
    id: format.id,
    name: format.name,
    hardware: format.hardware,
    weights: weights.length,
    ok_as_is: ok,
    failures: list,
    ready_after_padding: list.every((f) => !("unpaddable" in f.fix)),
  };
}

export function quantReadiness(spec: ModelSpec, formats: readonly QuantFormat[] = QUANT_FORMATS): QuantReport {
  const weights = modelWeights(spec);
  const report: QuantReport = { schema: "gac-quant/1", family: spec.family, model_type: spec.modelType, formats: formats.map((f) => formatReadiness(f, weights)) };
  if (spec.quantization) {
    const id = currentFormat(spec.quantization.scheme);
    report.stored_as = { scheme: spec.quantization.description, format: id, readiness: id === null ? null : formatReadiness(quantFormat(id), weights) };
  }
  return report;
}

export function renderQuantText(report: QuantReport): string {
  const lines = [`Quantization readiness (${report.family}, model_type ${report.model_type}); every projection weight [N, K], embeddings and lm_head left in 16 bits:`, ""];
  const stored = report.stored_as;
  if (stored) {
    const r = stored.readiness;
    lines.push(
      r === null
        ? `Stored as ${stored.scheme} (logical shapes below); gac's contract has no rules for this exact scheme.`
        : r.failures.length === 0
          ? `Stored as ${stored.scheme}: every weight's current shape meets ${r.name}'s rules.`
          : `Stored as ${stored.scheme}: ${r.weights - r.ok_as_is}/${r.weights} weights break ${r.name}'s rules as stored (listed under it below).`,
      "",
    );
  }
  for (const f of report.formats) {
    const verdict = f.failures.length === 0 ? "every layer as it is" : f.ready_after_padding ? "after padding" : "NOT reachable by padding";
    lines.push(`${f.name} [${f.hardware}]: ${f.ok_as_is}/${f.weights} weights fit as they are -> ${verdict}`);
    for (const x of f.failures) {
      const rule = x.rules.map((r) => `${x.axis} % ${r.multiple} (${r.kind}: ${r.why}; otherwise ${r.outcome})`).join("; ");
      const fix = "unpaddable" in x.fix ? `cannot pad: ${x.fix.unpaddable}` : `pad ${x.fix.dim} ${x.fix.from} -> ${x.fix.to}`;
      lines.push(`  ${x.count} x ${x.axis} = ${x.value} (${x.dim}), e.g. ${x.example}: needs ${rule}. Fix: ${fix}`);
    }
  }
  lines.push(
    "",
    "Sources: each rule's `source` in --json. Padding targets are predictions of what the format needs; gac repair pads to 8/16 today (MINIMAL/OPTIMAL), so a format needing 64 or 128 is not yet one repair flag.",
  );
  return lines.join("\n") + "\n";
}
