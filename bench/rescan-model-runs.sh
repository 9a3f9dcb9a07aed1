#!/usr/bin/env bash
# Re-writes the `scan-<model>.json` beside each committed `gac bench model` run with today's
# profiles/ and predictor (the measured results are untouched): the sparse real-size fixture is
# regenerated (headers only), scanned with `--gpu h200 --json`, and named like the run's model.
# Run from the repository root after `npm run build`:  bash bench/rescan-model-runs.sh
set -euo pipefail
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for dir in results/*-model-*; do
  name=${dir##*-model-}
  kind=${name%-llama*}; size=${name#"$kind"-}
  node bin/gac.js fixtures "$kind" --size "$size" --sparse --out "$tmp/$name" >/dev/null
  node bin/gac.js scan "$tmp/$name" --gpu h200 --json > "$tmp/$name.json"
  node -e 'const fs=require("fs");const [f,n,o]=process.argv.slice(1);const r=JSON.parse(fs.readFileSync(f,"utf8"));r.model.name=n;fs.writeFileSync(o,JSON.stringify(r,null,2)+"\n")' "$tmp/$name.json" "$name" "$dir/scan-$name.json"
  echo "rescanned $dir/scan-$name.json"
done
