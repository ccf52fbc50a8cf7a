#!/usr/bin/env bash
# Issue 13's one GPU run: the CUDA-only tests, then `bench_model.py --quick`, in under 10 minutes on an H100/H200.
# On a lent device machine (its python3 holds CUDA torch, Triton and transformers, but not diffusers, and it
# cannot download), first put the wheels it lacks in .gpu-wheels/ here (ignored by git):
#     .venv/bin/pip download diffusers==0.42.1 importlib_metadata --no-deps -d .gpu-wheels
# then call the device tool's run with carry [".gpu-wheels"], timeout_s=600:
#     bash bench/gpu_check.sh
# (the device tool sends the session's own checkout: run it from one that holds this script.)
# Logs and the bench's JSON go to $OUT (or /tmp/gpu_check); the table goes into docs/model.md "Speed".
# The compile cache lives outside $OUT (many small files): a rerun on the same machine shows the cache hit.
set -uo pipefail
OUT=${OUT:-/tmp/gpu_check}
PY=${PYTHON:-python3}
CACHE=${GPU_CHECK_CACHE:-/tmp/diffv2m-gpu-check-cache}
mkdir -p "$OUT" "$CACHE"
export PYTHONPATH="$PWD/server" PYTHONUNBUFFERED=1
start=$(date +%s)
if compgen -G ".gpu-wheels/*.whl" >/dev/null; then
    "$PY" -m pip install -q --no-index --no-deps --target /tmp/gpu-check-site .gpu-wheels/*.whl
    export PYTHONPATH="$PYTHONPATH:/tmp/gpu-check-site"  # after server/, beside the image's own packages
fi
"$PY" -c "import diffusers, diffv2m.model.compiled" || { echo "gpu_check: imports failed (see above; .gpu-wheels?)"; exit 2; }
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1 | tee "$OUT/gpu.txt"
"$PY" -c "import torch, triton; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'triton', triton.__version__)" \
    2>&1 | tee -a "$OUT/gpu.txt"
# First, the full-size bf16 table (the compile takes minutes on a first run, seconds from the cache).
timeout 400 "$PY" bench/bench_model.py --quick --cache-dir "$CACHE" --json "$OUT/quick.json" 2>&1 | tee "$OUT/quick.log"
bench=${PIPESTATUS[0]}
# Then CUDA graphs against eager, and the compile cache across two fresh processes (tiny model: about a minute).
# --noconftest: these tests need no fixture, and the suite's conftests import audio/video packages the image lacks.
timeout 150 "$PY" -m pytest tests/model/test_model_compile_cache.py -q -x -p no:cacheprovider --noconftest -k cuda 2>&1 | tee "$OUT/cuda_tests.log"
tests=${PIPESTATUS[0]}
echo "gpu_check: tests rc=$tests, bench rc=$bench (124 = its time limit), $(( $(date +%s) - start )) s in all" \
    | tee -a "$OUT/gpu.txt"
[ "$tests" = 0 ] && [ "$bench" = 0 ]
