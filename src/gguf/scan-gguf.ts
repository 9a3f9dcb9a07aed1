/**
 * `gac scan model.gguf`: the llama.cpp view of a GGUF file, read with @huggingface/gguf (headers
 * only, no tensor data). Two checks: the quantization block rule per weight (src/gguf/quant-blocks.ts)
 * and the attention head size against llama.cpp's compiled flash-attention head sizes.
 */
import { gguf, GGMLQuantizationType } from "@huggingface/gguf";
import { LLAMA_CPP_FA_HEAD_DIMS } from "../contract/rules/llama-cpp.js";
import { GacError } from "../errors.js";
import { gacVersion } from "../scan/gac-version.js";
import { BLOCK_SIZES, rowBlocks, QUANT_FALLBACK } from "./quant-blocks.js";

export const GGUF_SCAN_SCHEMA = "gac-gguf-scan/1";

export interface GgufTensorBlocks {
  tensor: string;
  /** GGUF order: ne[0] (the row, contiguous) first. */
  shape: number[];
  /** The tensor's ggml type in the file ("F16", "Q4_K", ...). */
  type: string;
  row_length: number;
  /** Quantized types this row cannot take. */
  blocked_types: string[];
  /** The next multiple of 256 (and of 32 when it misses that too): zero-pad the row to it. */
  pad_to: Record<string, number>;
  /** What llama.cpp's quantizer uses instead of Q4_K / Q5_K / Q6_K for this tensor. */
  fallback: Record<string, string>;
}

export interface GgufScanReport {
  schema: typeof GGUF_SCAN_SCHEMA;
  gac_version: string;
  runtime: "llama.cpp";
  file: string;
  architecture: string | null;
  tensor_count: number;
  attention: { head_dim: number | null; flash_attn_head_dims: number[]; flash_attn_ok: boolean | null; reason: string };
  /** 2-D+ weights whose row misses a quantization block, in file order. */
  misaligned: GgufTensorBlocks[];
  summary: string;
}

function typeName(t: number): string {
  return GGMLQuantizationType[t] ?? `type ${t}`;
}

function num(v: unknown): number | null {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "bigint") return Number(v);
  return null;
}

function headDim(metadata: Record<string, unknown>, arch: string | null): number | null {
  if (arch === null) return null;
  const key = num(metadata[`${arch}.attention.key_length`]);
  if (key !== null) return key;
  const width = num(metadata[`${arch}.embedding_length`]);
  const heads = num(metadata[`${arch}.attention.head_count`]);
  return width !== null && heads !== null && heads > 0 && width % heads === 0 ? width / heads : null;
}

function tensorBlocks(name: string, shape: number[], type: number): GgufTensorBlocks | undefined {
  if (shape.length < 2) return undefined;
  const rowLength = shape[0];
  const { blocked, padTo } = rowBlocks(rowLength);
  if (blocked.length === 0) return undefined;
  const fallback: Record<string, string> = {};
  for (const wanted of ["Q4_K", "Q5_K", "Q6_K"]) fallback[wanted] = padTo["32"] === undefined ? QUANT_FALLBACK[wanted] : "F16";
  return { tensor: name, shape, type: typeName(type), row_length: rowLength, blocked_types: blocked, pad_to: padTo, fallback };
}

export async function scanGguf(file: string): Promise<GgufScanReport> {
  let parsed: Awaited<ReturnType<typeof gguf>>;
  try {
    parsed = await gguf(file, { allowLocalFile: true });
  } catch (e) {
    throw new GacError("BAD_HEADER", `${file} is not a readable GGUF file: ${(e as Error).message.split("\n")[0]}`);
  }
  const metadata = parsed.metadata as Record<string, unknown>;
  const arch = typeof metadata["general.architecture"] === "string" ? (metadata["general.architecture"] as string) : null;
  const misaligned: GgufTensorBlocks[] = [];
  for (const t of parsed.tensorInfos) {
    const b = tensorBlocks(t.name, t.shape.map(Number), t.dtype);
    if (b) misaligned.push(b);
  }
  const hd = headDim(metadata, arch);
  const faDims = [...LLAMA_CPP_FA_HEAD_DIMS];
  const faOk = hd === null ? null : faDims.includes(hd as (typeof LLAMA_CPP_FA_HEAD_DIMS)[number]);
  const reason =
    hd === null
      ? "the file's metadata gives no attention head size"
      : faOk
        ? `head_dim ${hd} is one of llama.cpp's flash-attention head sizes`
        : `head_dim ${hd} is not one of llama.cpp's flash-attention head sizes (${faDims.join(", ")}): attention leaves the FA kernels`;
  const k256 = misaligned.filter((m) => m.pad_to["256"] !== undefined).length;
  const k32 = misaligned.filter((m) => m.pad_to["32"] !== undefined).length;
  const summary =
    misaligned.length === 0
      ? `every weight row is a multiple of 256: all quantization types fit; ${reason}`
      : `${k256} of ${parsed.tensorInfos.length} tensors have rows that are not a multiple of 256 (no Q2_K..Q6_K/IQ types)${k32 > 0 ? `, ${k32} not a multiple of 32 either (no Q4_0/Q8_0: F16 fallback)` : ""}; ${reason}`;
  return {
    schema: GGUF_SCAN_SCHEMA,
    gac_version: gacVersion(),
    runtime: "llama.cpp",
    file,
    architecture: arch,
    tensor_count: parsed.tensorInfos.length,
    attention: { head_dim: hd, flash_attn_head_dims: faDims, flash_attn_ok: faOk, reason },
    misaligned,
    summary,
  };
}

export function renderGgufScanText(r: GgufScanReport): string {
  const lines = [`${r.file}: GGUF, ${r.architecture ?? "unknown architecture"}, ${r.tensor_count} tensors (llama.cpp)`, `Attention: ${r.attention.reason}`];
  if (r.misaligned.length === 0) lines.push("Quantization: every weight row is a multiple of 256; every quantization type fits");
  else {
    lines.push("Quantization blocks (a row is ne[0], the contiguous dim):");
    for (const m of r.misaligned) {
      // 256-blocks first (integer-like keys would list "32" first).
      const pads = BLOCK_SIZES.filter((b) => m.pad_to[`${b}`] !== undefined)
        .map((b) => `pad to ${m.pad_to[`${b}`]} for ${b}-blocks`)
        .join(", ");
      const no = m.pad_to["32"] !== undefined ? "no Q4_K/Q6_K/IQ and no Q4_0/Q8_0" : "no Q4_K/Q6_K/IQ types";
      lines.push(`  ${m.tensor} [${m.shape.join(", ")}] ${m.type}: row ${m.row_length}: ${no} (llama.cpp falls back Q4_K -> ${m.fallback.Q4_K}); ${pads}`);
    }
  }
  lines.push(`Summary: ${r.summary}`);
  return lines.join("\n") + "\n";
}
