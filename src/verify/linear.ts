/**
 * Linear maps as the checkpoint stores them, applied to `rows` row vectors at once, in float64.
 * Weights are [out, in] row-major (nn.Linear), so each output is a dot product of two contiguous rows.
 */
import { GacError } from "../errors.js";
import type { LinearSpec, WeightRef } from "../model/types.js";
import { requireWeight, type Weights } from "./tensor-store.js";

/**
 * y[rows, out] = x[rows, in] W^T + b, reading x with a row stride and column offset (PaLU group slices).
 *
 * Blocked 4 rows x 4 outputs (16 accumulators held in registers: ~3 GFLOP/s on one core against
 * ~0.5 for one dot product at a time). Every output is still one dot product summed over i = 0..in-1
 * in order, then + bias: the blocking changes which outputs are computed together, never the
 * arithmetic of one output, so results are bit-identical to the plain loop (tested), and a zero
 * column or row added by repair adds exact zeros at the same place in the sum.
 */
export function matmulWeight(x: Float64Array, rows: number, xStride: number, xOffset: number, w: Float64Array, bias: Float64Array | undefined, inDim: number, outDim: number): Float64Array {
  const y = new Float64Array(rows * outDim);
  const rows4 = rows - (rows % 4);
  const out4 = outDim - (outDim % 4);
  for (let r = 0; r < rows4; r += 4) {
    const x0 = r * xStride + xOffset;
    const x1 = x0 + xStride;
    const x2 = x1 + xStride;
    const x3 = x2 + xStride;
    for (let o = 0; o < out4; o += 4) {
      const w0 = o * inDim;
      const w1 = w0 + inDim;
      const w2 = w1 + inDim;
      const w3 = w2 + inDim;
      let a00 = 0,
        a01 = 0,
        a02 = 0,
        a03 = 0,
        a10 = 0,
        a11 = 0,
        a12 = 0,
        a13 = 0;
      let a20 = 0,
        a21 = 0,
        a22 = 0,
        a23 = 0,
        a30 = 0,
        a31 = 0,
        a32 = 0,
        a33 = 0;
      for (let i = 0; i < inDim; i++) {
        const b0 = w[w0 + i];
        const b1 = w[w1 + i];
        const b2 = w[w2 + i];
        const b3 = w[w3 + i];
        let c = x[x0 + i];
        a00 += c * b0;
        a01 += c * b1;
        a02 += c * b2;
        a03 += c * b3;
        c = x[x1 + i];
        a10 += c * b0;
        a11 += c * b1;
        a12 += c * b2;
        a13 += c * b3;
        c = x[x2 + i];
        a20 += c * b0;
        a21 += c * b1;
        a22 += c * b2;
        a23 += c * b3;
        c = x[x3 + i];
        a30 += c * b0;
        a31 += c * b1;
        a32 += c * b2;
        a33 += c * b3;
      }
      storeRow(y, r * outDim + o, o, bias, a00, a01, a02, a03);
      storeRow(y, (r + 1) * outDim + o, o, bias, a10, a11, a12, a13);
      storeRow(y, (r + 2) * outDim + o, o, bias, a20, a21, a22, a23);
      storeRow(y, (r + 3) * outDim + o, o, bias, a30, a31, a32, a33);
    }
    for (let rr = r; rr < r + 4; rr++) dotRange(x, rr * xStride + xOffset, w, bias, inDim, out4, outDim, y, rr * outDim);
  }
  for (let r = rows4; r < rows; r++) dotRange(x, r * xStride + xOffset, w, bias, inDim, 0, outDim, y, r * outDim);
  return y;
}

function storeRow(y: Float64Array, at: number, o: number, bias: Float64Array | undefined, a0: number, a1: number, a2: number, a3: number): void {
  if (bias === undefined) {
    y[at] = a0;
    y[at + 1] = a1;
    y[at + 2] = a2;
    y[at + 3] = a3;
  } else {
    y[at] = a0 + bias[o];
    y[at + 1] = a1 + bias[o + 1];
    y[at + 2] = a2 + bias[o + 2];
    y[at + 3] = a3 + bias[o + 3];
  }
}

/** Outputs [oFrom, oTo) of one row, one dot product each (the blocks' remainder). */
function dotRange(x: Float64Array, xo: number, w: Float64Array, bias: Float64Array | undefined, inDim: number, oFrom: number, oTo: number, y: Float64Array, yo: number): void {
  for (let o = oFrom; o < oTo; o++) {
    const wo = o * inDim;
    let acc = 0;
    for (let i = 0; i < inDim; i++) acc += x[xo + i] * w[wo + i];
    y[yo + o] = bias === undefined ? acc : acc + bias[o];
  }
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
