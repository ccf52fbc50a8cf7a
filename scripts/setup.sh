#!/usr/bin/env bash
# Set-up for a fresh clone: installs the server into .venv at the repository root.
#   scripts/setup.sh          server + CLI (what the main job needs)
#   scripts/setup.sh --test   also the test tools and the headless Blender (bpy) venvs
set -euo pipefail
cd "$(dirname "$0")/.."

WITH_TESTS=0
for arg in "$@"; do
  case "$arg" in
    --test) WITH_TESTS=1 ;;
    *) echo "usage: scripts/setup.sh [--test]" >&2; exit 2 ;;
  esac
done

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv

# torch must be named with == : a bare "torch" makes pip pull a multi-GB CUDA build
# on machines that only need the CPU wheel (GPU users: install your CUDA torch first).
.venv/bin/python -m pip install --disable-pip-version-check -q "torch==2.13.0"
if [ "$WITH_TESTS" = 1 ]; then
  .venv/bin/python -m pip install --disable-pip-version-check -q -e ".[test]"
else
  .venv/bin/python -m pip install --disable-pip-version-check -q -e .
fi

if [ "$WITH_TESTS" = 1 ]; then
  # librosa compiles its numba kernels on first use (~30 s); pay it here, once.
  .venv/bin/python -c "import numpy as np, librosa; y=np.random.default_rng(0).normal(size=22050).astype('float32'); librosa.beat.beat_track(y=y, sr=22050)" >/dev/null
fi
echo "set-up done: .venv/bin/diffv2m"
