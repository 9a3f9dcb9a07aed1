/**
 * The benchmark suites as data. Each reproduces one experiment of the seeds' research record (an
 * A100 study; see profiles/a100-published.json for its numbers) with shapes and ranges that can be
 * overridden. `expandSuite` turns a suite and its config into cases: a stable id, the parameters
 * a report groups by, and the job body the worker runs.
 *
 * Case ids are `<suite>/<key>=<value>/...` over the params sorted by key, without `op` (the suite
 * fixes it): "S1/backend=AUTO/batch=4/causal=false/dtype=fp16/head_dim=107/heads=32/kv_heads=32/
 * kv_len=2048/q_len=2048". They never change for the same parameters, so reruns and merges can
 * match cases across runs.
 *
 * Time budget (the brief: the whole set in under ~8 minutes on one H100): see SUITE_ESTIMATE_NOTE.
 */
import { GacError } from "../errors.js";
import type { BenchDtype, JsonValue, SdpaBackend, WorkerJobBody } from "./protocol.js";

export type ParamValue = string | number | boolean | number[];

export interface BenchCase {
  suite: string;
  /** Stable id: suite + params sorted by key (op left out). */
  case: string;
  /** What a report groups by: the job's parameters plus descriptive ones (strategy, probe), and op. */
  params: Record<string, ParamValue>;
  /** The worker job body (the client adds type and id). */
  job: WorkerJobBody;
  /** Rough seconds this case takes with the worker's stopping rule (for ETA before any case ran). */
  estimateS: number;
}

/** A suite's knobs: every key has a default; overrides must keep the default's kind. */
export type SuiteConfig = Record<string, number | boolean | string | number[] | string[]>;

interface Suite {
  name: string;
  /** One line: what it measures and which seed experiment it reproduces. */
  summary: string;
  defaults: SuiteConfig;
  /** Overrides applied by --quick: tiny shapes for smoke runs and tests. */
  quick: SuiteConfig;
  /**
   * False for a suite run only when named: `all` is the committed 655-case run whose counts and
   * budget (SUITE_ESTIMATE_NOTE) stay as they were when a suite is added. Default true.
   */
  inAll?: boolean;
  build(config: SuiteConfig): CaseInput[];
}

/** What a suite's build returns; expandSuite adds suite, id and estimate. */
interface CaseInput {
  params: Record<string, ParamValue>;
  job: WorkerJobBody;
  estimateS?: number;
}

export const SUITE_ESTIMATE_NOTE =
  "Estimates assume ~0.5 s per timed case (stopping rule: min samples, min time, noise target), ~0.15 s per " +
  "acceptance probe and ~1.5 s per MATH-backend case: the default set (`all`) is 655 cases, ~310 s of measurement " +
  "(S1 179, S2 30, C21 100, G3 194, G4 97, P1 20, HET1 3, decode 12, GQA 20), about 5-6 minutes on one H100 with worker start. " +
  "G5 (real-model GEMM sizes, 240 cases, ~120 s) runs only when named.";

/** Seconds per case used for ETA before any case has run. */
const ESTIMATE_S = { timed: 0.5, probe: 0.15, math: 1.5 } as const;

// ---------------------------------------------------------------------------------------------
// Config access: typed getters over the merged config (validated in mergeConfig).

function num(c: SuiteConfig, key: string): number {
  const v = c[key];
  if (typeof v !== "number") throw new Error(`suite config '${key}' is not a number`);
  return v;
}
function nums(c: SuiteConfig, key: string): number[] {
  const v = c[key];
  if (!Array.isArray(v) || !v.every((x): x is number => typeof x === "number")) throw new Error(`suite config '${key}' is not a number list`);
  return v;
}
function strs(c: SuiteConfig, key: string): string[] {
  const v = c[key];
  if (!Array.isArray(v) || !v.every((x): x is string => typeof x === "string")) throw new Error(`suite config '${key}' is not a string list`);
  return v;
}
/** lo..hi inclusive, every `step`. */
export function range(lo: number, hi: number, step = 1): number[] {
  const out: number[] = [];
  for (let x = lo; x <= hi; x += step) out.push(x);
  return out;
}

