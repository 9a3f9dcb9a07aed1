#!/usr/bin/env bash
# The compression study's real-size variants, on the CPU (seconds; docs/compress-study.md). For each
# method on the Llama it is published on (svd-heads: Llama-3-8B; svd-pairs, asvd, prune-mlp:
# Llama-2-7B) and each budget, `gac compress --sizes-only` writes header-only (sparse) checkpoints
# with the policy's sizes: a (unaligned), c (x16 down), d (x16 up), e (--align profile). At real size
# the weights are random anyway, so only the sizes matter for speed. Then bench/compress-study-jobs.ts
# turns them (and b, a's OPTIMAL repair) into worker job lines for bench/gpu-compress-study.sh.
#   bash bench/compress-study-real.sh          (from the repository root, after npm run build)
# Writes $GAC_WORK_DIR/variants/<name> (default /tmp/gac-compress-study) and tmp/jobs-compress.jsonl
# (+ .aliases.json); carry tmp/ to the GPU machine.
set -uo pipefail
WORK=${GAC_WORK_DIR:-/tmp/gac-compress-study}
BUDGETS=${GAC_BUDGETS:-0.8 0.6}
METHODS=${GAC_METHODS:-svd-heads@llama3-8b svd-pairs@llama2-7b asvd@llama2-7b prune-mlp@llama2-7b}
status=0
rm -rf "$WORK/variants"
mkdir -p "$WORK/variants"
declare -A based
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
      sed -n "1,7p" "$WORK/variants/$name.txt"
    done
  done
done
mkdir -p tmp
node --import tsx bench/compress-study-jobs.ts "$WORK/variants" tmp/jobs-compress.jsonl || status=1
exit $status
