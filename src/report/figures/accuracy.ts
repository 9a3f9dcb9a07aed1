/**
 * Accuracy: what a repair does to the model's output, from `gac eval --json` and `gac verify
 * --device gpu --json` documents (accuracy-input.ts).
 *
 *   - table `accuracy-<input>` per eval input: loss and perplexity per checkpoint and precision, each
 *     repaired row with its loss minus its compressed model's and what that difference is
 *     (accuracy-difference.ts: exact zero, the precision's rounding, the fold's one 16-bit rounding);
 *   - table `verify-gpu`: per repair, the fp32 logit difference and its cause, the serving (bf16)
 *     difference beside the serving noise floor and the bound, and whether it passed;
 *   - figure `verify-serving`: the serving difference of every repair as a point beside its model's
 *     noise floor and bound, one panel per verify input (its own x scale). The fp32 and float64
 *     differences are zero or 1e-6-small and say nothing a table does not, so they get no figure.
 */
import { basename } from "node:path";
import type { TopLevelSpec } from "vega-lite";
import type { EvalDoc, EvalRow, VerifyDoc } from "../accuracy-input.js";
import { classifyEvalDifference, foldRoundedFrom } from "../accuracy-difference.js";
import { environmentSentence } from "../environment.js";
import { formatCount } from "../../errors.js";
import { chartTitle, makeTable, tip, type Row } from "../spec.js";
import { gpuMarkEncoding, gpuPalette, MAX_FIGURE_WIDTH, VEGA_CONFIG } from "../style.js";
import type { Environment, Figure, Table } from "../types.js";
import { uniq } from "../records.js";

/** A checkpoint as tables name it: its directory's last part ("svd-heads-MINIMAL-fold", "palu-llama3-8b (MINIMAL, fold, derived)"). */
export const checkpointName = (dir: string): string => basename(dir.replace(/\/+$/, ""));

const sci = (x: number) => (x === 0 ? "0" : x.toExponential(2));

/**
 * The compressed model a repaired result was made from: the plain (no scale mode) result of the
 * same evaluation and precision whose directory is the longest prefix of the repaired one's, up to
 * a separator ("svd-heads" of "svd-heads-MINIMAL-fold"; "x" of "x (MINIMAL, fold, derived)").
 */