export function roundUp(x: number, multiple: number): number {
  return Math.ceil(x / multiple) * multiple;
}

const DTYPES: readonly BenchDtype[] = ["fp16", "bf16"];
const BACKENDS: readonly SdpaBackend[] = ["AUTO", "FLASH", "EFFICIENT", "CUDNN", "MATH"];

function dtypeOf(s: string): BenchDtype {
  const d = DTYPES.find((x) => x === s);
  if (!d) throw new GacError("BAD_SUITE", `unknown dtype '${s}'; known: ${DTYPES.join(", ")}`);
  return d;
}
function backendOf(s: string): SdpaBackend {
  const b = BACKENDS.find((x) => x === s);
  if (!b) throw new GacError("BAD_SUITE", `unknown SDPA backend '${s}'; known: ${BACKENDS.join(", ")}`);
  return b;
}

// ---------------------------------------------------------------------------------------------
// Case builders shared by the suites.

interface SdpaShape {
  batch: number;
  heads: number;
  kv_heads: number;
  q_len: number;
  kv_len: number;
  head_dim: number;
  dtype: BenchDtype;
  causal: boolean;
  backend: SdpaBackend;
  pad_to?: number;
  scale?: number;
  profile_kernels?: boolean;
}

/** An SDPA case; `extra` params describe the case (strategy, probe) without reaching the worker. */
function sdpaCase(shape: SdpaShape, extra: Record<string, ParamValue> = {}, method?: Record<string, JsonValue>): CaseInput {
  const jobParams: Record<string, JsonValue> = { ...shape };
  const probe = extra.probe === "acceptance";
  return {
    params: { op: "sdpa", ...shape, ...extra },
    job: method ? { op: "sdpa", params: jobParams, method } : { op: "sdpa", params: jobParams },
    estimateS: probe ? ESTIMATE_S.probe : shape.backend === "MATH" ? ESTIMATE_S.math : ESTIMATE_S.timed,
  };
}

function gemmCase(m: number, n: number, k: number, dtype: BenchDtype, sweep: "k" | "n"): CaseInput {
  return { params: { op: "gemm", m, n, k, dtype, sweep }, job: { op: "gemm", params: { m, n, k, dtype } } };
}

/** A GEMM as nn.Linear runs it (weight [n, k]); `sweep` tells the profile which dim is the curve's. */
function linearCase(m: number, n: number, k: number, dtype: BenchDtype, sweep: "k" | "n"): CaseInput {
  return { params: { op: "linear", m, n, k, dtype, sweep }, job: { op: "linear", params: { m, n, k, dtype } } };
}

/** Cheap settings for "does this backend accept this shape" probes (C21): a few samples suffice. */
const ACCEPTANCE_METHOD: Record<string, JsonValue> = { min_samples: 3, min_gpu_time_s: 0, max_wall_s: 0.5, warmup_min_count: 1, warmup_min_ms: 0 };

// ---------------------------------------------------------------------------------------------
// The suites.

