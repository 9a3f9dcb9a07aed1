/**
 * LlamaRMSNorm in float64, in HF's order: variance = mean(x^2); x = x * rsqrt(variance + eps);
 * return weight * x. Applied to each of `rows` rows of width `width`.
 */
export function rmsNorm(x: Float64Array, rows: number, width: number, weight: Float64Array, eps: number): Float64Array {
  const out = new Float64Array(rows * width);
  for (let r = 0; r < rows; r++) {
    const off = r * width;
    let sumSq = 0;
    for (let i = 0; i < width; i++) sumSq += x[off + i] * x[off + i];
    const inv = 1 / Math.sqrt(sumSq / width + eps);
    for (let i = 0; i < width; i++) out[off + i] = weight[i] * (x[off + i] * inv);
  }
  return out;
}
