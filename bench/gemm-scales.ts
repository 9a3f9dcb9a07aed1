/**
 * Writes a GPU's measured whole-model GEMM ratios beside its profile (src/bench/e2e/gemm-scales-file.ts),
 * from the run files of bench/e2e_sustained_gemm.py, so `gac bench e2e` uses them as bench/e2e-check.ts does:
 *
 *   npx tsx bench/gemm-scales.ts results/20261202T101700Z-sustained-gemm profiles/nvidia-h200.json
 */
import { relative, resolve } from "node:path";
import { gemmScalesPath, renderGemmScales } from "../src/bench/e2e/gemm-scales-file.js";
import { readSustainedGemm } from "../src/bench/e2e/mechanism-files.js";
import { writeFileAtomic } from "../src/util/atomic.js";

const [dir, profile] = process.argv.slice(2);
if (!dir || !profile) throw new Error("usage: npx tsx bench/gemm-scales.ts <results dir of bench/e2e_sustained_gemm.py> <profiles/<gpu>.json>");
const runs = (await readSustainedGemm(resolve(dir))).map((e) => ({ ...e, source: relative(process.cwd(), e.source) || e.source }));
const out = gemmScalesPath(resolve(profile));
await writeFileAtomic(out, renderGemmScales(runs));
process.stdout.write(`wrote ${relative(process.cwd(), out)}: ${runs.map((r) => `${r.graph ? "graph" : "eager"} M=${r.tokens} ${r.ratios.join(", ")}`).join("; ")}\n`);
