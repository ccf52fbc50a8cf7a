"""Compiled by default on CUDA only, and Inductor's persistent cache: a second start compiles nothing.

The cache test runs Inductor for real on the CPU (a tiny DiT; about a minute on a loaded 2-core machine), each
"start" in a fresh Python process, as a server restart is. The tests marked for CUDA (CUDA graphs, the cache
with Triton kernels) are skipped without a GPU; bench/gpu_check.sh runs them on one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from diffv2m.model.compiled import CUDA_DEFAULT_MODE, resolve_compile_mode

START = """
import json, sys
import torch
from diffv2m.model.acceleration import prepare_for_inference
from diffv2m.model.compiled import compile_and_warm
from diffv2m.model.testing import random_stack, tiny_spec
torch.set_num_threads(1)
cache, device, mode = sys.argv[1:4]
stack = prepare_for_inference(random_stack(tiny_spec(latent_length=32)), device)
print(json.dumps(compile_and_warm(stack, mode, "inductor", cache).as_dict()))
"""
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (bench/gpu_check.sh)")


def test_auto_compiles_with_cuda_graphs_on_cuda_and_not_on_cpu():
    assert CUDA_DEFAULT_MODE == "reduce-overhead"  # the CUDA-graph mode
    assert resolve_compile_mode("auto", "cuda") == resolve_compile_mode(None, "cuda:1") == "reduce-overhead"
    assert resolve_compile_mode("auto", "cpu") is None and resolve_compile_mode(None, "mps") is None
    for off in ("off", "OFF", "none", "0", "eager"):
        assert resolve_compile_mode(off, "cuda") is None
    assert resolve_compile_mode("default", "cpu") == "default"  # an explicit mode is obeyed on any device
    with pytest.raises(ValueError, match="choose auto, off or one of"):
        resolve_compile_mode("fastest", "cuda")


def start(cache: Path, device: str = "cpu", mode: str = "default") -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop("TORCHINDUCTOR_CACHE_DIR", None)  # the cache must come from the argument, not from here
    command = [sys.executable, "-c", START, str(cache), device, mode]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, check=True)
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


@cuda
def test_on_cuda_the_second_start_hits_the_cache_with_cuda_graphs(tmp_path):
    cache = tmp_path / "compile"
    first = start(cache, "cuda", "reduce-overhead")
    assert first["state"] == "compiled", first["reason"]
    second = start(cache, "cuda", "reduce-overhead")
    assert second["state"] == "compiled" and second["cache"] == "hit", second  # the times: bench --quick


@cuda
def test_on_cuda_graphs_sample_what_eager_samples():
    """A whole DPM-Solver++ 2M run through the CUDA-graph DiT (which reuses its output buffers between replays)
    against the same bf16 weights run eagerly."""
    from diffv2m.model.acceleration import dummy_conditioning, prepare_for_inference
    from diffv2m.model.compiled import compile_and_warm
    from diffv2m.model.guidance import GuidedVelocity
    from diffv2m.model.samplers import run_sampler
    from diffv2m.model.testing import random_stack, tiny_spec

    stack = prepare_for_inference(random_stack(tiny_spec(latent_length=32)), "cuda")
    noise = torch.randn(1, 8, stack.latent_length, generator=torch.Generator().manual_seed(0)).cuda()

    def sample() -> torch.Tensor:
        with torch.no_grad():
            return run_sampler("dpmpp-2m", GuidedVelocity(stack.transformer, dummy_conditioning(stack), 3.0), noise, 10)

    eager = sample()
    assert compile_and_warm(stack, "reduce-overhead", "inductor", None).state == "compiled"
    graphs = sample()
    assert torch.isfinite(graphs).all()
    error = (graphs - eager).pow(2).mean().sqrt() / eager.pow(2).mean().sqrt()
    assert error < 0.05, float(error)  # bf16 kernels round differently; a wrong buffer would be O(1)
