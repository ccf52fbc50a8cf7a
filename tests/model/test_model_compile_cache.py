"""Compiled by default on CUDA only, and Inductor's persistent cache: a second start compiles nothing.

The cache test runs Inductor for real on the CPU (a tiny DiT; about a minute on a loaded 2-core machine), each
"start" in a fresh Python process, as a server restart is. CUDA graphs themselves need the GPU check
(bench/gpu_check.sh).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from diffv2m.model.compiled import CUDA_DEFAULT_MODE, resolve_compile_mode

START = """
import json, sys
import torch
from diffv2m.model.compiled import compile_and_warm
from diffv2m.model.testing import random_stack, tiny_spec
torch.set_num_threads(1)
stack = random_stack(tiny_spec(latent_length=32))
print(json.dumps(compile_and_warm(stack, "default", "inductor", sys.argv[1]).as_dict()))
"""


def test_auto_compiles_with_cuda_graphs_on_cuda_and_not_on_cpu():
    assert CUDA_DEFAULT_MODE == "reduce-overhead"  # the CUDA-graph mode
    assert resolve_compile_mode("auto", "cuda") == resolve_compile_mode(None, "cuda:1") == "reduce-overhead"
    assert resolve_compile_mode("auto", "cpu") is None and resolve_compile_mode(None, "mps") is None
    for off in ("off", "OFF", "none", "0", "eager"):
        assert resolve_compile_mode(off, "cuda") is None
    assert resolve_compile_mode("default", "cpu") == "default"  # an explicit mode is obeyed on any device
    with pytest.raises(ValueError, match="choose auto, off or one of"):
        resolve_compile_mode("fastest", "cuda")


def start(cache: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop("TORCHINDUCTOR_CACHE_DIR", None)  # the cache must come from the argument, not from here
    done = subprocess.run([sys.executable, "-c", START, str(cache)], capture_output=True, text=True, env=env,
                          timeout=600, check=True)  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_the_second_start_loads_every_graph_from_the_cache(tmp_path):
    cache = tmp_path / "compile"
    first = start(cache)
    assert first["state"] == "compiled" and first["cache_dir"] == str(cache.resolve())
    assert first["cache_misses"] >= 1  # an empty cache: Inductor generated code
    assert any(cache.iterdir())  # ...and kept it in the configured folder
    second = start(cache)
    assert second["state"] == "compiled"
    assert second["cache"] == "hit" and second["cache_hits"] >= 1 and second["cache_misses"] == 0
