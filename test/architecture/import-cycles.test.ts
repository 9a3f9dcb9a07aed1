import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

const SRC = fileURLToPath(new URL("../../src/", import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
}

/** Relative imports and re-exports of a file (type-only ones too: a circle of types is still a circle of owners). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"/gm)].map((m) => normalize(join(dirname(file), m[1].replace(/\.js$/, ".ts"))));
}

/** Every import circle among the files (Tarjan's strongly connected components of size > 1). */
function importCycles(files: string[]): string[][] {
  const graph = new Map(files.map((f) => [f, importsOf(f).filter((d) => files.includes(d))]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1) cycles.push(comp);
    }
  };
  for (const f of files) if (!index.has(f)) visit(f);
  return cycles;
}

test("src/ has no import circles (type-only imports included)", () => {
  const cycles = importCycles(sourceFiles(SRC)).map((c) => c.map((f) => relative(SRC, f)).sort());
  assert.deepEqual(cycles, []);
});

test("a circle of two files is found", () => {
  const dir = mkdtempSync(join(tmpdir(), "gac-cycles-"));
  try {
    writeFileSync(join(dir, "a.ts"), 'import { b } from "./b.js";\nexport const a = 1;\n');
    writeFileSync(join(dir, "b.ts"), 'import type { a } from "./a.js";\nexport const b = 2;\n');
    writeFileSync(join(dir, "c.ts"), 'import { a } from "./a.js";\n');
    assert.deepEqual(
      importCycles(sourceFiles(dir)).map((c) => c.map((f) => relative(dir, f)).sort()),
      [["a.ts", "b.ts"]],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
