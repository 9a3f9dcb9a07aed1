/**
 * The engine configurations `gac bench e2e` can time a model in, and which of them can run which
 * model. A configuration that cannot run a model gets a one-line reason, printed and recorded; it
 * is never skipped silently.
 *
 *   transformers / sdpa / dynamic              stock AutoModelForCausalLM + generate()'s DynamicCache
 *   transformers / sdpa-nocudnn / *            the same with torch.backends.cuda.enable_cudnn_sdp(False)
 *   transformers / sdpa-avoid-recompile / *    TORCH_CUDNN_SDPA_AVOID_RECOMPILE=1 (PyTorch PR #155958)
 *   transformers / eager / *                   attn_implementation="eager" (matmul + softmax)
 *   transformers / * / static                  a StaticCache of context + warmup + steps tokens
 *   gac / eager / static                       gac's compact model, preallocated KV cache
 *   gac / eager-nocudnn / static               the same with cuDNN SDPA disabled (sizes the re-plan)
 *   gac / graph / static                       the same decode step captured once in a CUDA graph
 *   gac / graph-splitkv / static               the graph with gac's split-KV attention (no SDPA)
 */
import { GacError } from "../../errors.js";
import type { ShapeEvolution } from "../../contract/rules/shape-dynamics.js";
import type { LinearSpec, ModelSpec } from "../../model/types.js";
import { cudnnDisabled, parseStepConfig } from "../../profile/engine-steps.js";
import type { CacheKind, Engine, GacConfig, TransformersConfig } from "./wire.js";

export interface EngineConfig {
  engine: Engine;
  config: TransformersConfig | GacConfig;
  cache: CacheKind;
  /** "transformers/sdpa/dynamic" */
  id: string;
}

export const ENGINES: readonly Engine[] = ["transformers", "gac"];
const TRANSFORMERS_CONFIGS: readonly TransformersConfig[] = ["sdpa", "sdpa-nocudnn", "sdpa-avoid-recompile", "eager"];
const GAC_CONFIGS: readonly GacConfig[] = ["eager", "eager-nocudnn", "graph", "graph-splitkv"];

const make = (engine: Engine, config: TransformersConfig | GacConfig, cache: CacheKind): EngineConfig => ({ engine, config, cache, id: `${engine}/${config}/${cache}` });

/** Every configuration, in the order tables list them. */
export const ENGINE_CONFIGS: readonly EngineConfig[] = [
  ...TRANSFORMERS_CONFIGS.flatMap((c) => (["dynamic", "static"] as const).map((cache) => make("transformers", c, cache))),
  ...GAC_CONFIGS.map((c) => make("gac", c, "static")),
];

/** "transformers", "gac" or "all". */
export function parseEngines(text: string): Engine[] {
  const key = text.trim().toLowerCase();
  if (key === "all") return [...ENGINES];
  const found = ENGINES.find((e) => e === key);
  if (!found) throw new GacError("BAD_ARGS", `--engine takes transformers, gac or all, got '${text}'`);
  return [found];
}

function globToRegExp(glob: string): RegExp {
  return new RegExp(
    `^${glob
      .split("*")
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`,
  );
}

/**
 * The configurations of the chosen engines, filtered by `--configs`: comma-separated ids or globs
 * ("transformers/sdpa/dynamic", "transformers/*\/static", "gac/graph/*"); a bare configuration
 * name ("sdpa-nocudnn", "graph") matches it in every engine and cache.
 */
export function selectConfigs(engines: readonly Engine[], configs?: string): EngineConfig[] {
  const pool = ENGINE_CONFIGS.filter((c) => engines.includes(c.engine));
  if (configs === undefined) return pool;
  const patterns = configs
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (patterns.length === 0) throw new GacError("BAD_ARGS", "--configs is empty; `gac bench e2e --list` shows the configurations");
  for (const p of patterns) {
    const re = globToRegExp(p.includes("/") ? p : `*/${p}/*`);
    if (!ENGINE_CONFIGS.some((c) => re.test(c.id))) {
      throw new GacError("BAD_ARGS", `--configs: '${p}' matches no configuration; known: ${ENGINE_CONFIGS.map((c) => c.id).join(", ")}`);
    }
  }
  const chosen = pool.filter((c) => patterns.some((p) => globToRegExp(p.includes("/") ? p : `*/${p}/*`).test(c.id)));
  if (chosen.length === 0) throw new GacError("BAD_ARGS", `--configs '${configs}' selects nothing of the engine(s) ${engines.join(", ")}`);
  return chosen;
}

/** The model types transformers has a built-in class for that gac reads. */
const TRANSFORMERS_MODEL_TYPES = ["llama", "mistral", "qwen2"];