const S1: Suite = {
  name: "S1",
  summary: "SDPA latency for every head_dim 64..160 (seed S1: the staircase, d=107 +88% vs 96 on A100)",
  defaults: {
    batch: 4,
    heads: 32,
    seq: 2048,
    dim_lo: 64,
    dim_hi: 160,
    // The bf16 and causal variants cover the PaLU band densely and the rest every 8 (time budget).
    variant_dim_lo: 96,
    variant_dim_hi: 128,
    variant_dim_step: 1,
    variants: ["bf16", "causal"],
  },
  quick: { batch: 1, heads: 2, seq: 128, dim_lo: 96, dim_hi: 97, variant_dim_lo: 96, variant_dim_hi: 97, variants: ["causal"] },
  build(c) {
    const base = { batch: num(c, "batch"), heads: num(c, "heads"), kv_heads: num(c, "heads"), q_len: num(c, "seq"), kv_len: num(c, "seq"), backend: "AUTO" as const };
    const out = range(num(c, "dim_lo"), num(c, "dim_hi")).map((d) => sdpaCase({ ...base, head_dim: d, dtype: "fp16", causal: false }));
    const dense = new Set(range(num(c, "variant_dim_lo"), num(c, "variant_dim_hi"), num(c, "variant_dim_step")));
    const variantDims = range(num(c, "dim_lo"), num(c, "dim_hi")).filter((d) => dense.has(d) || d % 8 === 0);
    for (const v of strs(c, "variants")) {
      if (v !== "bf16" && v !== "causal") throw new GacError("BAD_SUITE", `S1 variant '${v}' is unknown; known: bf16, causal`);
      for (const d of variantDims) out.push(sdpaCase({ ...base, head_dim: d, dtype: v === "bf16" ? "bf16" : "fp16", causal: v === "causal" }));
    }
    return out;
  },
};

const S2: Suite = {
  name: "S2",
  summary: "SDPA with each backend forced; refusals recorded with the reason (seed S2: EFFICIENT refuses d=107)",
  defaults: { batch: 4, heads: 32, seq: 2048, head_dims: [96, 104, 107, 112, 120, 128], backends: ["AUTO", "FLASH", "EFFICIENT", "CUDNN", "MATH"] },
  quick: { batch: 1, heads: 2, seq: 128, head_dims: [96, 107], backends: ["AUTO", "EFFICIENT"] },
  build(c) {
    const out: CaseInput[] = [];
    for (const d of nums(c, "head_dims")) {
      for (const b of strs(c, "backends")) {
        out.push(
          sdpaCase({
            batch: num(c, "batch"),
            heads: num(c, "heads"),
            kv_heads: num(c, "heads"),
            q_len: num(c, "seq"),
            kv_len: num(c, "seq"),
            head_dim: d,
            dtype: "fp16",
            causal: false,
            backend: backendOf(b),
          }),
        );
      }
    }
    return out;
  },
};

const C21: Suite = {
  name: "C21",
  summary: "Which backends accept each head_dim 104..128, and which kernels AUTO launches (seed C21)",
  defaults: { batch: 4, heads: 32, seq: 2048, dim_lo: 104, dim_hi: 128, probe_backends: ["FLASH", "EFFICIENT", "CUDNN"] },
  quick: { batch: 1, heads: 2, seq: 128, dim_lo: 107, dim_hi: 108, probe_backends: ["EFFICIENT"] },
  build(c) {
    const out: CaseInput[] = [];
    const base = { batch: num(c, "batch"), heads: num(c, "heads"), kv_heads: num(c, "heads"), q_len: num(c, "seq"), kv_len: num(c, "seq"), dtype: "fp16" as const, causal: false };
    for (const d of range(num(c, "dim_lo"), num(c, "dim_hi"))) {
      for (const b of strs(c, "probe_backends")) out.push(sdpaCase({ ...base, head_dim: d, backend: backendOf(b) }, { probe: "acceptance" }, ACCEPTANCE_METHOD));
      out.push(sdpaCase({ ...base, head_dim: d, backend: "AUTO", profile_kernels: true }));
    }
    return out;
  },
};

const G3: Suite = {
  name: "G3",
  summary: "GEMM [M,K]x[K,N] with M=N fixed, K 64..160 (seed G3: K=107 0.089 ms vs K=112 0.050 ms)",
  defaults: { mn: [4096, 8192], k_lo: 64, k_hi: 160, dtype: "fp16" },
  quick: { mn: [256], k_lo: 107, k_hi: 108 },
  build(c) {
    const dtype = dtypeOf(String(c.dtype));
    return nums(c, "mn").flatMap((mn) => range(num(c, "k_lo"), num(c, "k_hi")).map((k) => gemmCase(mn, mn, k, dtype, "k")));
  },
};

