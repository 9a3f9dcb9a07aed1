/**
 * Linear maps as the checkpoint stores them, applied to `rows` row vectors at once, in float64.
 * Weights are [out, in] row-major (nn.Linear), so each output is a dot product of two contiguous rows.
 */
import { GacError } from "../errors.js";
import type { LinearSpec, WeightRef } from "../model/types.js";
import { requireWeight, type Weights } from "./tensor-store.js";

/** y[rows, out] = x[rows, in] W^T + b, reading x with a row stride and column offset (PaLU group slices). */
export function matmulWeight(x: Float64Array, rows: number, xStride: number, xOffset: number, w: Float64Array, bias: Float64Array | undefined, inDim: number, outDim: number): Float64Array {
  const y = new Float64Array(rows * outDim);
  for (let r = 0; r < rows; r++) {
    const xo = r * xStride + xOffset;
    for (let o = 0; o < outDim; o++) {
      const wo = o * inDim;
      let acc = 0;
      for (let i = 0; i < inDim; i++) acc += x[xo + i] * w[wo + i];
      y[r * outDim + o] = bias === undefined ? acc : acc + bias[o];
    }
  }
  return y;
}

function applyRef(ref: WeightRef, weights: Weights, x: Float64Array, rows: number, xStride: number, xOffset: number): Float64Array {
  const w = requireWeight(weights, ref.tensor, ref.out * ref.in);
  const b = ref.bias === undefined ? undefined : requireWeight(weights, ref.bias, ref.out);
  return matmulWeight(x, rows, xStride, xOffset, w, b, ref.in, ref.out);
}

/** x [rows, spec.in] -> [rows, spec.out]. */
export function applyLinear(spec: LinearSpec, weights: Weights, x: Float64Array, rows: number): Float64Array {
  switch (spec.kind) {
    case "dense":
      return applyRef(spec.weight, weights, x, rows, spec.in, 0);
    case "lowrank": {
      const mid = applyRef(spec.first, weights, x, rows, spec.in, 0);
      return applyRef(spec.second, weights, mid, rows, spec.first.out, 0);
    }
    case "grouped": {
      // PaLU HeadwiseLowRankModule: latent = VT x; group g reads latent[:, offset_g : offset_g + r_g].
      const latentWidth = spec.first.out;
      const latent = applyRef(spec.first, weights, x, rows, spec.in, 0);
      const y = new Float64Array(rows * spec.out);
      let offset = 0;
      spec.groups.forEach((g, gi) => {
        if (offset + g.in > latentWidth || g.out !== spec.groupDim) {
          throw new GacError("UNKNOWN_LAYOUT", `'${g.tensor}' [${g.out}, ${g.in}] does not fit group ${gi} (latent rows ${offset}..${offset + g.in} of ${latentWidth}, group width ${spec.groupDim})`);
        }
        const part = applyRef(g, weights, latent, rows, latentWidth, offset);
        for (let r = 0; r < rows; r++) y.set(part.subarray(r * g.out, (r + 1) * g.out), r * spec.out + gi * spec.groupDim);
        offset += spec.ranks[gi];
      });
      return y;
    }
  }
}