export function compressedOf(r: EvalRow, all: readonly EvalRow[]): EvalRow | undefined {
  if (r.scale_mode === null) return undefined;
  return all
    .filter((b) => b.scale_mode === null && b.precision === r.precision && b.dir.length < r.dir.length && r.dir.startsWith(b.dir) && /[-_ .(]/.test(r.dir[b.dir.length]))
    .sort((a, b) => b.dir.length - a.dir.length)[0];
}

/** One table row per (checkpoint, precision) of one eval input. */
export function evalTableRows(docs: readonly EvalDoc[]): string[][] {
  const rows: string[][] = [];
  for (const doc of docs) {
    const deltaOf = (r: EvalRow) => {
      const base = compressedOf(r, doc.results);
      return base ? { base, delta: r.loss - base.loss } : undefined;
    };
    for (const r of doc.results) {
      const d = deltaOf(r);
      let what = "";
      if (d) {
        const fine = doc.results
          .filter((x) => x.dir === r.dir)
          .flatMap((x) => {
            const dx = deltaOf(x);
            return dx ? [{ precision: x.precision, delta: dx.delta, compressedLoss: dx.base.loss }] : [];
          });
        what = classifyEvalDifference(d.delta, d.base.loss, r.precision, { foldRounded: foldRoundedFrom(r.scale_mode, fine), dtype: r.dtype }).label;
      }
      rows.push([
        checkpointName(r.dir),
        d ? checkpointName(d.base.dir) : "-",
        r.scale_mode ?? "-",
        formatCount(r.params),
        r.precision,
        r.loss.toFixed(6),
        r.perplexity.toFixed(4),
        d ? sci(d.delta) : "-",
        what || "-",
      ]);
    }
  }
  return rows;
}

/** A file-safe table name from an input file ("eval-gpu-real.jsonl" -> "accuracy-eval-gpu-real"). */
function tableName(file: string, taken: Set<string>): string {
  const stem = basename(file)
    .replace(/\.jsonl?$/, "")
    .replace(/[^A-Za-z0-9_-]+/g, "-");
  let name = `accuracy-${stem}`;
  for (let i = 2; taken.has(name); i++) name = `accuracy-${stem}-${i}`;
  taken.add(name);
  return name;
}

function evalWhat(docs: readonly EvalDoc[]): string {
  const d = docs[0];
  const targets = uniq(docs.map((x) => formatCount(x.targets))).join(" / ");
  const where = d.device === "cpu" ? "the CPU float64 forward" : `${d.gpu ?? "the GPU"} (float32 with TF32 off; bfloat16)`;
  const text = d.text_kind === "held-out" ? "the held-out split of the text" : "the text";
  const randomWeights = docs.some((x) => x.results.some((r) => r.tokenizer === "random-weights"));
  return `\`gac eval --json\` on ${where}, ${targets} targets of ${text} (windows of ${d.context} tokens, sha256 ${d.text_sha256.slice(0, 12)}...)${randomWeights ? "; random weights of the real-size shapes, so the losses say nothing about quality, only what the repair changes" : ""}`;
}

export function buildEvalTables(evals: readonly EvalDoc[], envOf: (file: string) => Environment | undefined): Table[] {
  const files = uniq(evals.map((d) => d.file));
  const taken = new Set<string>();
  return files.map((file) => {
    const docs = evals.filter((d) => d.file === file);
    const env = envOf(file);
    const caption =
      `${evalWhat(docs)}. One row per checkpoint and precision; loss = mean NLL in nats, perplexity = exp(loss). ` +
      "A repaired checkpoint (scale fold or logical) shows its loss minus its compressed model's at the same precision, in scientific notation, zero included, and what that difference is: " +
      "exact zero; the precision's rounding (float64 <= 1e-12; float32 <= 1e-6 of the loss; bfloat16 <= one bf16 step, 2^-8 of the loss, where the padded shapes run other kernels); " +
      "the fold's one 16-bit rounding of q_proj x sqrt(D/d) (<= one storage step of the loss, src/eval/repair-difference.ts), told from rounding by the finer precisions of the same checkpoint. " +
      `${env ? environmentSentence([env]) : "Environment: not recorded."}`;
    return makeTable(
      tableName(file, taken),
      `Accuracy: perplexity per checkpoint and precision (${basename(file)})`,
      caption,
      ["Checkpoint", "Compressed model", "Scale", "Params", "Precision", "Loss (nats)", "Perplexity", "Loss - compressed", "What the difference is"],
      evalTableRows(docs),
    );
  });
}

const comparison = (v: VerifyDoc, name: string) => v.comparisons.find((c) => c.name === name);
/** "svd-heads-MINIMAL-fold" of original "svd-heads" -> "MINIMAL-fold"; "x (MINIMAL, fold, derived)" -> "MINIMAL, fold, derived". */
export function repairName(v: Pick<VerifyDoc, "original" | "repaired">): string {
  const o = checkpointName(v.original);
  const r = checkpointName(v.repaired);
  if (!r.startsWith(o)) return r;
  const rest = r
    .slice(o.length)
    .replace(/^[-_ .(]+|\)$/g, "")
    .trim();
  // "MINIMAL-fold" and "MINIMAL, fold, derived" (derived from random weights: the Weights column says so) read alike.
  return rest.replace(/, derived$/, "").replace(/^([A-Z]+)-(fold|logical)$/, "$1, $2") || r;
}

export function verifyTableRows(verifies: readonly VerifyDoc[]): string[][] {
  return verifies.map((v) => {
    const fp32 = comparison(v, "repair_fp32");
    const unrounded = comparison(v, "repair_fp32_unrounded_fold");
    const serving = comparison(v, "repair_serving");
    const floor = comparison(v, "noise_floor_serving");
    const failed = v.comparisons.filter((c) => !c.pass).map((c) => c.name);
    return [
      checkpointName(v.original),
      repairName(v),
      v.weights,
      v.scale_mode ?? "-",
      fp32 ? sci(fp32.max_rel_diff) : "-",
      fp32 ? fp32.cause : "-",
      unrounded ? sci(unrounded.max_rel_diff) : "-",
      serving ? sci(serving.max_rel_diff) : "-",
      floor ? sci(floor.max_rel_diff) : "-",
      serving && Number.isFinite(serving.bound) ? sci(serving.bound) : "-",
      v.pass ? "pass" : `FAIL (${failed.join(", ") || "verify"})`,
    ];
  });
}

function verifyTable(verifies: readonly VerifyDoc[], envs: Environment[]): Table {
  const tokens = uniq(verifies.map((v) => String(v.tokens))).join(" / ");
  const serving = uniq(verifies.map((v) => v.serving)).join(" / ");
  const caption =
    `\`gac verify --device gpu --json\`: each repaired checkpoint against its compressed model on ${uniq(verifies.map((v) => v.gpu)).join(", ")}, ${tokens} random tokens, logits compared as the largest difference relative to the largest logit. ` +
    "fp32: both in float32 with TF32 off, and the cause verify names for the difference; fold unrounded: the fold's products kept in fp32 (what is left is fp32 rounding), for fold repairs that round; " +
    `serving: both in ${serving}, beside the noise floor (the compressed model in ${serving} vs itself in fp32) and the bound, 2x the floor (two ${serving} runs each within the floor of fp32 may be twice that apart). ` +
    `Weights "random": real-size shapes with weights drawn on the GPU and the repair derived from them. ${environmentSentence(envs)}`;
  return makeTable(
    "verify-gpu",
    "Verify on the GPU: logit differences per repair",
    caption,
    ["Compressed model", "Repair", "Weights", "Scale", "fp32 difference", "Cause (fp32)", "Fold unrounded (fp32)", `Serving difference (${serving})`, "Noise floor", "Bound", "Result"],
    verifyTableRows(verifies),
  );
}

const FLOOR = "noise floor (bf16 vs fp32)";
const BOUND = "bound: 2x the noise floor";
const FLOOR_COLOR = "#888888";
const BOUND_COLOR = "#222222";
/** Pixels per row (one repair). */
const ROW_STEP = 16;
/** Room for "llama-direct-svd-llama3-8b · MINIMAL, logical" (45 characters) at the PNG renderer's 0.8 em a character, 10.5 px. */
const LABEL_WIDTH = 400;

function servingPanel(title: string, docs: readonly VerifyDoc[], palette: ReturnType<typeof gpuPalette>): unknown {
  const points: Row[] = [];
  const refs: Row[] = [];
  for (const v of docs) {
    const serving = comparison(v, "repair_serving");
    const floor = comparison(v, "noise_floor_serving");
    if (!serving) continue;
    const model = `${checkpointName(v.original)} · ${repairName(v)}`;
    points.push({
      model,
      repair: repairName(v),
      gpu: v.gpu,
      diff: serving.max_rel_diff,
      bound: Number.isFinite(serving.bound) ? serving.bound : null,
      floor: floor?.max_rel_diff ?? null,
      pass: v.pass ? "pass" : "FAIL",
    });
    if (floor && !refs.some((r) => r.model === model && r.marker === FLOOR)) refs.push({ model, marker: FLOOR, value: floor.max_rel_diff });
    if (Number.isFinite(serving.bound) && !refs.some((r) => r.model === model && r.marker === BOUND)) refs.push({ model, marker: BOUND, value: serving.bound });
  }
  const models = uniq(points.map((p) => String(p.model)));
  const hi = Math.max(...points.map((p) => Number(p.diff)), ...refs.map((r) => Number(r.value))) * 1.08;
  const x = {
    type: "quantitative",
    scale: { domain: [0, hi], nice: false },
    axis: { title: "Serving logit difference, relative to the largest logit", format: ".3f", tickCount: 6, grid: true },
  };
  const y = { field: "model", type: "nominal", title: null, sort: models, axis: { labelLimit: LABEL_WIDTH, ticks: false, domain: false } };
  const present = uniq(refs.map((r) => String(r.marker)));
  return {
    title: { text: title, anchor: "start", frame: "group", fontSize: 12, offset: 4 },
    width: MAX_FIGURE_WIDTH - LABEL_WIDTH - 70,
    height: models.length * ROW_STEP,
    layer: [
      {
        data: { values: refs },
        mark: { type: "tick", thickness: 2.5, size: ROW_STEP - 2 },
        encoding: {
          x: { ...x, field: "value" },
          y,
          color: {
            field: "marker",
            type: "nominal",
            title: null,
            scale: { domain: [FLOOR, BOUND], range: [FLOOR_COLOR, BOUND_COLOR] },
            legend: { values: [FLOOR, BOUND].filter((m) => present.includes(m)), symbolType: "M-0.25,-1H0.25V1H-0.25Z", symbolStrokeWidth: 0, columns: 1 },
          },
          tooltip: [tip("model", "Compressed model"), tip("marker", "Line"), tip("value", "relative difference", ".3e")],
        },
      },
      {
        data: { values: points },
        mark: { type: "point", size: 50, strokeWidth: 1.5, fillOpacity: 1, opacity: 1 },
        encoding: {
          x: { ...x, field: "diff" },
          y,
          ...gpuMarkEncoding(
            palette,
            points.map((p) => String(p.gpu)),
          ),
          tooltip: [
            tip("model", "Compressed model"),
            tip("repair", "Repair"),
            tip("gpu", "GPU"),
            tip("diff", "serving difference", ".3e"),
            tip("floor", "noise floor", ".3e"),
            tip("bound", "bound", ".3e"),
            tip("pass", "Result"),
          ],
        },
      },
    ],
  };
}

/** Panel title of a verify input: what its weights were. */
function panelTitle(docs: readonly VerifyDoc[]): string {
  const random = docs.every((d) => d.weights === "random");
  return random ? "real-size shapes, random weights" : docs.every((d) => d.weights === "checkpoint") ? "trained checkpoints" : "checkpoints and random weights";
}

export function buildAccuracy(
  evals: readonly EvalDoc[],
  verifies: readonly VerifyDoc[],
  envOf: (file: string) => Environment | undefined,
  allGpuLabels: readonly string[],
): { figures: Figure[]; tables: Table[] } {
  const tables = buildEvalTables(evals, envOf);
  const figures: Figure[] = [];
  if (verifies.length > 0) {
    const files = uniq(verifies.map((v) => v.file));
    const envs = files.map(envOf).filter((e): e is Environment => e !== undefined);
    tables.push(verifyTable(verifies, envs));
    const withServing = files.filter((f) => verifies.some((v) => v.file === f && comparison(v, "repair_serving")));
    if (withServing.length > 0) {
      const palette = gpuPalette([...allGpuLabels, ...verifies.map((v) => v.gpu)]);
      const gpus = uniq(verifies.map((v) => v.gpu));
      const caption =
        `Each repair's largest logit difference from its compressed model when both are served in ${uniq(verifies.map((v) => v.serving)).join(" / ")} (a point, GPU colour and shape; a row per repair, named after its compressed model), ` +
        "beside that model's serving noise floor (grey tick: the compressed model in bf16 vs itself in fp32, what serving in bf16 costs anyway) and the verify bound (black tick: 2x the floor). " +
        "A point left of the black tick passed; the fp32 differences (zero or ~1e-6, in the table) are too small to draw at this scale. One panel per verify input, each with its own x scale. " +
        environmentSentence(envs);
      const spec = {
        title: chartTitle("Verify: serving difference of each repair beside the noise floor", [
          `${gpus.join(", ")}; ${uniq(verifies.map((v) => String(v.tokens))).join(" / ")} random tokens; one panel per input`,
        ]),
        config: { ...VEGA_CONFIG, legend: { ...VEGA_CONFIG.legend, columns: 2 } },
        vconcat: withServing.map((f) =>
          servingPanel(
            panelTitle(verifies.filter((v) => v.file === f)),
            verifies.filter((v) => v.file === f),
            palette,
          ),
        ),
        spacing: 18,
        resolve: { scale: { x: "independent", y: "independent" } },
      } as unknown as TopLevelSpec;
      figures.push({ name: "verify-serving", title: "Verify: serving difference beside the noise floor", caption, spec });
    }
  }
  return { figures, tables };
}
