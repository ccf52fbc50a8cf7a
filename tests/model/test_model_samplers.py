"""Samplers on a model whose exact answer is known, and the no-host-sync property of the loop."""

from __future__ import annotations

import math

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from diffv2m.model.samplers import Inpainting, released_schedule, run_sampler, sample_ddim

SCALE = 0.5  # data ~ N(0, SCALE²): the probability-flow ODE maps noise z to exactly SCALE · z


def gaussian_velocity(x: torch.Tensor, t: float) -> torch.Tensor:
    """The exact v-prediction for Gaussian data under α = cos(πt/2), σ = sin(πt/2)."""
    alpha, sigma = math.cos(math.pi * t / 2), math.sin(math.pi * t / 2)
    x0 = x * alpha * SCALE**2 / (alpha**2 * SCALE**2 + sigma**2)
    eps = (x - alpha * x0) / sigma
    return alpha * eps - sigma * x0


@pytest.fixture()
def noise():
    return torch.randn(1, 4, 256, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


def error(sample: torch.Tensor, noise: torch.Tensor) -> float:
    return float((sample - SCALE * noise).abs().max())


def test_dpm_solver_converges_faster_than_released_ddim(noise):
    ddim = {n: error(run_sampler("ddim", gaussian_velocity, noise, n), noise) for n in (25, 100)}
    dpm = {n: error(run_sampler("dpmpp-2m", gaussian_velocity, noise, n), noise) for n in (25, 50)}
    assert dpm[25] < ddim[25] / 5
    assert dpm[25] < ddim[100]  # 25 solver steps beat 4x as many released DDIM steps
    assert dpm[50] < dpm[25] < 0.01


def test_ddim_follows_the_released_update_and_returns_the_last_prediction(noise):
    schedule = released_schedule(8)
    assert torch.allclose(schedule, torch.linspace(1, 0, 9)[:-1])
    seen = []
    final = sample_ddim(gaussian_velocity, noise.float(), schedule, on_step=lambda i, x, pred: seen.append((x, pred)))
    assert len(seen) == 8 and torch.equal(final, seen[-1][1])
    assert torch.equal(seen[-1][0], seen[-2][0])  # the last step does not update x
    x, pred = noise.float(), None
    for i, t in enumerate(schedule.tolist()):  # the update written out independently
        a, s = torch.cos(schedule[i] * math.pi / 2), torch.sin(schedule[i] * math.pi / 2)
        v = gaussian_velocity(x, t)
        pred, eps = x * a - v * s, x * s + v * a
        if i < 7:
            a2, s2 = torch.cos(schedule[i + 1] * math.pi / 2), torch.sin(schedule[i + 1] * math.pi / 2)
            x = pred * a2 + eps * s2
    assert torch.allclose(final, pred, atol=1e-6)


def test_dpm_solver_restarts_its_history_at_the_fusion_switch(noise):
    """A vector field that jumps at t = 0.2 (the released hard switch): extrapolating across it is wrong."""

    def switching(x: torch.Tensor, t: float) -> torch.Tensor:
        return gaussian_velocity(x, t) * (1.0 if t > 0.2 else 0.5)

    reference = run_sampler("dpmpp-2m", switching, noise, 2000, switch_t=0.2)
    aware = error(run_sampler("dpmpp-2m", switching, noise, 25, switch_t=0.2), reference / SCALE)
    naive = error(run_sampler("dpmpp-2m", switching, noise, 25, switch_t=None), reference / SCALE)
    assert aware < naive


def test_inpainting_pins_known_frames(noise):
    known = torch.randn_like(noise)
    mask = (torch.arange(256) < 64)[None, None]
    out = run_sampler("dpmpp-2m", gaussian_velocity, noise, 30, inpaint=Inpainting(known, mask, noise))
    free = run_sampler("dpmpp-2m", gaussian_velocity, noise, 30)
    # this model couples no frames, so the free frames are untouched and the pinned ones end at the known latent
    assert torch.allclose(out[..., 64:], free[..., 64:])
    assert float((out[..., :64] - known[..., :64]).abs().mean()) < 0.05
    assert float((free[..., :64] - known[..., :64]).abs().mean()) > 0.5


class _ScalarReads(TorchDispatchMode):
    """Counts device → host scalar reads (``.item()``, ``bool(tensor)``, ``.tolist()``) — the host syncs."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func is torch.ops.aten._local_scalar_dense.default:
            self.count += 1
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("sampler", ["ddim", "dpmpp-2m"])
def test_the_sampling_loop_never_reads_a_device_value(sampler):
    from diffv2m.model.acceleration import dummy_conditioning
    from diffv2m.model.guidance import GuidedVelocity
    from diffv2m.model.testing import random_stack, tiny_spec

    stack = random_stack(tiny_spec(latent_length=16, vae_strides=(2, 2), vae_mults=(1, 2)))
    velocity = GuidedVelocity(stack.transformer, dummy_conditioning(stack), 3.0)
    x = torch.randn(1, stack.transformer.config.io_channels, 16)
    velocity(x, 0.5)  # warm-up outside the counter (first-call initialisation)
    with _ScalarReads() as reads:
        run_sampler(sampler, velocity, x, 12, switch_t=stack.transformer.hard_switch_t)
    assert reads.count == 0