/**
 * G4 sweeps N (the output width of a low-rank projection such as PaLU's VT, hidden -> sum of ranks)
 * with M (tokens) and K (hidden) fixed at 4096: the seeds name G4 "GEMM N dense" without a table.
 */
const G4: Suite = {
  name: "G4",
  summary: "GEMM with M=K=4096 fixed, N 64..160 (seed G4: output width of a low-rank projection)",
  defaults: { m: 4096, k: 4096, n_lo: 64, n_hi: 160, dtype: "fp16" },
  quick: { m: 256, k: 256, n_lo: 107, n_hi: 108 },
  build(c) {
    const dtype = dtypeOf(String(c.dtype));
    return range(num(c, "n_lo"), num(c, "n_hi")).map((n) => gemmCase(num(c, "m"), n, num(c, "k"), dtype, "n"));
  },
};

/**
 * P1: a logical head_dim padded with zeros to a physical one; the softmax scale stays the logical
 * 1/sqrt(d) (passed explicitly), so the output equals the unpadded one and the worker reports the
 * numerical difference it observed.
 */
const P1: Suite = {
  name: "P1",
  summary: "Padding rescue: logical head_dim raw vs zero-padded to a multiple of 8, 16 and to 128 (seed P1: 107->112 +30.5%)",
  defaults: { batch: 4, heads: 32, seq: 2048, head_dims: [107, 114, 117, 121, 125], strategies: ["raw", "multiple_8", "multiple_16", "fixed_128"] },
  quick: { batch: 1, heads: 2, seq: 128, head_dims: [107], strategies: ["raw", "multiple_8"] },
  build(c) {
    const out: CaseInput[] = [];
    for (const d of nums(c, "head_dims")) {
      for (const strategy of strs(c, "strategies")) {
        const padTo = paddedSize(d, strategy);
        const shape: SdpaShape = {
          batch: num(c, "batch"),
          heads: num(c, "heads"),
          kv_heads: num(c, "heads"),
          q_len: num(c, "seq"),
          kv_len: num(c, "seq"),
          head_dim: d,
          dtype: "fp16",
          causal: false,
          backend: "AUTO",
          scale: 1 / Math.sqrt(d),
        };
        out.push(sdpaCase(padTo === undefined ? shape : { ...shape, pad_to: padTo }, { strategy, scale: "logical" }));
      }
    }
    return out;
  },
};

function paddedSize(d: number, strategy: string): number | undefined {
  switch (strategy) {
    case "raw":
      return undefined;
    case "multiple_8":
      return roundUp(d, 8);
    case "multiple_16":
      return roundUp(d, 16);
    case "fixed_128":
      if (d > 128) throw new GacError("BAD_SUITE", `P1 strategy fixed_128 cannot hold head_dim ${d}`);
      return 128;
    default:
      throw new GacError("BAD_SUITE", `P1 strategy '${strategy}' is unknown; known: raw, multiple_8, multiple_16, fixed_128`);
  }
}

/**
 * HET1: PaLU leaves a different head_dim per head group. Three ways to run one layer's attention
 * (the worker's sdpa_hetero modes): one call per group with its raw dim, one call per group padded
 * to a multiple of 8, and one call for all heads padded to the largest dim rounded up to 8.
 */
