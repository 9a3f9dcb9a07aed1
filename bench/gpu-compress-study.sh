#!/usr/bin/env bash
# Real-size speed of compress-with-alignment against compress-then-repair (docs/compress-study.md).
# For each method on the Llama it is published on (svd-heads: Llama-3-8B; svd-pairs, asvd,
# prune-mlp: Llama-2-7B) and each budget, `gac compress --sizes-only` writes header-only (sparse)
# checkpoints with the policy's sizes: a (unaligned), c (x16 down), d (x16 up), e (--align profile).
# At real size the weights are random anyway, so only the sizes matter for speed. Then one
# `gac bench e2e` times all of them with random weights on the GPU; `--strategies none,OPTIMAL`
# also times a's zero-padded repair (variant b) and aliases the repair of the aligned ones away.
#
# Run on the device machine from the repository root with `dist` (npm run build) and `.devnode`
# carried:  bash bench/gpu-compress-study.sh
# Writes under $OUT: compress-study-real.tar.gz (variants/<name>/{gac-compress.json,config.json}
# and the e2e run directory e2e/) and gpu-compress-study.log. Then, here:
#   tar xzf compress-study-real.tar.gz -C results/compress-study-real
#   node --import tsx bench/compress-study.ts table --study <small-model study dir> \
#     --real results/compress-study-real/variants --e2e results/compress-study-real/e2e
# GAC_SKIP_BENCH=1 writes the variants and the archive without timing them (CPU only, seconds).
# GPU time: 4 methods x 2 budgets x 5 models of 7-8B parameters, each drawn on the GPU and timed
# at one prefill (1x2048) and one decode (1x4096) point: about 40 x 10-20 s with the gac engine.
set -uo pipefail
OUT=${OUT:-/tmp/gac-out}
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu-compress-study.log") 2>&1
tar xJf .devnode/node.tar.xz -C /usr/local/bin 2>/dev/null || true
node --version
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv
WORK=${GAC_WORK_DIR:-/tmp/gac-compress-study}
BUDGETS=${GAC_BUDGETS:-0.8 0.6}
METHODS=${GAC_METHODS:-svd-heads@llama3-8b svd-pairs@llama2-7b asvd@llama2-7b prune-mlp@llama2-7b}
E2E_FLAGS=${GAC_E2E_FLAGS:---engine gac --prefill 1x2048 --decode 1x4096 --no-logits}
status=0
rm -rf "$WORK/variants"
mkdir -p "$WORK/variants"
declare -A based
checkpoints=()
for spec in $METHODS; do
  method=${spec%@*}; size=${spec#*@}
  base="$WORK/base-$size"
  if [ -z "${based[$size]:-}" ]; then
    node bin/gac.js fixtures llama-aligned --size "$size" --sparse --out "$base" --force >/dev/null || { status=1; continue; }
    based[$size]=1
  fi
  for budget in $BUDGETS; do
    pct=$(node -e "console.log(Math.round(Number(process.argv[1]) * 100))" "$budget")
    for variant in a c d e; do
      case $variant in
        a) align="--align none --gpu h200" ;;
        c) align="--align 16 --round down --gpu h200" ;;
        d) align="--align 16 --round up --gpu h200" ;;
        e) align="--align profile --gpu h200" ;;
      esac
      name="$method-$size-b$pct-$variant"
      echo "== $name"
      # shellcheck disable=SC2086
      node bin/gac.js compress "$base" --out "$WORK/variants/$name" --method "$method" --budget "$budget" $align --sizes-only --force >"$WORK/variants/$name.txt" || { status=1; continue; }
      sed -n '1,7p' "$WORK/variants/$name.txt"
      checkpoints+=(--checkpoint "$WORK/variants/$name")
    done
  done
done
if [ -z "${GAC_SKIP_BENCH:-}" ]; then
  echo "== gac bench e2e over $(( ${#checkpoints[@]} / 2 )) checkpoints"
  # shellcheck disable=SC2086
  node bin/gac.js bench e2e "${checkpoints[@]}" --strategies none,OPTIMAL $E2E_FLAGS --out "$WORK/e2e" || status=1
fi
mkdir -p "$WORK/ship/variants"
for d in "$WORK"/variants/*/; do
  n=$(basename "$d"); mkdir -p "$WORK/ship/variants/$n"
  cp "$d/gac-compress.json" "$d/config.json" "$WORK/ship/variants/$n/"
done
cp -r "$WORK/e2e" "$WORK/ship/e2e" 2>/dev/null || true
# The device returns at most 8 files: one archive.
tar czf "$OUT/compress-study-real.tar.gz" -C "$WORK/ship" .
exit $status
