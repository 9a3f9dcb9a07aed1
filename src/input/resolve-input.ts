/**
 * What a user passes as a model, turned into what gac reads: a checkpoint directory (config.json +
 * safetensors, also inside the HF cache) or a GGUF file. Pickle checkpoints are refused by name
 * before anything opens them: unpickling runs arbitrary code, so gac never does.
 */
import { readdir, stat } from "node:fs/promises";
import { extname, resolve } from "node:path";
import { GacError } from "../errors.js";
import { type Env, parseRepoRef, resolveCachedRepo, resolveCacheRepoDir } from "./hf-cache.js";

export type ModelInput = { kind: "checkpoint"; dir: string; source: string } | { kind: "gguf"; file: string; source: string };

/** Extensions of torch.save / pickle files (`pytorch_model.bin`, `*.pt`, `*.pth`, `*.ckpt`, `*.pkl`). */
const PICKLE_EXTENSIONS = [".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle"];

function isPickleName(name: string): boolean {
  return PICKLE_EXTENSIONS.includes(extname(name).toLowerCase()) && !name.endsWith(".safetensors");
}

function pickleRefusal(where: string, files: string[]): GacError {
  return new GacError(
    "UNSUPPORTED",
    `${where} holds a pickle checkpoint (${files.slice(0, 3).join(", ")}${files.length > 3 ? ", ..." : ""}), which gac never unpickles (loading one runs arbitrary code); convert it to safetensors first, e.g. \`python -c "import transformers as t; t.AutoModelForCausalLM.from_pretrained('DIR').save_pretrained('OUT', safe_serialization=True)"\``,
  );
}

async function statOrUndefined(path: string) {
  return stat(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT" || e.code === "ENOTDIR") return undefined;
    throw e;
  });
}

export interface ResolveOptions {
  cwd?: string;
  /** Where HF_HUB_CACHE / HF_HOME / HOME come from; default process.env. */
  env?: Env;
}

/**
 * A path (checkpoint directory, `models--org--name` cache directory or one of its snapshots, a
 * `.gguf` file) or an `org/name[@revision]` in the HF cache -> what to read. Nothing is written or
 * downloaded. One-line GacErrors for pickle files, missing paths and models not in the cache.
 */
export async function resolveModelInput(input: string, opts: ResolveOptions = {}): Promise<ModelInput> {
  const path = resolve(opts.cwd ?? process.cwd(), input);
  const st = await statOrUndefined(path);
  if (st === undefined) {
    const ref = parseRepoRef(input);
    if (ref !== undefined && !input.startsWith(".")) return { kind: "checkpoint", dir: await resolveCachedRepo(ref, opts.env ?? process.env), source: input };
    throw new GacError("MISSING_FILE", `${path} does not exist (give a checkpoint directory, a .gguf file, or org/name of a model in the HF cache)`);
  }
  if (st.isFile()) {
    const lower = path.toLowerCase();
    if (lower.endsWith(".gguf")) return { kind: "gguf", file: path, source: input };
    if (isPickleName(path)) throw pickleRefusal(path, [input]);
    throw new GacError("UNSUPPORTED", `${path} is a file; gac reads a checkpoint directory (config.json + *.safetensors) or a .gguf file: pass the directory that holds it`);
  }
  const dir = await resolveCacheRepoDir(path);
  const names = await readdir(dir);
  const pickles = names.filter(isPickleName);
  if (pickles.length > 0 && !names.some((n) => n.endsWith(".safetensors"))) throw pickleRefusal(dir, pickles);
  if (!names.some((n) => n.endsWith(".safetensors"))) {
    const ggufs = names.filter((n) => n.toLowerCase().endsWith(".gguf"));
    if (ggufs.length === 1) return { kind: "gguf", file: resolve(dir, ggufs[0]), source: input };
  }
  return { kind: "checkpoint", dir, source: input };
}

/** resolveModelInput for commands that need a safetensors checkpoint (plan, repair, verify). */
export async function resolveCheckpointDir(input: string, opts: ResolveOptions = {}): Promise<string> {
  const r = await resolveModelInput(input, opts);
  if (r.kind === "gguf") {
    throw new GacError("UNSUPPORTED", `${r.file} is a GGUF file: \`gac scan\` reads it (llama.cpp rules), but plan, repair and verify work on safetensors checkpoints`);
  }
  return r.dir;
}