const HET1: Suite = {
  name: "HET1",
  summary: "Heterogeneous per-group head dims (PaLU-like): per-group raw, per-group padded, one padded call",
  defaults: {
    batch: 4,
    heads_per_group: 4,
    seq: 2048,
    group_head_dims: [114, 116, 117, 118, 120, 121, 122, 123, 124, 125],
    dtype: "fp16",
    pad_multiple: 8,
    modes: ["per_group_raw", "per_group_padded", "single_padded"],
  },
  quick: { batch: 1, heads_per_group: 1, seq: 128, group_head_dims: [107, 114] },
  build(c) {
    const params = {
      batch: num(c, "batch"),
      heads_per_group: num(c, "heads_per_group"),
      q_len: num(c, "seq"),
      kv_len: num(c, "seq"),
      group_head_dims: nums(c, "group_head_dims"),
      dtype: dtypeOf(String(c.dtype)),
      causal: false,
      backend: "AUTO",
      pad_multiple: num(c, "pad_multiple"),
    };
    return strs(c, "modes").map((mode) => {
      if (!HETERO_MODES.some((m) => m === mode)) throw new GacError("BAD_SUITE", `HET1 mode '${mode}' is unknown; known: ${HETERO_MODES.join(", ")}`);
      return { params: { op: "sdpa_hetero", ...params, mode }, job: { op: "sdpa_hetero", params: { ...params, mode } }, estimateS: ESTIMATE_S.timed * 2 };
    });
  },
};

const HETERO_MODES = ["per_group_raw", "per_group_padded", "single_padded"] as const;

const DECODE: Suite = {
  name: "decode",
  summary: "Decode attention: one query token against a 4096-token KV cache, batch 1 and 32",
  defaults: { batches: [1, 32], heads: 32, kv_len: 4096, head_dims: [64, 96, 107, 112, 120, 128], dtype: "fp16" },
  quick: { batches: [1], heads: 2, kv_len: 128, head_dims: [107] },
  build(c) {
    const dtype = dtypeOf(String(c.dtype));
    return nums(c, "batches").flatMap((batch) =>
      nums(c, "head_dims").map((d) => sdpaCase({ batch, heads: num(c, "heads"), kv_heads: num(c, "heads"), q_len: 1, kv_len: num(c, "kv_len"), head_dim: d, dtype, causal: false, backend: "AUTO" })),
    );
  },
};

/** GQA as Llama-3-8B serves it: 32 query heads over 8 KV heads; causal prefill and decode. */
const GQA: Suite = {
  name: "GQA",
  summary: "Grouped-query attention (32 q heads, 8 kv heads): causal prefill B=1,2,4 S=2048 and decode",
  defaults: { heads: 32, kv_heads: 8, seq: 2048, prefill_batches: [1, 2, 4], decode_batches: [1, 32], kv_len: 4096, head_dims: [96, 107, 112, 128], dtype: "fp16" },
  quick: { heads: 4, kv_heads: 2, seq: 128, prefill_batches: [1], decode_batches: [1], kv_len: 128, head_dims: [107] },
  build(c) {
    const dtype = dtypeOf(String(c.dtype));
    const heads = { heads: num(c, "heads"), kv_heads: num(c, "kv_heads") };
    const out: CaseInput[] = [];
    for (const d of nums(c, "head_dims")) {
      for (const batch of nums(c, "prefill_batches")) out.push(sdpaCase({ batch, ...heads, q_len: num(c, "seq"), kv_len: num(c, "seq"), head_dim: d, dtype, causal: true, backend: "AUTO" }));
      for (const batch of nums(c, "decode_batches")) out.push(sdpaCase({ batch, ...heads, q_len: 1, kv_len: num(c, "kv_len"), head_dim: d, dtype, causal: false, backend: "AUTO" }));
    }
    return out;
  },
};

/**
 * G5: GEMMs at the sizes real models run, as nn.Linear serves them (the worker's `linear`,
 * F.linear(x[m,k], w[n,k]), like `gac bench model`), so predictions of real calls scale from a
 * nearby shape instead of G3/G4's K or N of 64..160 (whose time is mostly writing the 4096x4096
 * output: scaled up by FLOPs to K=4096 they come out ~2.3x slow on the H200).
 *
 * For each dtype and M (1: a decode token, 2048: a 1x2048 prefill), K is swept with N fixed at
 * 4096 and N with K fixed at 4096, over scales 128 (PaLU's per-head ranks 114..128) to 14336
 * (Llama-3-8B's MLP) and at each scale one value of every alignment class: s (a multiple of 16),
 * s+1 (odd), s+2, s+4, s+8. 6 scales x 5 offsets x 2 sweeps x 2 M x 2 dtypes = 240 cases, ~120 s.
 * Not in `all` (see Suite.inAll); docs/results-format.md has the grid.
 */
