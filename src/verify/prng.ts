/**
 * Seeded randomness for verification inputs: the same seed gives the same token ids and hidden
 * states on every machine, so a failing verify can be rerun exactly. mulberry32: 32-bit state,
 * period 2^32, plenty for a few thousand draws.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` token ids, each uniform in [0, vocabSize). */
export function randomTokenIds(seed: number, count: number, vocabSize: number): number[] {
  const next = mulberry32(seed);
  return Array.from({ length: count }, () => Math.floor(next() * vocabSize));
}

/** `count` standard normal draws (Box-Muller). */
export function randomNormals(seed: number, count: number): Float64Array {
  const next = mulberry32(seed);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i += 2) {
    const u = 1 - next(); // (0, 1]: log(0) is avoided
    const r = Math.sqrt(-2 * Math.log(u));
    const theta = 2 * Math.PI * next();
    out[i] = r * Math.cos(theta);
    if (i + 1 < count) out[i + 1] = r * Math.sin(theta);
  }
  return out;
}
