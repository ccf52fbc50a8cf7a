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
# The composer's SoundFont renderer. Its wheel declares pyaudio (live playback only, which needs
# PortAudio to build); offline rendering never imports it, so install it without dependencies.
# Without it the composer falls back to its numpy synthesis (engines/composer/soundfont.py).
.venv/bin/python -m pip install --disable-pip-version-check -q --no-deps "tinysoundfont==0.3.7" ||
  echo "setup: tinysoundfont did not install; the composer will use its numpy synthesis" >&2

# librosa compiles its numba kernels on first use (~30 s, cached in the venv): pay it here,
# once, with the exact calls a job makes, so the first score is not mysteriously slow.
.venv/bin/python -c "import numpy as np; from diffv2m.audio.beats import track_beats; track_beats(np.random.default_rng(0).normal(0, 0.1, (2, 132300)).astype('float32'), 44100)" >/dev/null
if [ "$WITH_TESTS" = 1 ]; then
  # Headless Blender for the add-on tests (tests/addon): the PyPI bpy module, each release
  # in its own venv because bpy pins one Python (4.5/5.0: 3.11, 5.1+: 3.13) and numpy<2.
  find_python() {  # find_python 3.11 -> an interpreter of that version, or nothing
    local v=$1 p
    for p in "python$v" "$(pyenv root 2>/dev/null)/versions/$v"*/bin/"python$v"; do
      # Run it: a pyenv shim exists even where that version is not selected.
      if "$p" -c "import sys; assert sys.version_info[:2] == tuple(map(int, '$v'.split('.')))" >/dev/null 2>&1; then
        command -v "$p"; return 0
      fi
    done
    return 1
  }
  bpy_venv() {  # bpy_venv DIR PYTHON REQUIREMENT...: make DIR unless it already imports bpy
    local dir=$1 python=$2; shift 2
    "$dir/bin/python" -c "import bpy" >/dev/null 2>&1 && return 0
    rm -rf "$dir" && "$python" -m venv "$dir" &&
      "$dir/bin/python" -m pip install --disable-pip-version-check -q "$@" &&
      "$dir/bin/python" -c "import bpy" >/dev/null
  }
  PY311=$(find_python 3.11) || { echo "setup: the bpy tests need Python 3.11 (python3.11 or pyenv)" >&2; exit 1; }
  pids=()
  bpy_venv .venv-bpy45 "$PY311" "bpy>=4.5,<4.6" "numpy<2" & pids+=($!)
  bpy_venv .venv-bpy50 "$PY311" "bpy==5.0.1" "numpy<2" & pids+=($!)
  if PY313=$(find_python 3.13); then
    bpy_venv .venv-bpy53 "$PY313" "bpy==5.3.0" & pids+=($!)
  else
    echo "setup: no Python 3.13 found; the bpy 5.3 tests will be skipped" >&2
  fi
  for pid in "${pids[@]}"; do wait "$pid" || { echo "setup: a bpy venv failed to install" >&2; exit 1; }; done
fi
echo "set-up done: .venv/bin/diffv2m"
