# Sourced by the worker-only GPU scripts (bench/gpu-e2e-sweep.sh, gpu-e2e-alloc.sh,
# gpu-compress-study.sh, gpu-e2e-worker.sh): $OUT made, everything after this logged to
# $OUT/run.log as well, the worker importable, and the run's date, GPU state and versions first.
OUT=${OUT:-/tmp/gac-out}
mkdir -p "$OUT"
exec > >(tee "$OUT/run.log") 2>&1
export PYTHONPATH=python
date -u +%Y-%m-%dT%H:%M:%SZ
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu,power.draw,memory.used --format=csv
python3 -c "import torch, transformers; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'cudnn', torch.backends.cudnn.version(), 'transformers', transformers.__version__)"