const G5: Suite = {
  name: "G5",
  summary: "GEMM shape grid at real-model sizes: F.linear, M=1 and 2048, K (N=4096) and N (K=4096) at 128..14336 in every alignment class",
  defaults: { dtypes: ["bf16", "fp16"], ms: [1, 2048], scales: [128, 1024, 2048, 4096, 8192, 14336], offsets: [0, 1, 2, 4, 8], fixed: 4096, sweeps: ["k", "n"] },
  quick: { dtypes: ["bf16"], ms: [1], scales: [256], offsets: [0, 1], sweeps: ["k"] },
  inAll: false,
  build(c) {
    const dims = [...new Set(nums(c, "scales").flatMap((s) => nums(c, "offsets").map((o) => s + o)))].sort((a, b) => a - b);
    const fixed = num(c, "fixed");
    const out: CaseInput[] = [];
    for (const dtype of strs(c, "dtypes").map(dtypeOf)) {
      for (const m of nums(c, "ms")) {
        for (const sweep of strs(c, "sweeps")) {
          if (sweep !== "k" && sweep !== "n") throw new GacError("BAD_SUITE", `G5 sweep '${sweep}' is unknown; known: k, n`);
          for (const d of dims) out.push(linearCase(m, sweep === "n" ? d : fixed, sweep === "k" ? d : fixed, dtype, sweep));
        }
      }
    }
    return out;
  },
};

export const SUITES: readonly Suite[] = [S1, S2, C21, G3, G4, P1, HET1, DECODE, GQA, G5];

function suiteNames(): string[] {
  return SUITES.map((s) => s.name);
}

/** "all" -> every suite with inAll (all but G5); otherwise each name must be known (case-insensitive). */
export function resolveSuiteNames(names: string[]): string[] {
  const out: string[] = [];
  for (const n of names) {
    if (n.toLowerCase() === "all") {
      out.push(...SUITES.filter((s) => s.inAll !== false).map((s) => s.name));
      continue;
    }
    const s = SUITES.find((x) => x.name.toLowerCase() === n.toLowerCase());
    if (!s) throw new GacError("BAD_SUITE", `unknown suite '${n}'; suites: ${suiteNames().join(", ")}, all`);
    out.push(s.name);
  }
  return [...new Set(out)];
}

function sameKind(a: SuiteConfig[string], b: SuiteConfig[string]): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b)) return false;
    const kind = (xs: (number | string)[]) => (xs.length === 0 ? "any" : typeof xs[0]);
    const ka = kind(a);
    const kb = kind(b);
    return ka === "any" || kb === "any" || ka === kb;
  }
  return typeof a === typeof b;
}

function mergeConfig(suite: Suite, layers: SuiteConfig[]): SuiteConfig {
  const merged: SuiteConfig = { ...suite.defaults };
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) {
      const def = suite.defaults[key];
      if (def === undefined) throw new GacError("BAD_SUITE", `suite ${suite.name} has no setting '${key}'; settings: ${Object.keys(suite.defaults).join(", ")}`);
      if (!sameKind(def, value)) throw new GacError("BAD_SUITE", `suite ${suite.name} setting '${key}' must be like ${JSON.stringify(def)}, got ${JSON.stringify(value)}`);
      merged[key] = value;
    }
  }
  return merged;
}

function formatParam(v: ParamValue): string {
  return Array.isArray(v) ? v.join(",") : String(v);
}

