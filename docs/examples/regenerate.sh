#!/usr/bin/env bash
# Regenerates docs/examples/ from real-scale sparse fixtures (headers only: 11-16 GB checkpoints on
# under 1 MB of disk each). Run from the repository root: bash docs/examples/regenerate.sh
set -euo pipefail
npx tsc -p tsconfig.build.json
WORK=${GAC_EXAMPLES_DIR:-/tmp/gac-examples}
mkdir -p "$WORK"
for example in palu:llama3-8b llama-direct-svd:llama3-8b llama-aligned:llama3-8b svdllm:llama2-7b asvd:llama2-7b pruned-flap:llama2-7b llama-aligned:llama2-7b; do
  kind=${example%%:*}
  scale=${example#*:}
  dir=$WORK/$kind-$scale
  out=docs/examples/$kind-$scale
  node bin/gac.js fixtures "$kind" --out "$dir" --size "$scale" --sparse --force
  node bin/gac.js scan "$dir" --gpu h200 --json > "$dir.scan.json"
  node docs/examples/trim-scan-json.mjs "$dir.scan.json" "$PWD" > "$out.scan.json"
  node bin/gac.js scan "$dir" --gpu h200 | sed "s#$PWD/##g" > "$out.scan.txt"
  node bin/gac.js plan "$dir" --strategy MINIMAL > "$out.plan.txt"
done
node docs/examples/summarize.mjs docs/examples/*.scan.json
rm -rf "$WORK"
