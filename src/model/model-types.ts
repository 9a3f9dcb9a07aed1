/**
 * The config model_types gac knows: the families its layout reader (build-model-spec.ts) was built
 * and checked against. Another model_type whose tensors happen to fit the Llama layout (gpt2-shaped
 * names renamed, gemma, phi3, qwen3, mixtral, deepseek_v3, ...) may still differ in ways shapes do
 * not show (norm offsets, activation, logit soft-capping, q/k norms), so it is read with a note, and
 * `--strict` refuses it.
 */
import { GacError, quoteName } from "../errors.js";

export const KNOWN_MODEL_TYPES: readonly string[] = ["llama", "mistral", "qwen2", "palullama", "palumistral", "paluqwen2"];

export function isKnownModelType(modelType: string): boolean {
  return KNOWN_MODEL_TYPES.includes(modelType);
}

/** The note for a model_type outside the list, or undefined for a known one. */
export function unknownModelTypeNote(modelType: string): string | undefined {
  if (isKnownModelType(modelType)) return undefined;
  const which = modelType === "" ? "config.json has no model_type" : `config model_type ${quoteName(modelType, 60)} is not one gac knows (${KNOWN_MODEL_TYPES.join(", ")})`;
  return `${which}; its tensors fit the Llama layout, so gac reads it as Llama: check that the model computes like one (norms, activation, attention) before trusting a repair`;
}

/** --strict: an unknown model_type is an error rather than a note. */
export function refuseUnknownModelType(modelType: string, dir: string): void {
  const note = unknownModelTypeNote(modelType);
  if (note) throw new GacError("UNKNOWN_FAMILY", `${dir}: ${note}; --strict refuses it (rerun without --strict to repair it as Llama)`);
}
