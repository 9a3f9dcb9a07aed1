#!/usr/bin/env bash
# Trains several settings of the bundled byte-level Llama at once on one GPU (each run is
# launch-bound and leaves the GPU mostly idle, so four share it with little slowdown), then keeps
# the one with the lowest held-out loss among those within the size cap. Run on the GPU machine
# from the repository root:  bash python/train/sweep.sh "$OUT/train" 90
set -u
out=${1:?out dir}; budget=${2:-90}
mkdir -p "$out"
run() { name=$1; shift; python3 python/train/train_byte_llama.py --out "$out/$name" --time-budget "$budget" --target 0 "$@" > "$out/$name.log" 2>&1; }
run a --candidates l6-h256-i512 --dropout 0.3 --attention-dropout 0.1 &
run b --candidates l6-h256-i512 --dropout 0.4 --attention-dropout 0.1 --lr 6e-4 --beta2 0.99 &

run d --candidates l6-h256-i512 --dropout 0.3 --attention-dropout 0.1 --batch 128 --lr 6e-4 --beta2 0.99 &
wait
python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
rows = []
for name in sorted(os.listdir(out)):
    path = os.path.join(out, name, "train-summary.json")
    if os.path.exists(path):
        s = json.load(open(path))
        size = os.path.getsize(os.path.join(out, name, "model.safetensors"))
        rows.append((s["stored_heldout64"], size, name, s))
        print(f"{name}: held-out {s['stored_heldout64']:.4f} (stored bf16, fp64 math), validation {s['validation']:.4f}, best step {s['best_step']}/{s['steps']}, {size/1e6:.2f} MB, {s['args']['candidates']} dropout {s['args']['dropout']}")
ok = [r for r in rows if r[1] <= 8.5e6] or rows
best = min(ok, key=lambda r: r[0])
print(f"KEEP {best[2]}: held-out {best[0]:.4f}")
open(os.path.join(out, "KEEP"), "w").write(best[2])
PY