/** The stable id of a case: suite, then key=value for every param but op, sorted by key. */
export function caseId(suite: string, params: Record<string, ParamValue>): string {
  const keys = Object.keys(params)
    .filter((k) => k !== "op")
    .sort();
  return [suite, ...keys.map((k) => `${k}=${formatParam(params[k])}`)].join("/");
}

interface ExpandOptions {
  quick?: boolean;
  /** Setting overrides, applied after --quick's. */
  overrides?: SuiteConfig;
}

export function expandSuite(name: string, options: ExpandOptions = {}): BenchCase[] {
  const [resolved] = resolveSuiteNames([name]);
  const suite = SUITES.find((s) => s.name === resolved);
  if (!suite) throw new GacError("BAD_SUITE", `unknown suite '${name}'`);
  const config = mergeConfig(suite, [...(options.quick ? [suite.quick] : []), ...(options.overrides ? [options.overrides] : [])]);
  const cases = suite.build(config).map((c) => ({ suite: suite.name, case: caseId(suite.name, c.params), params: c.params, job: c.job, estimateS: c.estimateS ?? ESTIMATE_S.timed }));
  const seen = new Set<string>();
  for (const c of cases) {
    if (seen.has(c.case)) throw new GacError("BAD_SUITE", `suite ${suite.name} produced case '${c.case}' twice: its settings repeat a value`);
    seen.add(c.case);
  }
  return cases;
}

/** Every case of several suites, in suite order; overrides are per suite name. */
export function expandSuites(names: string[], options: { quick?: boolean; overrides?: Record<string, SuiteConfig> } = {}): BenchCase[] {
  return resolveSuiteNames(names).flatMap((n) => {
    const overrides = options.overrides?.[n];
    return expandSuite(n, { quick: options.quick === true, ...(overrides ? { overrides } : {}) });
  });
}

/** Seconds the cases should take by their estimates (before any has run). */
export function estimateSeconds(cases: readonly BenchCase[]): number {
  return cases.reduce((sum, c) => sum + c.estimateS, 0);
}

/**
 * "S1.dim_lo=100" or "P1.head_dims=107,121" -> a per-suite override, read with the default's kind
 * (a list setting takes a comma list, a single value too).
 */
export function parseOverride(text: string): { suite: string; key: string; value: SuiteConfig[string] } {
  const m = /^([^.=]+)\.([^=]+)=(.*)$/.exec(text);
  if (!m) throw new GacError("BAD_ARGS", `--set '${text}' is not <suite>.<setting>=<value>`);
  const [suiteName] = resolveSuiteNames([m[1]]);
  const suite = SUITES.find((s) => s.name === suiteName);
  const key = m[2];
  const def = suite?.defaults[key];
  if (!suite || def === undefined) throw new GacError("BAD_SUITE", `suite ${suiteName} has no setting '${key}'; settings: ${Object.keys(suite?.defaults ?? {}).join(", ")}`);
  const raw = m[3];
  const asNumber = (s: string) => {
    const n = Number(s);
    if (s.trim() === "" || !Number.isFinite(n)) throw new GacError("BAD_ARGS", `--set ${suiteName}.${key}: '${s}' is not a number`);
    return n;
  };
  if (Array.isArray(def)) {
    const parts = raw
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
    const numeric = def.length > 0 ? typeof def[0] === "number" : parts.every((p) => Number.isFinite(Number(p)));
    return { suite: suiteName, key, value: numeric ? parts.map(asNumber) : parts };
  }
  if (typeof def === "number") return { suite: suiteName, key, value: asNumber(raw) };
  if (typeof def === "boolean") {
    if (raw !== "true" && raw !== "false") throw new GacError("BAD_ARGS", `--set ${suiteName}.${key}: '${raw}' is not true or false`);
    return { suite: suiteName, key, value: raw === "true" };
  }
  return { suite: suiteName, key, value: raw };
}
