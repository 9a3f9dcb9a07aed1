/**
 * Seeded randomness, one implementation for fixture weights and verification inputs: the same seed
 * gives the same numbers on every machine, so fixture bytes are reproducible and a failing verify
 * can be rerun exactly.
 */

/** mulberry32: a tiny 32-bit PRNG with a full 2^32 period; plenty for test weights and a few thousand draws. */
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

/** FNV-1a of a string: mixes a name (e.g. a tensor's) into a seed. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * `count` normal draws with mean 0 and the given std from `next` (Box-Muller, two draws per pair).
 * Computed as `std * r * cos(theta)` so that std 1 gives exactly `r * cos(theta)`; callers add a mean.
 */
export function normalDraws(next: () => number, count: number, std = 1): Float64Array {
  const out = new Float64Array(count);
  for (let i = 0; i < count; i += 2) {
    const u = 1 - next(); // in (0, 1]: log(0) never happens
    const r = Math.sqrt(-2 * Math.log(u));
    const theta = 2 * Math.PI * next();
    out[i] = std * r * Math.cos(theta);
    if (i + 1 < count) out[i + 1] = std * r * Math.sin(theta);
  }
  return out;
}

/** `count` token ids, each uniform in [0, vocabSize). */
export function randomTokenIds(seed: number, count: number, vocabSize: number): number[] {
  const next = mulberry32(seed);
  return Array.from({ length: count }, () => Math.floor(next() * vocabSize));
}

/** `count` standard normal draws. */
export function randomNormals(seed: number, count: number): Float64Array {
  return normalDraws(mulberry32(seed), count);
}
