"""Samplers on a model whose exact answer is known, and the no-host-sync property of the loop."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from diffv2m.model.choices import STEP_PRESETS, resolve_sampling
from diffv2m.model.samplers import Inpainting, dpm_grid, released_schedule, run_sampler, sample_ddim, sample_dpmpp_2m

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


@pytest.mark.parametrize("steps", range(2, 301))
def test_the_dpm_grid_has_a_point_exactly_at_the_switch_for_any_step_count(steps):
    grid = dpm_grid(steps, 0.2)
    assert len(grid) == steps + 1 and grid[0] == 1.0 and grid[-1] == 0.0 and 0.2 in grid
    assert all(a > b for a, b in itertools.pairwise(grid))
    at = grid.index(0.2)
    upper, lower = (
        [a - b for a, b in itertools.pairwise(grid[: at + 1])],
        [a - b for a, b in itertools.pairwise(grid[at:])],
    )
    assert max(upper) - min(upper) < 1e-12 and max(lower) - min(lower) < 1e-12  # uniform on each side
    assert abs(at - 0.8 * steps) <= 0.5 or at in (1, steps - 1)  # steps shared in proportion to the lengths
    if steps % 5 == 0:  # 25, 50, ...: the uniform grid already has the point
        assert max(abs(a - b) for a, b in zip(grid, dpm_grid(steps), strict=True)) < 1e-15


def test_dpm_solver_steps_onto_the_switch_instead_of_across_it(noise):
    """On a vector field that jumps at t = 0.2, no step straddles the jump, and that beats the uniform grid."""

    def switching(x: torch.Tensor, t: float) -> torch.Tensor:
        calls.append(t)
        return gaussian_velocity(x, t) * (1.0 if t > 0.2 else 0.5)

    calls: list[float] = []
    reference = run_sampler("dpmpp-2m", switching, noise, 2000, switch_t=0.2)
    for steps in (23, 37, 49):  # step counts whose uniform grid misses 0.2
        calls.clear()
        on_switch = error(run_sampler("dpmpp-2m", switching, noise, steps, switch_t=0.2), reference / SCALE)
        assert 0.2 in calls and len(calls) == steps
        uniform = error(sample_dpmpp_2m(switching, noise, steps, 0.2, grid=dpm_grid(steps)), reference / SCALE)
        assert on_switch < uniform / 2


def test_presets_name_sampler_and_steps_and_explicit_steps_still_win():
    assert {name: (p.sampler, p.steps) for name, p in STEP_PRESETS.items()} == {
        "fast": ("dpmpp-2m", 25),
        "default": ("dpmpp-2m", 50),
        "released": ("ddim", 250),
    }
    assert resolve_sampling("fast", None, "ddim") == ("dpmpp-2m", 25, "fast")
    assert resolve_sampling("released", None, "dpmpp-2m") == ("ddim", 250, "released")
    assert resolve_sampling("released", 100, "dpmpp-2m") == ("ddim", 100, None)  # not the released run any more
    assert resolve_sampling(None, None, "dpmpp-2m") == ("dpmpp-2m", 50, "default")
    assert resolve_sampling(None, 25, "dpmpp-2m") == ("dpmpp-2m", 25, "fast")  # the run is the fast preset
    assert resolve_sampling(None, 7, "ddim") == ("ddim", 7, None)
    with pytest.raises(ValueError, match="unknown preset 'turbo'"):
        resolve_sampling("turbo", None, "ddim")


@pytest.mark.parametrize("guidance", [3.0, 10.0])
def test_the_fast_preset_stays_on_the_released_trajectory_of_a_tiny_model(guidance):
    """No NaN, and no norm beyond the released run's, on a tiny model whose weights are noised enough that
    the field is far from trivial (at guidance 3 its clean latent has ~20x the noise's norm)."""
    from diffv2m.model.longform import plan_windows
    from diffv2m.model.testing import random_range_features, random_stack, tiny_spec

    stack = random_stack(tiny_spec(latent_length=128, vae_strides=(2, 2), vae_mults=(1, 2)), noise=0.2)
    window = plan_windows(0.002, stack)[0]
    conditioning = stack.condition(random_range_features(1).window_inputs(window, stack, 2)).conditioning
    x = torch.randn(1, stack.transformer.config.io_channels, 128, generator=torch.Generator().manual_seed(4))
    norms: dict[str, list[float]] = {}
    finals = {}
    for name in ("fast", "released"):
        preset, record = STEP_PRESETS[name], norms.setdefault(name, [])

        def on_step(_i: int, z: torch.Tensor, pred: torch.Tensor, record: list[float] = record) -> None:
            record.extend((float(z.norm()), float(pred.norm())))

        finals[name] = stack.sample(conditioning, x, preset.sampler, preset.steps, guidance, on_step)
        assert torch.isfinite(finals[name]).all()
    fast, released = finals["fast"], finals["released"]
    assert float(released.norm()) > 5 * float(x.norm())  # the model does move the latent a long way
    assert max(norms["fast"]) <= 1.02 * max(norms["released"])  # never overshoots what the released run reaches
    assert float((fast - released).norm()) < 0.05 * float(released.norm())


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
