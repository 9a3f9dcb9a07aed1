#!/usr/bin/env bash
# Accuracy on the GPU, in two parts (each under the device's 10-minute limit). Run on the device
# machine from the repository root with `dist` (npm run build) and `.devnode` carried:
#   bash bench/gpu-accuracy.sh small   # the bundled trained model and its variants (~3 min)
#   bash bench/gpu-accuracy.sh real    # real-size checkpoints of every family, random weights (~5 min)
# small: stock transformers loads the model and its tokenizer (gac_worker.hf_check, plus Granite's
#   attention_multiplier as an exact stock option on the svd-heads logical repair); gac eval
#   --device gpu on every variant (float64, float32 with TF32 off, bfloat16; the whole held-out
#   split); gac verify --device gpu of every repaired variant against its compressed model; and the
#   README table's CPU float64 column on the host's cores (gac eval per variant, CPU_JOBS at a time,
#   CPU_TOKENS targets, default 16,384: about 2.5 minutes on 16 cores), as eval-cpu.jsonl.
# real: for each family at real size (header-only fixtures; weights drawn on the GPU, the repair
#   derived with gac's tensor edits): gac verify --device gpu --random-weights (MINIMAL, fold and
#   logical) and gac eval --device gpu --random-weights (MINIMAL fold, first 2,048 held-out bytes).
# Writes under $OUT (at most 8 files): gpu-accuracy-<part>.log, hf-check.json, eval-gpu.json,
# verify-gpu-small.jsonl, eval-cpu.jsonl | verify-gpu-real.jsonl, eval-gpu-real.jsonl. The table:
#   node --import tsx bench/accuracy-table.ts <variants> --cpu-json eval-cpu.jsonl --gpu-json eval-gpu.json
set -uo pipefail
PART=${1:?usage: gpu-accuracy.sh small|real}
OUT=${OUT:-/tmp/gac-out}
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu-accuracy-$PART.log") 2>&1
tar xJf .devnode/node.tar.xz -C /usr/local/bin 2>/dev/null || true
node --version
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
python3 -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)'
GAC="node bin/gac.js"
MODEL=assets/models/shakespeare-byte
TEXT=assets/data/tinyshakespeare.txt
# One line per JSON document: a failed verify prints its report, then its error as a second document.
compact() { python3 -c '
import json, sys
t, d, i = sys.stdin.read(), json.JSONDecoder(), 0
while i < len(t.rstrip()):
    while t[i].isspace(): i += 1
    v, i = d.raw_decode(t, i)
    print(json.dumps(v))'; }
status=0
case "$PART" in
small)
  V=/tmp/gac-accuracy-variants
  bash bench/accuracy-variants.sh "$MODEL" "$V" || echo "variants: exit $? (see above)"
  cut -f1,3 "$V/variants.tsv"
  granite=()
  [ -d "$V/svd-heads-MINIMAL-logical" ] && granite=(--granite "$V/svd-heads" "$V/svd-heads-MINIMAL-logical")
  echo "== transformers: $MODEL"
  PYTHONPATH=python python3 -m gac_worker.hf_check "$MODEL" "$TEXT" --windows 64 "${granite[@]}" > "$OUT/hf-check.json" || status=1
  cat "$OUT/hf-check.json"
  echo "== gac eval --device gpu (all variants, whole held-out split)"
  $GAC eval $(cut -f2 "$V/variants.tsv") --device gpu --json > "$OUT/eval-gpu.json" || status=1
  echo "== gac verify --device gpu (each repaired variant against its compressed model)"
  : > "$OUT/verify-gpu-small.jsonl"
  while IFS=$'\t' read -r name dir role from; do
    [ "$role" = repaired ] || continue
    echo "-- $from -> $name"
    $GAC verify "$V/$from" "$dir" --device gpu --json | compact >> "$OUT/verify-gpu-small.jsonl" || status=1
  done < "$V/variants.tsv"
  echo "== gac eval on the CPU, float64 (every variant, ${CPU_TOKENS:-16384} targets, ${CPU_JOBS:-$(nproc)} at a time)"
  C=/tmp/gac-accuracy-cpu; rm -rf "$C"; mkdir -p "$C"
  cut -f1,2 "$V/variants.tsv" | xargs -P "${CPU_JOBS:-$(nproc)}" -L 1 sh -c "$GAC eval \"\$1\" --max-tokens ${CPU_TOKENS:-16384} --json > $C/\$0.json" || status=1
  for f in "$C"/*.json; do compact < "$f"; done > "$OUT/eval-cpu.jsonl"
  ;;
real)
  FIX=${GAC_FIXTURE_DIR:-/tmp/gac-fixtures}
  : > "$OUT/verify-gpu-real.jsonl"; : > "$OUT/eval-gpu-real.jsonl"
  for model in ${GAC_MODELS:-llama-direct-svd@llama3-8b palu@llama3-8b svdllm@llama2-7b asvd@llama2-7b pruned-flap@llama2-7b}; do
    kind=${model%@*}; size=${model#*@}
    $GAC fixtures "$kind" --size "$size" --sparse --out "$FIX/$kind-$size" --force > /dev/null || { status=1; continue; }
    for scale in fold logical; do
      echo "== $kind-$size: gac verify --device gpu --random-weights --strategy MINIMAL --scale $scale"
      $GAC verify "$FIX/$kind-$size" --device gpu --random-weights --strategy MINIMAL --scale "$scale" --json | compact >> "$OUT/verify-gpu-real.jsonl" || status=1
    done
    echo "== $kind-$size: gac eval --device gpu --random-weights (MINIMAL fold)"
    $GAC eval "$FIX/$kind-$size" --device gpu --random-weights --strategy MINIMAL --scale fold --max-tokens 2048 --precision float32,bfloat16 --json | compact >> "$OUT/eval-gpu-real.jsonl" || status=1
    rm -rf "$FIX/$kind-$size"
  done
  ;;
*) echo "unknown part '$PART' (small or real)"; exit 2 ;;
esac
exit $status
