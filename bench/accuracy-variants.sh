#!/usr/bin/env bash
# The accuracy table's checkpoints, from the bundled trained model: each compression method of
# `gac compress` (sizes unaligned, as the methods leave them), then each compressed model repaired
# MINIMAL and OPTIMAL, with the softmax scale folded and logical. Calibration text is the training
# split only (the first floor(0.9 N) bytes), never the held-out bytes the table evaluates.
#   bash bench/accuracy-variants.sh <original-dir> <out-dir>
# Writes <out-dir>/<method>, <out-dir>/<method>-<STRATEGY>-<scale> and <out-dir>/variants.tsv
# (name, dir, role, compressed-from). GAC (default "node bin/gac.js") runs gac; BUDGET (default
# 0.7) is the fraction of each compressed matrix's parameters kept; METHODS the methods. palu runs with
# one KV head per group (--head-group-size 1): the bundled model has 2 KV heads, so PaLU's default
# of 4 would leave one group per module and no per-group ranks to differ.
set -euo pipefail
ORIG=${1:?usage: accuracy-variants.sh <original-dir> <out-dir>}
OUTDIR=${2:?usage: accuracy-variants.sh <original-dir> <out-dir>}
GAC=${GAC:-node bin/gac.js}
BUDGET=${BUDGET:-0.7}
METHODS=${METHODS:-svd-heads svd-pairs asvd palu prune-mlp}
TEXT=${TEXT:-assets/data/tinyshakespeare.txt}
mkdir -p "$OUTDIR"
if ! $GAC compress --help >/dev/null 2>&1; then
  echo "gac compress is not available in this build: only the original and no compressed variants" >&2
  printf 'original\t%s\toriginal\t-\n' "$ORIG" > "$OUTDIR/variants.tsv"
  exit 3
fi
N=$(stat -c %s "$TEXT")
head -c $((N * 9 / 10)) "$TEXT" > "$OUTDIR/calibration.txt"   # floor(0.9 N): the training split
printf 'original\t%s\toriginal\t-\n' "$ORIG" > "$OUTDIR/variants.tsv"
for m in $METHODS; do
  extra=()
  if [ "$m" = palu ]; then extra=(--head-group-size 1); fi
  $GAC compress "$ORIG" --out "$OUTDIR/$m" --method "$m" --budget "$BUDGET" --calibration "$OUTDIR/calibration.txt" "${extra[@]}" --force
  printf '%s\t%s\tcompressed\t-\n' "$m" "$OUTDIR/$m" >> "$OUTDIR/variants.tsv"
  for s in MINIMAL OPTIMAL; do
    for scale in fold logical; do
      $GAC repair "$OUTDIR/$m" --out "$OUTDIR/$m-$s-$scale" --strategy "$s" --scale "$scale" --force > /dev/null
      printf '%s\t%s\trepaired\t%s\n' "$m-$s-$scale" "$OUTDIR/$m-$s-$scale" "$m" >> "$OUTDIR/variants.tsv"
    done
  done
done
