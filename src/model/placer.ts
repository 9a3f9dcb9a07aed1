/**
 * Bookkeeping for "every tensor is placed or the layout is unknown": buildModelSpec takes each
 * tensor it understands from a TensorPlacer, and whatever is left at the end names the first
 * tensor gac could not place. "First" is natural order (digit runs compare as numbers, so
 * layers.2 comes before layers.10), which does not depend on shard order.
 */
import type { Dtype, TensorShapes } from "../checkpoint/types.js";

export interface TensorInfo {
  name: string;
  dtype: Dtype;
  shape: readonly number[];
}

export class TensorPlacer {
  private readonly placed = new Set<string>();

  constructor(private readonly shapes: TensorShapes) {}

  has(name: string): boolean {
    return this.shapes.has(name);
  }

  /** Marks `name` as placed and returns its dtype and shape; undefined when it is absent. */
  take(name: string): TensorInfo | undefined {
    const t = this.shapes.get(name);
    if (t === undefined) return undefined;
    this.placed.add(name);
    return { name, dtype: t.dtype, shape: t.shape };
  }

  /** Tensors not placed yet whose name starts with `prefix`, in natural order. */
  unplaced(prefix = ""): string[] {
    const left: string[] = [];
    for (const name of this.shapes.keys()) {
      if (!this.placed.has(name) && name.startsWith(prefix)) left.push(name);
    }
    return left.sort(naturalCompare);
  }

  /** A clause for error messages: "; the first tensor gac could not place is 'x'" (or ""). */
  firstUnplacedClause(prefix = ""): string {
    const first = this.unplaced(prefix)[0];
    return first === undefined ? "" : `; the first tensor gac could not place is '${first}'`;
  }
}

/** "layers.2.x" < "layers.10.x": runs of digits compare by value, everything else by code unit. */
function naturalCompare(a: string, b: string): number {
  const ra = a.match(/\d+|\D+/g) ?? [];
  const rb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(ra.length, rb.length); i++) {
    const x = ra[i];
    const y = rb[i];
    if (x === y) continue;
    const xDigits = /^\d/.test(x);
    const yDigits = /^\d/.test(y);
    if (xDigits && yDigits && Number(x) !== Number(y)) return Number(x) - Number(y);
    return x < y ? -1 : 1;
  }
  return ra.length - rb.length;
}
