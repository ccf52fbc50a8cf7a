"""``compile_denoise``: the per-step call a sampler makes is what gets compiled, and a failure falls back to eager.

Dynamo with its ``eager`` backend traces the real code on the CPU in seconds (Inductor and CUDA graphs need the
GPU run of bench/bench_model.py).
"""

from __future__ import annotations

import torch
import torch._dynamo

from diffv2m.model.acceleration import compile_denoise, dummy_conditioning
from diffv2m.model.guidance import GuidedVelocity
from diffv2m.model.testing import random_stack, tiny_spec


def velocities(stack) -> list[torch.Tensor]:
    x = torch.randn(1, 8, stack.latent_length, generator=torch.Generator().manual_seed(0))
    velocity = GuidedVelocity(stack.transformer, dummy_conditioning(stack), 3.0)
    velocity.prepare_schedule([0.9, 0.1])
    with torch.no_grad():
        return [velocity(x, t) for t in (0.9, 0.1)]


def test_the_sampler_step_is_compiled_whole_and_gives_the_eager_numbers():
    stack = random_stack(tiny_spec(latent_length=32))
    eager = velocities(stack)
    torch._dynamo.reset()
    frames: list[int] = []

    def counting_backend(graph, _inputs):
        frames.append(len(graph.graph.nodes))
        return graph.forward

    assert compile_denoise(stack, "default", backend=counting_backend) is None
    compiled = velocities(stack)
    assert len(frames) == 2  # one graph per side of the hard switch, no graph breaks, no recompiles
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(compiled, eager, strict=True))
    torch._dynamo.reset()


def test_a_failing_compile_leaves_the_dit_eager():
    stack = random_stack(tiny_spec(latent_length=32))
    eager = velocities(stack)

    def broken_backend(_graph, _inputs):
        raise RuntimeError("no compiler here")

    torch._dynamo.reset()
    reason = compile_denoise(stack, "default", backend=broken_backend)
    assert reason is not None and "no compiler here" in reason
    assert "denoise" not in vars(stack.transformer)
    assert all(torch.equal(a, b) for a, b in zip(velocities(stack), eager, strict=True))
    torch._dynamo.reset()