const FAMILY_LAYOUT: Record<Exclude<ModelSpec["family"], "dense">, string> = {
  palu: "its k/v projections are VT + U.{g} (PaLU's HeadwiseLowRankModule, its own modeling code)",
  asvd: "its projections are BLinear/ALinear pairs (ASVD's remote code)",
  svdllm: "its projections are *_v_proj/*_u_proj factor pairs (SVD-LLM's own model class)",
};

function hasBias(l: LinearSpec): boolean {
  return l.kind === "dense" && l.weight.bias !== undefined;
}

/** What transformers' class of this model type does with biases: [q/k/v, o, mlp] present or not. */
function biasLayout(spec: ModelSpec, config: Record<string, unknown>): [boolean, boolean, boolean] | null {
  if (spec.modelType === "qwen2") return [true, false, false];
  if (spec.modelType === "llama") return [config.attention_bias === true, config.attention_bias === true, config.mlp_bias === true];
  if (spec.modelType === "mistral") return [false, false, false];
  return null;
}

/**
 * Why stock transformers cannot build this model from its config.json, or null when it can:
 * a built-in model type, dense projections, every layer the config's shape (transformers builds all
 * layers from one config), biases where the class has them, and a config that matches the shapes.
 */
export function transformersRefusal(spec: ModelSpec, config: Record<string, unknown>): string | null {
  if (spec.family !== "dense") return `transformers cannot load ${spec.family} checkpoints: ${FAMILY_LAYOUT[spec.family]}`;
  if (!TRANSFORMERS_MODEL_TYPES.includes(spec.modelType)) return `transformers has no built-in class gac can use for model_type '${spec.modelType}' (${TRANSFORMERS_MODEL_TYPES.join(", ")})`;
  const first = spec.layers[0];
  if (first === undefined) return "the model has no layers";
  for (const l of spec.layers) {
    const a = l.attn;
    if (a.numHeads !== first.attn.numHeads || a.numKvHeads !== first.attn.numKvHeads || a.headDim !== first.attn.headDim || l.mlp.intermediate !== first.mlp.intermediate) {
      return `transformers builds every layer from one config, but layers differ (layer ${first.index}: ${first.attn.numHeads} heads, intermediate ${first.mlp.intermediate}; layer ${l.index}: ${a.numHeads} heads, intermediate ${l.mlp.intermediate})`;
    }
  }
  if (spec.configDisagreements.length > 0) return `config.json does not match the tensor shapes, and transformers builds from the config: ${spec.configDisagreements[0]}`;
  const layout = biasLayout(spec, config);
  for (const l of spec.layers) {
    const has: [boolean, boolean, boolean] = [hasBias(l.attn.q) || hasBias(l.attn.k) || hasBias(l.attn.v), hasBias(l.attn.o), hasBias(l.mlp.gate) || hasBias(l.mlp.up) || hasBias(l.mlp.down)];
    const where = ["q/k/v", "o_proj", "MLP"];
    for (let i = 0; i < 3; i++) {
      if (layout && has[i] !== layout[i]) {
        return `transformers' ${spec.modelType} class ${layout[i] ? "expects" : "has no"} ${where[i]} biases as configured, but layer ${l.index} ${has[i] ? "has" : "has none"}`;
      }
    }
  }
  return null;
}

/** Why `cfg` cannot run the model, or null. The gac engine runs every family gac reads. */
export function engineRefusal(cfg: EngineConfig, spec: ModelSpec, config: Record<string, unknown>): string | null {
  return cfg.engine === "transformers" ? transformersRefusal(spec, config) : null;
}

/**
 * How the KV length attention sees changes from one decode step to the next in a configuration:
 * transformers' DynamicCache grows by one token per step; its StaticCache passes the whole cache
 * with a mask (fixed); gac's eager engine attends over the filled slice of its preallocated cache
 * (grows, python/gac_worker/e2e/gac_model.py decode); its graph engines over the whole cache with a
 * mask (fixed, as a CUDA graph needs).
 */
export function kvEvolution(configId: string): ShapeEvolution {
  const [engine, config, cache] = configId.split("/");
  if (engine === "gac") return config.startsWith("graph") ? "fixed" : "kv-grows-per-step";
  return cache === "dynamic" ? "kv-grows-per-step" : "fixed";
}

/** Whether a configuration's attention goes through SDPA with cuDNN allowed (PyTorch's default order). */
export function cudnnAllowed(configId: string): boolean {
  const cfg = parseStepConfig(configId);
  // transformers' eager attention and gac's split-KV attention do not call SDPA at decode.
  return !cudnnDisabled(cfg) && cfg.attention !== "graph-splitkv" && !(cfg.engine === "transformers" && cfg.attention === "eager");
}
